/**
 * `berth immutability put|get|delete TARGET`: tag immutability rules. A tag matching a rule's
 * tagPatternList (and none of its excludeTagPatternList) cannot be moved or deleted once pushed.
 */
import type { Command } from 'commander';
import type { ImmutabilityRecord } from '../client/management-client.js';
import { clientFor, managementCommand, readJsonFile, runAction, type FormatOptions, type ServerOptions } from './management-command.js';
import { printJson, renderTable } from './output.js';

const TARGET_HELP = 'a repository (team/app) or every repository of a project (team/*)';

export function registerImmutability(program: Command): void {
  const cmd = program.command('immutability').description('Tag immutability rules: tags that may not be overwritten or deleted');

  managementCommand(cmd, 'put', 'Set the immutability rules of a target from a JSON file (replaces any previous ones)', { format: true })
    .argument('<target>', TARGET_HELP)
    .requiredOption('--file <file>', 'rules document: {"rules": [{"tagPatternList": [...], "excludeTagPatternList"?: [...]}]}')
    .action(
      runAction(async (target: string, opts: ServerOptions & FormatOptions & { file: string }) => {
        const rules = await readJsonFile(opts.file);
        const record = await clientFor(opts).putImmutability(target, rules);
        if (opts.format === 'json') printJson(record);
        else process.stdout.write(`immutability rules of ${record.target} set\n${renderImmutability(record)}`);
      }),
    );

  managementCommand(cmd, 'get', 'Show the immutability rules set on a target', { format: true })
    .argument('<target>', TARGET_HELP)
    .action(
      runAction(async (target: string, opts: ServerOptions & FormatOptions) => {
        const record = await clientFor(opts).getImmutability(target);
        if (opts.format === 'json') printJson(record);
        else process.stdout.write(`target:  ${record.target}\nupdated: ${record.updatedAt}\n${renderImmutability(record)}`);
      }),
    );

  managementCommand(cmd, 'delete', 'Remove the immutability rules of a target')
    .argument('<target>', TARGET_HELP)
    .action(
      runAction(async (target: string, opts: ServerOptions) => {
        await clientFor(opts).deleteImmutability(target);
        process.stdout.write(`immutability rules of ${target} removed\n`);
      }),
    );
}

export function renderImmutability(record: ImmutabilityRecord): string {
  if (record.rules.length === 0) return 'no rules\n';
  return renderTable(
    [{ header: 'TAGS' }, { header: 'EXCEPT' }, { header: 'DESCRIPTION' }],
    record.rules.map((r) => [r.tagPatternList.join(','), (r.excludeTagPatternList ?? []).join(','), r.description ?? '']),
  );
}
