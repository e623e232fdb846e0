/**
 * `berth user add|list|passwd|delete`: the users of a berth server with access control on
 * (system admins only). Passwords come from --password-stdin, --password or a terminal prompt;
 * the server never shows them again.
 */
import type { Command } from 'commander';
import type { UserRecord } from '../client/management-client.js';
import { clientFor, managementCommand, runAction, type FormatOptions, type ServerOptions } from './management-command.js';
import { passwordFrom, type PasswordOptions } from './login.js';
import { printJson, renderTable } from './output.js';

/** --password-stdin and --password-for-user: --password is taken by the caller's own credentials. */
interface NewPasswordOptions {
  newPassword?: string;
  passwordStdin?: boolean;
}

const newPassword = (opts: NewPasswordOptions, confirm: boolean): Promise<string> =>
  passwordFrom({ password: opts.newPassword, passwordStdin: opts.passwordStdin } satisfies PasswordOptions, 'New password: ', confirm);

function passwordFlags(cmd: Command): Command {
  return cmd
    .option('--password-stdin', "read the user's password from standard input")
    .option('--new-password <password>', "the user's password (visible to other local users; prefer --password-stdin)");
}

export function registerUser(program: Command): void {
  const cmd = program.command('user').description('Users of the registry (system admins only)');

  passwordFlags(managementCommand(cmd, 'add', 'Create a user', { format: true }))
    .argument('<name>', 'user name: lower-case letters, digits, ".", "_" or "-"')
    .option('--admin', 'make the user a system admin (all projects, the management API)')
    .action(
      runAction(async (name: string, opts: ServerOptions & FormatOptions & NewPasswordOptions & { admin?: boolean }) => {
        const password = await newPassword(opts, true);
        const user = await clientFor(opts).createUser({ name, password, ...(opts.admin ? { systemAdmin: true } : {}) });
        if (opts.format === 'json') printJson(user);
        else process.stdout.write(`user ${user.name} created${user.systemAdmin ? ' (system admin)' : ''}\n`);
      }),
    );

  managementCommand(cmd, 'list', 'List the users', { format: true }).action(
    runAction(async (opts: ServerOptions & FormatOptions) => {
      const { users } = await clientFor(opts).listUsers();
      if (opts.format === 'json') printJson({ users });
      else process.stdout.write(renderUsers(users));
    }),
  );

  passwordFlags(managementCommand(cmd, 'passwd', "Set a user's password"))
    .argument('<name>', 'user name')
    .action(
      runAction(async (name: string, opts: ServerOptions & NewPasswordOptions) => {
        const password = await newPassword(opts, true);
        await clientFor(opts).updateUser(name, { password });
        process.stdout.write(`password of ${name} changed\n`);
      }),
    );

  managementCommand(cmd, 'delete', 'Delete a user (their project memberships go with them)')
    .argument('<name>', 'user name')
    .action(
      runAction(async (name: string, opts: ServerOptions) => {
        await clientFor(opts).deleteUser(name);
        process.stdout.write(`user ${name} deleted\n`);
      }),
    );
}

export function renderUsers(users: UserRecord[]): string {
  if (users.length === 0) return 'no users\n';
  return renderTable(
    [{ header: 'NAME' }, { header: 'ADMIN' }, { header: 'STATUS' }, { header: 'CREATED' }],
    users.map((u) => [u.name, u.systemAdmin ? 'yes' : 'no', u.disabled ? 'disabled' : 'active', u.createdAt]),
  );
}
