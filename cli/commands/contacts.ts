/** `dfc contacts add | list | remove`: safety.emergency_contacts with escalation levels. */
import type { Command } from 'commander';
import { addContact, listContacts, redactTarget, removeContact, resolveTarget } from '../../src/index.js';
import { whole } from '../options.js';
import { emit } from '../output.js';
import { action } from '../run.js';

const target = async (opts: { databaseUrl?: string }) =>
  (await resolveTarget({ databaseUrl: opts.databaseUrl })).url;

export function registerContacts(program: Command): void {
  const cmd = program.command('contacts').description('who is notified of incidents, by escalation level');
  cmd
    .command('add')
    .description('add a contact; webhook (URL) and command (shell) contacts are notified automatically')
    .requiredOption('--name <name>', 'who')
    .requiredOption('--method <m>', 'webhook, command, email, phone, sms, slack, pagerduty or other')
    .requiredOption('--details <d>', 'URL, shell command, address or number')
    .option('--role <role>', 'e.g. dba, platform', 'dba')
    .option('--level <n>', 'escalation level 1 (first) to 5', whole('--level', { min: 1, max: 5 }), 1)
    .option('--notes <text>', 'free text')
    .action(
      action(async (opts) => {
        const k = await addContact(await target(opts), {
          name: opts.name,
          role: opts.role,
          method: opts.method,
          details: opts.details,
          level: opts.level,
          notes: opts.notes,
        });
        const shown = { ...k, contact_details: redactTarget(k.contact_method, k.contact_details) };
        emit(
          opts,
          { event: 'contact.added', ...shown },
          `contact ${k.id}: ${k.contact_name} (${k.contact_method}, level ${k.escalation_level})`,
        );
      }),
    );
  cmd
    .command('list')
    .description('contacts by escalation level (webhook URLs shown without query strings)')
    .action(
      action(async (opts) => {
        const list = await listContacts(await target(opts));
        if (opts.json)
          for (const k of list)
            emit(
              opts,
              { event: 'contact', ...k, contact_details: redactTarget(k.contact_method, k.contact_details) },
              '',
            );
        else
          process.stdout.write(
            `${
              list
                .map(
                  (k) =>
                    `${String(k.id).padStart(4)}  level ${k.escalation_level}  ${k.contact_name} (${k.contact_role}) ${k.contact_method}: ${redactTarget(k.contact_method, k.contact_details)}${k.is_active ? '' : ' [inactive]'}`,
                )
                .join('\n') || 'no contacts'
            }\n`,
          );
      }),
    );
  cmd
    .command('remove <id>')
    .description('remove a contact')
    .action(
      action(async (opts, id: string) => {
        const n = Number(id);
        const ok = Number.isInteger(n) && (await removeContact(await target(opts), n));
        emit(
          opts,
          { event: 'contact.removed', id: n, removed: ok },
          ok ? `removed contact ${id}` : `no contact ${id}`,
        );
        return ok ? 0 : 1;
      }),
    );
}
