/**
 * `berth lifecycle put|get|delete TARGET` and `preview|apply REPOSITORY`: lifecycle policies
 * (ECR format) over the management API. TARGET is a repository (team/app) or a project
 * wildcard (team/*); a repository's own policy wins over its project's.
 */
import type { Command } from 'commander';
import type { LifecyclePlan, LifecyclePolicyRecord, PlanEntry } from '../client/management-client.js';
import {
  clientFor,
  flagParser,
  managementCommand,
  readJsonFile,
  runAction,
  type FormatOptions,
  type ServerOptions,
} from './management-command.js';
import { parseInstant, printJson, renderTable, shortDigest } from './output.js';

const TARGET_HELP = 'a repository (team/app) or every repository of a project (team/*)';

export function registerLifecycle(program: Command): void {
  const cmd = program
    .command('lifecycle')
    .description('Lifecycle policies (Amazon ECR format): which images expire, previewed before they are applied');

  managementCommand(cmd, 'put', 'Set the lifecycle policy of a target from a JSON file (replaces any previous one)', { format: true })
    .argument('<target>', TARGET_HELP)
    .requiredOption('--file <file>', 'policy document: {"rules": [...]} as in Amazon ECR')
    .action(
      runAction(async (target: string, opts: ServerOptions & FormatOptions & { file: string }) => {
        const policy = await readJsonFile(opts.file);
        const record = await clientFor(opts).putLifecyclePolicy(target, policy);
        if (opts.format === 'json') printJson(record);
        else process.stdout.write(`lifecycle policy of ${record.target} set (${ruleCount(record)}); preview it with: berth lifecycle preview REPOSITORY\n`);
      }),
    );

  managementCommand(cmd, 'get', 'Show the lifecycle policy set on a target', { format: true })
    .argument('<target>', TARGET_HELP)
    .action(
      runAction(async (target: string, opts: ServerOptions & FormatOptions) => {
        const record = await clientFor(opts).getLifecyclePolicy(target);
        if (opts.format === 'json') printJson(record);
        else process.stdout.write(`target:  ${record.target}\nupdated: ${record.updatedAt}\n${JSON.stringify(record.policy, null, 2)}\n`);
      }),
    );

  managementCommand(cmd, 'delete', 'Remove the lifecycle policy of a target')
    .argument('<target>', TARGET_HELP)
    .action(
      runAction(async (target: string, opts: ServerOptions) => {
        await clientFor(opts).deleteLifecyclePolicy(target);
        process.stdout.write(`lifecycle policy of ${target} removed\n`);
      }),
    );

  managementCommand(cmd, 'preview', 'Show what the policy would expire in a repository, and why; deletes nothing', { format: true })
    .argument('<repository>', 'repository name, e.g. team/app')
    .option('--now <instant>', 'evaluate as of this ISO-8601 instant (e.g. 2026-11-27T10:00:00Z) instead of now', flagParser(parseInstant))
    .action(
      runAction(async (repository: string, opts: ServerOptions & FormatOptions & { now?: string }) => {
        const plan = await clientFor(opts).previewLifecycle(repository, { now: opts.now });
        if (opts.format === 'json') printJson(planJson(plan));
        else process.stdout.write(renderPlan(plan));
      }),
    );

  managementCommand(cmd, 'apply', 'Run the policy on a repository now: deletes the images it expires', { format: true })
    .argument('<repository>', 'repository name, e.g. team/app')
    .action(
      runAction(async (repository: string, opts: ServerOptions & FormatOptions) => {
        const plan = await clientFor(opts).applyLifecycle(repository);
        if (opts.format === 'json') printJson(planJson(plan));
        else process.stdout.write(renderPlan(plan));
      }),
    );
}

function ruleCount(record: LifecyclePolicyRecord): string {
  const rules = (record.policy as { rules?: unknown } | null)?.rules;
  const n = Array.isArray(rules) ? rules.length : 0;
  return `${n} rule${n === 1 ? '' : 's'}`;
}

/**
 * The JSON form of a plan for scripts: exactly `{"expire": [{digest, tags, rule, reason}],
 * "keep": [{digest, tags, rule}]}`, whatever else the server sends.
 */
export function planJson(plan: LifecyclePlan): {
  expire: Array<Pick<PlanEntry, 'digest' | 'tags' | 'rule' | 'reason'>>;
  keep: Array<Pick<PlanEntry, 'digest' | 'tags' | 'rule'>>;
} {
  return {
    expire: plan.expire.map((e) => ({ digest: e.digest, tags: e.tags, rule: e.rule ?? null, reason: e.reason })),
    keep: plan.keep.map((e) => ({ digest: e.digest, tags: e.tags, rule: e.rule ?? null })),
  };
}

/** EXPIRE rows, then KEEP rows, then one summary line. */
export function renderPlan(plan: LifecyclePlan): string {
  const row = (action: string, e: PlanEntry) => [
    action,
    shortDigest(e.digest),
    e.tags.length > 0 ? e.tags.join(',') : '<untagged>',
    e.rule === null || e.rule === undefined ? '-' : String(e.rule),
    e.reason ?? '',
  ];
  const rows = [...plan.expire.map((e) => row(plan.applied ? 'EXPIRED' : 'EXPIRE', e)), ...plan.keep.map((e) => row('KEEP', e))];
  const table =
    rows.length > 0
      ? renderTable([{ header: 'ACTION' }, { header: 'DIGEST' }, { header: 'TAGS' }, { header: 'RULE', align: 'right' }, { header: 'REASON' }], rows)
      : '';
  const policy = plan.policyTarget === null ? 'no lifecycle policy applies' : `policy of ${plan.policyTarget}`;
  const images = (n: number) => `${n} image${n === 1 ? '' : 's'}`;
  const summary = plan.applied
    ? `${plan.repository}: expired ${images(plan.expire.length)}, kept ${plan.keep.length} (${policy}, at ${plan.now})`
    : `${plan.repository}: would expire ${images(plan.expire.length)}, keep ${plan.keep.length} (${policy}, as of ${plan.now})`;
  return `${table}${table ? '\n' : ''}${summary}\n`;
}
