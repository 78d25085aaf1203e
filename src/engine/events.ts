/** What the engine reports while it works; the CLI renders these (TTY progress or JSON lines). */
export type EngineEvent =
  | { type: 'phase'; phase: string; message: string }
  | {
      type: 'step';
      step: string;
      status: 'start' | 'done' | 'skipped';
      seconds?: number;
      details?: Record<string, unknown>;
    }
  | {
      type: 'progress';
      table: string;
      done: number;
      total: number;
      rowsPerSecond: number;
      etaSeconds: number | null;
    }
  | { type: 'throttle'; reason: string }
  | { type: 'capture'; applied: number; backlog?: number }
  | { type: 'retry'; what: string; attempt: number; waitMs: number }
  | { type: 'warning'; message: string }
  /** a monitoring sample taken while the command ran (src/monitor/during.ts) */
  | {
      type: 'sample';
      phase: string;
      activeConnections: number | null;
      waitingLocks: number | null;
      longestLockWaitSeconds: number | null;
      captureBacklog: number | null;
      progressPct: number | null;
      alerts: string[];
    }
  | {
      /** a session blocking the cutover's locks (--cancel-blockers-after): cancelled, or skipped and why */
      type: 'blocker';
      pid: number;
      user: string | null;
      application: string;
      state: string | null;
      query: string;
      action: 'cancelled' | 'terminated' | 'skipped';
      reason?: string;
      ok: boolean;
    };

export type EventSink = (e: EngineEvent) => void;
