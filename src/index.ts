/**
 * domainflow-consolidation as a library: every CLI command is a call here.
 *
 * @example
 *   import { consolidate, cutover, verify } from 'domainflow-consolidation';
 *   await consolidate(url, { onEvent: console.log });   // phases 2-3, ends ready_for_cutover
 *   await cutover(url, { lockTimeoutMs: 1000 });        // phase 4, atomic
 *   const report = await verify(url);                   // integrity + catalog diff
 */

// the CLI's other entries (it imports nothing else from src/, embedded/ or workload/)
export { clusterPaths, clusterStatus, clusterUrl, startCluster, stopCluster } from '../embedded/cluster.js';
export { verifyLedger } from '../workload/ledger.js';
export { DEFAULT_AS_OF, type SeedProgress, type SeedReport, seedDatabase } from '../workload/seed.js';
export { runTraffic, type TrafficProgress, type TrafficReport } from '../workload/traffic.js';
export { type Advice, advise } from './benchmark/advise.js';
export {
  type Comparison,
  compareBenchmarks,
  listBenchmarks,
  type SuiteListing,
} from './benchmark/compare.js';
export {
  type BenchmarkOptions,
  type BenchmarkSuite,
  runBenchmark,
  type TestResult,
} from './benchmark/run.js';
export { ensureBookkeeping, recordOperation } from './bookkeeping.js';
export { type Faults, parseFaults } from './core/faults.js';
export { type Journal, type PlanResult, runPlan, undoPlan } from './core/runner.js';
export { describePlan, type Phase, type Plan, type RunContext, type Step, type TxMode } from './core/step.js';
export { connect, parseDatabaseUrl, redactUrl, resolveTarget, withClient } from './db/connection.js';
export { type Capabilities, Session, type SessionPolicy, sessionPolicy } from './db/session.js';
export { runDemo } from './demo.js';
export { abortConsolidation } from './engine/abort.js';
export {
  type ConsolidateOptions,
  type ConsolidateResult,
  consolidate,
  DEFAULT_LANES,
  type InvalidPolicy,
} from './engine/consolidate.js';
export {
  type CutoverOptions,
  type CutoverPlanReport,
  type CutoverResult,
  cutover,
  planCutoverDry,
} from './engine/cutover.js';
export type { EngineEvent } from './engine/events.js';
export {
  type CleanupResult,
  cleanupRollbackPoints,
  type FinalizeOptions,
  type FinalizeResult,
  finalizeCutover,
  listRollbackPoints,
  type RollbackWindow,
  rollbackWindow,
} from './engine/finalize.js';
export { type FollowOptions, type FollowResult, follow } from './engine/follow.js';
export { type ConsolidationPlan, planConsolidation } from './engine/plan.js';
export {
  executeRollback,
  type RollbackOptions,
  type RollbackResult,
  type RollbackTestReport,
  testRollback,
} from './engine/rollback.js';
export { type RollbackPoint, readRollbackPoints } from './engine/rollback-points.js';
export { type ConsolidationStatus, consolidationStatus, setPaused } from './engine/status.js';
export { type VerifyReport, verify } from './engine/verify.js';
export { DfcError, ERROR_CODES, type ErrorCode, toDfcError } from './errors.js';
export { installV2 } from './install.js';
export { type LintFinding, type LintReport, lintMigrations, lintSql } from './lint/lint.js';
export { ALL_RULES as LINT_RULES, type LintRule } from './lint/rules.js';
export { type NewMigrationResult, newMigration } from './migrate/new.js';
export {
  CONSOLIDATED_BASELINE,
  DEFAULT_LOCK_TIMEOUT_MS,
  forceVersion,
  LEGACY_DIR,
  type MigrateEvent,
  migrateDown,
  migrateUp,
  migrationStatus,
  type RunResult,
  TEMPLATES_DIR,
} from './migrate/runner.js';
export { type TraceReport, traceMigration } from './migrate/trace.js';
export { type MigrationVerifyReport, verifyMigrations } from './migrate/verify.js';
export { type MonitorDuringOptions, monitorDuring } from './monitor/during.js';
export {
  monitorCheck,
  monitorDashboard,
  monitorReport,
  parseThresholds,
  type Sample,
  type Sampler,
  startSampler,
} from './monitor/monitor.js';
export { buildReport, writeHtmlReport } from './report/html.js';
export {
  type BackupListEntry,
  type BackupResult,
  type BackupVerifyReport,
  type CreateBackupOptions,
  cleanupBackups,
  createBackup,
  incrementalBackup,
  listBackups,
  parseAge,
  verifyBackup,
} from './safety/backup.js';
export {
  addContact,
  type Contact,
  type EmergencyParams,
  type EmergencyRollbackResult,
  emergencyDashboard,
  emergencyHealth,
  type HealthReport,
  initiateEmergencyRollback,
  listContacts,
  type RespondOptions,
  type RespondResult,
  redactTarget,
  removeContact,
  respond,
} from './safety/emergency.js';
export {
  type IntegrityCheckStatus,
  type IntegrityRunResult,
  integrityStatus,
  type ReferentialIntegrityReport,
  runIntegrityChecks,
  setupIntegrityChecks,
  validateReferentialIntegrity,
} from './safety/integrity.js';
export {
  type NotificationChannel,
  type NotifyOptions,
  type NotifyResult,
  notifyIncident,
  registerChannel,
} from './safety/notify.js';
export { type RestoreOptions, type RestoreResult, restoreBackup } from './safety/restore.js';
export { V2 } from './schema/v2/index.js';
export { renderInstallSql } from './schema/v2/render.js';
export { type SetupReport, setupBookkeeping } from './setup.js';
export { notReadyError, type ValidationReport, validateDatabase } from './validate/validate.js';
