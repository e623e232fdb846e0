/**
 * `berth robot create|list|disable|enable|delete`: robot accounts for CI. A robot belongs to one
 * project, may do only the actions it was given (optionally only on repositories matching a
 * pattern) and logs in as `robot$<project>+<name>` with a secret that is shown once, when it is
 * created. System admins only.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import type { CreatedRobot, RobotRecord } from '../client/management-client.js';
import { clientFor, flagParser, managementCommand, parseExpiry, runAction, type FormatOptions, type ServerOptions } from './management-command.js';
import { printJson, renderTable } from './output.js';

const ROBOT_PREFIX = 'robot$';
const ACTIONS = ['pull', 'push', 'delete'];

/** `pull,push` → ['pull', 'push']; refuses unknown actions before any request. */
export function parseActions(text: string): string[] {
  const list = text
    .split(',')
    .map((a) => a.trim().toLowerCase())
    .filter((a) => a !== '');
  const unknown = list.filter((a) => !ACTIONS.includes(a));
  if (list.length === 0 || unknown.length > 0) {
    throw new Error(`"${text}" is not a list of ${ACTIONS.join(', ')} (comma-separated, e.g. pull,push)`);
  }
  return [...new Set(list)];
}

/**
 * The full robot name from `robot$team+ci` or the short `team+ci`: in a shell, `$team` inside
 * double quotes expands, so accepting the short form saves users a puzzling NOT_FOUND.
 */
export function robotName(text: string): string {
  return text.startsWith(ROBOT_PREFIX) ? text : `${ROBOT_PREFIX}${text}`;
}

interface CreateOptions extends ServerOptions, FormatOptions {
  project: string;
  name?: string;
  perm: string[];
  repository?: string;
  expires?: number | 'never';
  description?: string;
}

export function registerRobot(program: Command): void {
  const cmd = program.command('robot').description('Robot accounts for CI (system admins only)');

  managementCommand(cmd, 'create', 'Create a robot account and print its secret (shown only this once)', { format: true })
    .requiredOption('--project <project>', 'the project the robot works in')
    .option('--name <name>', 'short name; the robot logs in as robot$PROJECT+NAME (default: ci-<random>)')
    .requiredOption('--perm <actions>', 'what it may do: pull, push, delete, comma-separated', flagParser(parseActions))
    .option('--repository <pattern>', 'only repositories of the project matching this pattern (e.g. team/app or team/ci-*)')
    .option('--expires <duration>', 'lifetime: 30d, 12h, 2w, ... or never (the default)', flagParser(parseExpiry))
    .option('--description <text>', 'what the robot is for')
    .action(
      runAction(async (opts: CreateOptions) => {
        const robot = await clientFor(opts).createRobot({
          project: opts.project,
          // The issue's own example (`robot create --project team --perm pull,push --expires 30d`) names no robot.
          name: opts.name ?? `ci-${randomBytes(3).toString('hex')}`,
          actions: opts.perm,
          ...(opts.repository === undefined ? {} : { repositoryPattern: opts.repository }),
          ...(typeof opts.expires === 'number' ? { expiresInSeconds: opts.expires } : {}),
          ...(opts.description === undefined ? {} : { description: opts.description }),
        });
        // Scripts read name and secret (issue 3); expiresAt tells them when to rotate.
        if (opts.format === 'json') printJson({ name: robot.name, secret: robot.secret, expiresAt: robot.expiresAt });
        else process.stdout.write(renderCreated(robot));
      }),
    );

  managementCommand(cmd, 'list', 'List robot accounts', { format: true })
    .option('--project <project>', 'only the robots of this project')
    .action(
      runAction(async (opts: ServerOptions & FormatOptions & { project?: string }) => {
        const { robots } = await clientFor(opts).listRobots({ project: opts.project });
        if (opts.format === 'json') printJson({ robots });
        else process.stdout.write(renderRobots(robots));
      }),
    );

  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    managementCommand(cmd, verb, `${disabled ? 'Refuse' : 'Accept again'} the logins of a robot`, { format: true })
      .argument('<name>', 'robot$PROJECT+NAME (or PROJECT+NAME)')
      .action(
        runAction(async (name: string, opts: ServerOptions & FormatOptions) => {
          const robot = await clientFor(opts).setRobotDisabled(robotName(name), disabled);
          if (opts.format === 'json') printJson(robot);
          else process.stdout.write(`${robot.name} ${disabled ? 'disabled' : 'enabled'}\n`);
        }),
      );
  }

  managementCommand(cmd, 'delete', 'Delete a robot account')
    .argument('<name>', 'robot$PROJECT+NAME (or PROJECT+NAME)')
    .action(
      runAction(async (name: string, opts: ServerOptions) => {
        await clientFor(opts).deleteRobot(robotName(name));
        process.stdout.write(`${robotName(name)} deleted\n`);
      }),
    );
}

function renderCreated(r: CreatedRobot): string {
  return [
    `robot ${r.name} created: ${r.actions.join(', ')} on ${r.repositoryPattern ?? `every repository of ${r.project}`}, ${r.expiresAt ? `expires ${r.expiresAt}` : 'never expires'}`,
    `secret: ${r.secret}`,
    'The secret is shown only now. Log in with (single quotes keep the shell off the $):',
    `  echo "$SECRET" | docker login HOST --username '${r.name}' --password-stdin`,
    '',
  ].join('\n');
}

/** Enabled, disabled, or expired (as of `now`). */
export function robotStatus(r: RobotRecord, now: number = Date.now()): string {
  if (r.disabled) return 'disabled';
  if (r.expiresAt !== null && Date.parse(r.expiresAt) <= now) return 'expired';
  return 'enabled';
}

export function renderRobots(robots: RobotRecord[], now: number = Date.now()): string {
  if (robots.length === 0) return 'no robots\n';
  return renderTable(
    [{ header: 'NAME' }, { header: 'ACTIONS' }, { header: 'REPOSITORIES' }, { header: 'EXPIRES' }, { header: 'STATUS' }, { header: 'DESCRIPTION' }],
    robots.map((r) => [r.name, r.actions.join(','), r.repositoryPattern ?? '*', r.expiresAt ?? 'never', robotStatus(r, now), r.description ?? '']),
  );
}
