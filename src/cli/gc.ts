/**
 * `berth gc [--dry-run]`: online garbage collection on the server (POST /api/v1/gc). A dry run
 * reports what a real run would reclaim now and deletes nothing.
 */
import type { Command } from 'commander';
import type { GcReport } from '../client/management-client.js';
import { clientFor, managementCommand, runAction, type FormatOptions, type ServerOptions } from './management-command.js';
import { formatBytes, printJson } from './output.js';

export function registerGc(program: Command): void {
  managementCommand(program, 'gc', 'Reclaim blobs no manifest or upload refers to any more (online; pushes go on)', { format: true })
    .option('--dry-run', 'only count what a run would reclaim now; delete nothing')
    .action(
      runAction(async (opts: ServerOptions & FormatOptions & { dryRun?: boolean }) => {
        const report = await clientFor(opts).gc({ dryRun: opts.dryRun === true });
        if (opts.format === 'json') printJson(report);
        else process.stdout.write(renderGcReport(report));
      }),
    );
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function renderGcReport(r: GcReport): string {
  const blobs = `${plural(r.blobsDeleted, 'blob')} (${formatBytes(r.bytesReclaimed)})`;
  const others = [
    `${plural(r.linksRemoved, 'repository blob link')}`,
    `${plural(r.referrersDeleted, 'referrer')}`,
    `${plural(r.orphanObjectsDeleted, 'orphan storage object')}`,
    `${plural(r.uploadsReaped, 'abandoned upload')}`,
  ].join(', ');
  const grace = `grace period ${r.graceSeconds} s`;
  return r.dryRun
    ? `would reclaim ${blobs}\nwould also remove ${others}\n(dry run at ${r.startedAt}, ${r.durationMs} ms; ${grace}; nothing was deleted)\n`
    : `reclaimed ${blobs}\nremoved ${others}\n(started ${r.startedAt}, took ${r.durationMs} ms; ${grace})\n`;
}
