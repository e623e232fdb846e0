/**
 * `berth usage [PROJECT]`: storage per project and repository, and how much of a project's
 * quota is used. Bytes count each unique blob once per project (and once per repository line),
 * so a project's figure is usually less than the sum of its repositories'.
 */
import type { Command } from 'commander';
import type { ProjectUsage, QuotaLimits, UsageReport } from '../client/management-client.js';
import { clientFor, managementCommand, runAction, type FormatOptions, type ServerOptions } from './management-command.js';
import { formatBytes, printJson, renderTable } from './output.js';

export function registerUsage(program: Command): void {
  managementCommand(program, 'usage', 'Storage used per project and repository, with quotas', { format: true })
    .argument('[project]', 'only this project (the first component of its repository names)')
    .action(
      runAction(async (project: string | undefined, opts: ServerOptions & FormatOptions) => {
        const report = await clientFor(opts).usage({ project });
        if (opts.format === 'json') printJson(report);
        else process.stdout.write(renderUsage(report));
      }),
    );
}

/** "used 1.5 GiB of 10.0 GiB, 12 of 100 tags"; empty when no quota is set. */
export function describeQuota(p: Pick<ProjectUsage, 'bytes' | 'tags'>, quota: QuotaLimits | null): string {
  if (!quota) return '';
  const parts: string[] = [];
  if (quota.bytes !== null) parts.push(`used ${formatBytes(p.bytes)} of ${formatBytes(quota.bytes)}`);
  if (quota.tags !== null) parts.push(`${parts.length ? '' : 'used '}${p.tags} of ${quota.tags} tags`);
  return parts.join(', ');
}

/** One table: each project's line, then its repositories indented under it. */
export function renderUsage(report: UsageReport): string {
  if (report.projects.length === 0) return 'nothing stored yet\n';
  const rows: string[][] = [];
  for (const p of report.projects) {
    rows.push([p.project, formatBytes(p.bytes), String(p.blobs), String(p.manifests), String(p.tags), describeQuota(p, p.quota)]);
    for (const r of p.repositories) {
      rows.push([`  ${r.repository}`, formatBytes(r.bytes), String(r.blobs), String(r.manifests), String(r.tags), '']);
    }
  }
  return renderTable(
    [
      { header: 'PROJECT / REPOSITORY' },
      { header: 'SIZE', align: 'right' },
      { header: 'BLOBS', align: 'right' },
      { header: 'MANIFESTS', align: 'right' },
      { header: 'TAGS', align: 'right' },
      { header: 'QUOTA' },
    ],
    rows,
  );
}
