/**
 * `berth quota get|set|delete PROJECT`: storage and tag limits of a project. `set` changes only
 * the limits it is given (the other keeps its value); `none` lifts a limit.
 */
import type { Command } from 'commander';
import { ManagementApiError, type QuotaLimits, type QuotaRecord } from '../client/management-client.js';
import { clientFor, flagParser, managementCommand, runAction, type FormatOptions, type ServerOptions } from './management-command.js';
import { formatBytes, parseByteSize, parseCount, printJson } from './output.js';

/**
 * A limit flag: `none` lifts the limit, anything else must parse. The parser answers the string
 * 'none' rather than null because commander stores a null from a parser as ''.
 */
const orNone =
  <T>(parse: (text: string) => T) =>
  (text: string): T | 'none' =>
    text.trim().toLowerCase() === 'none' ? 'none' : parse(text);

/** The new value of a limit: the flag's, else the current one. */
const limit = (flag: number | 'none' | undefined, current: number | null): number | null =>
  flag === undefined ? current : flag === 'none' ? null : flag;

export function registerQuota(program: Command): void {
  const cmd = program.command('quota').description('Project quotas: bytes stored and number of tags');

  managementCommand(cmd, 'get', 'Show the quota of a project', { format: true })
    .argument('<project>', 'project name (team)')
    .action(
      runAction(async (project: string, opts: ServerOptions & FormatOptions) => {
        const quota = await clientFor(opts).getQuota(project);
        if (opts.format === 'json') printJson(quota);
        else process.stdout.write(renderQuota(quota));
      }),
    );

  managementCommand(cmd, 'set', 'Set the byte and/or tag limit of a project (a limit not given keeps its value)', { format: true })
    .argument('<project>', 'project name (team)')
    .option('--bytes <size>', 'bytes stored: 10GiB, 500MB, 1048576, or none', flagParser(orNone(parseByteSize)))
    .option('--tags <n>', 'number of tags, or none', flagParser(orNone(parseCount)))
    .action(
      runAction(async (project: string, opts: ServerOptions & FormatOptions & { bytes?: number | 'none'; tags?: number | 'none' }) => {
        if (opts.bytes === undefined && opts.tags === undefined) {
          throw new Error('quota set needs --bytes SIZE or --tags N (or both); use none to lift a limit');
        }
        const client = clientFor(opts);
        const current = await currentLimits(() => client.getQuota(project));
        const quota = await client.putQuota(project, { bytes: limit(opts.bytes, current.bytes), tags: limit(opts.tags, current.tags) });
        if (opts.format === 'json') printJson(quota);
        else process.stdout.write(renderQuota(quota));
      }),
    );

  managementCommand(cmd, 'delete', 'Remove the quota of a project (no limits)')
    .argument('<project>', 'project name (team)')
    .action(
      runAction(async (project: string, opts: ServerOptions) => {
        await clientFor(opts).deleteQuota(project);
        process.stdout.write(`quota of ${project} removed\n`);
      }),
    );
}

/** The limits in force now; a project without a quota (404 NOT_FOUND) has none. */
async function currentLimits(get: () => Promise<QuotaRecord>): Promise<QuotaLimits> {
  try {
    const q = await get();
    return { bytes: q.bytes, tags: q.tags };
  } catch (e) {
    if (e instanceof ManagementApiError && e.code === 'NOT_FOUND') return { bytes: null, tags: null };
    throw e;
  }
}

export function renderQuota(q: QuotaRecord): string {
  const bytes = q.bytes === null ? 'no limit' : `${formatBytes(q.bytes)} (${q.bytes} bytes)`;
  const tags = q.tags === null ? 'no limit' : String(q.tags);
  return `project: ${q.project}\nbytes:   ${bytes}\ntags:    ${tags}\n`;
}
