/**
 * `berth audit [--limit N]`: the newest entries of the audit log (who changed which policy,
 * quota or rule, ran GC or applied a lifecycle policy).
 */
import type { Command } from 'commander';
import type { AuditLog } from '../client/management-client.js';
import { clientFor, flagParser, managementCommand, runAction, type FormatOptions, type ServerOptions } from './management-command.js';
import { parseCount, printJson, renderTable } from './output.js';

const positive = (text: string): number => {
  const n = parseCount(text);
  if (n < 1) throw new Error(`"${text}" must be at least 1`);
  return n;
};

export function registerAudit(program: Command): void {
  managementCommand(program, 'audit', 'Show the audit log, newest first', { format: true })
    .option('--limit <n>', 'at most this many entries (the server has a default)', flagParser(positive))
    .action(
      runAction(async (opts: ServerOptions & FormatOptions & { limit?: number }) => {
        const log = await clientFor(opts).audit({ limit: opts.limit });
        if (opts.format === 'json') printJson(log);
        else process.stdout.write(renderAudit(log));
      }),
    );
}

export function renderAudit(log: AuditLog): string {
  if (log.entries.length === 0) return 'no audit entries\n';
  return renderTable(
    [{ header: 'AT' }, { header: 'ACTOR' }, { header: 'ACTION' }, { header: 'TARGET' }, { header: 'DETAIL' }],
    log.entries.map((e) => [
      e.at,
      e.actor ?? '-',
      e.action,
      e.target ?? '-',
      e.detail === null || e.detail === undefined ? '' : typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail),
    ]),
  );
}
