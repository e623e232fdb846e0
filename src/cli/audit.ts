/**
 * `berth audit [--since 1h|2d|ISO] [--project P] [--limit N] [--before ID] [--all]`: the audit log,
 * newest first: pushes, pulls, deletes, logins, token issues and denials (who, what, when, from
 * where, outcome), and changes of policies, quotas and rules. The server answers one page at a
 * time; `--all` follows its `next` links.
 */
import type { Command } from 'commander';
import type { AuditEntry, AuditLog, AuditQuery, ManagementClient } from '../client/management-client.js';
import { clientFor, flagParser, managementCommand, parseSince, runAction, type FormatOptions, type ServerOptions } from './management-command.js';
import { parseCount, printJson, renderTable } from './output.js';

const positive = (text: string): number => {
  const n = parseCount(text);
  if (n < 1) throw new Error(`"${text}" must be at least 1`);
  return n;
};

/** --all stops after this many pages however the server answers: a loop must be bounded. */
export const MAX_PAGES = 10_000;

interface AuditOptions extends ServerOptions, FormatOptions {
  limit?: number;
  since?: string;
  project?: string;
  before?: number;
  all?: boolean;
}

export function registerAudit(program: Command): void {
  managementCommand(program, 'audit', 'Show the audit log, newest first', { format: true })
    .option('--since <when>', 'only entries since then: a duration back from now (1h, 2d) or an ISO-8601 instant', flagParser((t) => parseSince(t)))
    .option('--project <project>', 'only entries about repositories of this project')
    .option('--limit <n>', 'entries per page (the server has a default)', flagParser(positive))
    .option('--before <id>', 'only entries older than this id (the "next" of a previous page)', flagParser(positive))
    .option('--all', 'every page, not just the newest')
    .action(
      runAction(async (opts: AuditOptions) => {
        const query = { limit: opts.limit, since: opts.since, project: opts.project, before: opts.before };
        const client = clientFor(opts);
        const log = opts.all ? await allPages(client, query) : await client.audit(query);
        if (opts.format === 'json') printJson(log);
        else {
          process.stdout.write(renderAudit(log));
          if (log.next !== undefined && log.next !== null) process.stderr.write(`older entries: add --before ${log.next}, or --all\n`);
        }
      }),
    );
}

/** Follows `next` until the server says there is no more (or a page repeats, or MAX_PAGES). */
export async function allPages(client: Pick<ManagementClient, 'audit'>, query: AuditQuery): Promise<AuditLog> {
  const entries: AuditEntry[] = [];
  const seen = new Set<string>();
  let before = query.before;
  for (let page = 0; page < MAX_PAGES; page++) {
    const log = await client.audit({ ...query, before });
    entries.push(...log.entries);
    const next = log.next;
    if (next === undefined || next === null || log.entries.length === 0 || seen.has(String(next))) break;
    seen.add(String(next));
    before = next;
  }
  return { entries, next: null };
}

function detailText(detail: AuditEntry['detail']): string {
  if (detail === null || detail === undefined) return '';
  return typeof detail === 'string' ? detail : JSON.stringify(detail);
}

export function renderAudit(log: AuditLog): string {
  if (log.entries.length === 0) return 'no audit entries\n';
  return renderTable(
    [{ header: 'AT' }, { header: 'ACTOR' }, { header: 'ACTION' }, { header: 'TARGET' }, { header: 'OUTCOME' }, { header: 'ADDRESS' }, { header: 'DETAIL' }],
    log.entries.map((e) => [e.at, e.actor ?? '-', e.action, e.target || '-', e.outcome ?? '-', e.address ?? '-', detailText(e.detail)]),
  );
}
