/**
 * `berth project create|list|set|delete` and `berth project member add|set|remove|list`: projects
 * (the first component of a repository name), whether anonymous clients may pull from them, and who
 * holds which role in them (guest pulls, developer also pushes, maintainer also deletes, admin
 * manages). System admins only.
 */
import { Option, type Command } from 'commander';
import { ROLES, type MemberRecord, type ProjectRecord, type Role } from '../client/management-client.js';
import { clientFor, managementCommand, runAction, type FormatOptions, type ServerOptions } from './management-command.js';
import { printJson, renderTable } from './output.js';

const roleOption = () => new Option('--role <role>', 'guest (pull), developer (+push), maintainer (+delete) or admin (+members)').choices(ROLES).makeOptionMandatory();

export function registerProject(program: Command): void {
  const cmd = program.command('project').description('Projects, their visibility and their members (system admins only)');

  managementCommand(cmd, 'create', 'Create a project (private unless --public)', { format: true })
    .argument('<name>', 'project name: the first component of its repository names (team in team/app)')
    .option('--public', 'anyone may pull, without logging in')
    .action(
      runAction(async (name: string, opts: ServerOptions & FormatOptions & { public?: boolean }) => {
        const project = await clientFor(opts).createProject(name, { public: opts.public === true });
        if (opts.format === 'json') printJson(project);
        else process.stdout.write(`project ${project.name} created (${visibility(project)})\n`);
      }),
    );

  managementCommand(cmd, 'list', 'List the projects', { format: true }).action(
    runAction(async (opts: ServerOptions & FormatOptions) => {
      const { projects } = await clientFor(opts).listProjects();
      if (opts.format === 'json') printJson({ projects });
      else process.stdout.write(renderProjects(projects));
    }),
  );

  managementCommand(cmd, 'set', 'Make a project public (anonymous pulls) or private', { format: true })
    .argument('<name>', 'project name')
    .addOption(new Option('--public', 'anyone may pull, without logging in').conflicts('private'))
    .addOption(new Option('--private', 'only members (and system admins) may pull'))
    .action(
      runAction(async (name: string, opts: ServerOptions & FormatOptions & { public?: boolean; private?: boolean }) => {
        if (!opts.public && !opts.private) throw new Error('project set needs --public or --private');
        const project = await clientFor(opts).updateProject(name, { public: opts.public === true });
        if (opts.format === 'json') printJson(project);
        else process.stdout.write(`project ${project.name} is ${visibility(project)}\n`);
      }),
    );

  managementCommand(cmd, 'delete', 'Delete a project with its members and robots (its repositories stay)')
    .argument('<name>', 'project name')
    .action(
      runAction(async (name: string, opts: ServerOptions) => {
        await clientFor(opts).deleteProject(name);
        process.stdout.write(`project ${name} deleted\n`);
      }),
    );

  registerMember(cmd);
}

function registerMember(project: Command): void {
  const cmd = project.command('member').description('Members of a project and their roles');

  for (const [verb, what] of [
    ['add', 'Add a user to a project with a role'],
    ['set', "Change a member's role"],
  ] as const) {
    managementCommand(cmd, verb, `${what} (either way the user ends up with that role)`, { format: true })
      .argument('<project>', 'project name')
      .argument('<user>', 'user name')
      .addOption(roleOption())
      .action(
        runAction(async (name: string, user: string, opts: ServerOptions & FormatOptions & { role: Role }) => {
          const member = await clientFor(opts).setMember(name, user, opts.role);
          if (opts.format === 'json') printJson(member);
          else process.stdout.write(`${member.username} is ${member.role} of ${member.project}\n`);
        }),
      );
  }

  managementCommand(cmd, 'remove', 'Remove a user from a project')
    .argument('<project>', 'project name')
    .argument('<user>', 'user name')
    .action(
      runAction(async (name: string, user: string, opts: ServerOptions) => {
        await clientFor(opts).removeMember(name, user);
        process.stdout.write(`${user} removed from ${name}\n`);
      }),
    );

  managementCommand(cmd, 'list', 'List the members of a project', { format: true })
    .argument('<project>', 'project name')
    .action(
      runAction(async (name: string, opts: ServerOptions & FormatOptions) => {
        const { members } = await clientFor(opts).listMembers(name);
        if (opts.format === 'json') printJson({ members });
        else process.stdout.write(renderMembers(name, members));
      }),
    );
}

const visibility = (p: ProjectRecord) => (p.public ? 'public: anyone may pull' : 'private');

export function renderProjects(projects: ProjectRecord[]): string {
  if (projects.length === 0) return 'no projects\n';
  return renderTable(
    [{ header: 'NAME' }, { header: 'VISIBILITY' }, { header: 'CREATED' }, { header: 'BY' }],
    projects.map((p) => [p.name, p.public ? 'public' : 'private', p.createdAt, p.createdBy ?? '-']),
  );
}

export function renderMembers(project: string, members: MemberRecord[]): string {
  if (members.length === 0) return `${project} has no members\n`;
  return renderTable(
    [{ header: 'USER' }, { header: 'ROLE' }],
    members.map((m) => [m.username, m.role]),
  );
}
