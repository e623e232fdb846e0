/**
 * `berth login HOST` and `berth logout HOST`: check credentials against a registry and keep them in
 * the Docker config file (`auths[HOST]`), where docker, podman, skopeo and berth's own management
 * commands find them. Plain HTTP for localhost, 127.0.0.1 and [::1] as docker does; HTTPS for other
 * hosts unless --insecure.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { ManagementApiError } from '../client/management-client.js';
import { dockerConfigPath, readDockerConfig, registryKey, removeCredentials, storeCredentials } from '../client/docker-config.js';
import { verifyRegistryLogin } from '../client/registry-login.js';
import { accessFailure, schemeFor } from './management-command.js';
import { fail } from './output.js';

export interface PasswordOptions {
  password?: string;
  passwordStdin?: boolean;
}

interface LoginOptions extends PasswordOptions {
  username?: string;
  insecure?: boolean;
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('Log in to a registry and store the credentials in the Docker config file ($DOCKER_CONFIG/config.json)')
    .argument('<host>', 'registry HOST[:PORT], e.g. registry.example.com or localhost:5000')
    .option('-u, --username <name>', 'user or robot name (asked on a terminal when left out)')
    .option('-p, --password <password>', 'password (visible to other local users; prefer --password-stdin)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--insecure', 'use plain HTTP for a host that is not localhost')
    .action(async (hostArg: string, opts: LoginOptions) => {
      const attempt = { host: hostArg, username: opts.username };
      try {
        attempt.host = hostOf(hostArg);
        await login(attempt, opts);
      } catch (e) {
        reportFailure(e, attempt);
      }
    });

  program
    .command('logout')
    .description('Remove the credentials stored for a registry from the Docker config file')
    .argument('<host>', 'registry HOST[:PORT]')
    .action(async (hostArg: string) => {
      try {
        const host = hostOf(hostArg);
        const file = dockerConfigPath();
        if (await removeCredentials(file, host)) process.stdout.write(`Removed login credentials for ${host} from ${file}\n`);
        else process.stdout.write(`Not logged in to ${host}\n`);
      } catch (e) {
        fail(e);
      }
    });
}

async function login(attempt: { host: string; username?: string }, opts: LoginOptions): Promise<void> {
  const host = attempt.host;
  const scheme = schemeFor(host, opts.insecure);
  if (opts.password !== undefined && opts.passwordStdin) throw new Error('--password and --password-stdin exclude each other');
  if (opts.passwordStdin && opts.username === undefined) throw new Error('--password-stdin needs --username');
  if (opts.password !== undefined && !opts.passwordStdin) {
    process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  }
  const username = opts.username ?? (await prompt('Username: ', false));
  attempt.username = username;
  if (username === '') throw new Error('a username is required');
  if (username.includes(':')) throw new Error('a username cannot contain ":" (HTTP basic credentials are user:password)');
  const password = await passwordFrom(opts, 'Password: ');
  const credentials = { username, password };

  // Read the config file first: a file berth would refuse to update should not cost a login attempt.
  const file = dockerConfigPath();
  await warnAboutHelpers(file, host);
  const check = await verifyRegistryLogin({ registry: `${scheme}://${host}`, credentials, insecure: opts.insecure });
  await storeCredentials(file, host, credentials);
  if (!check.verified) {
    process.stderr.write(`note: ${host} answers without credentials, so they could not be checked; stored anyway\n`);
  }
  process.stdout.write(`Login Succeeded (credentials stored in ${file})\n`);
}

/** docker and podman consult credential helpers before `auths`: say so when one would shadow the entry. */
async function warnAboutHelpers(file: string, host: string): Promise<void> {
  const config = await readDockerConfig(file);
  const helpers = config?.credHelpers;
  const helper = helpers && typeof helpers === 'object' ? (helpers as Record<string, unknown>)[host] : undefined;
  const store = config?.credsStore;
  if (typeof helper === 'string' || typeof store === 'string') {
    const which = typeof helper === 'string' ? `credHelpers["${host}"] (${helper})` : `credsStore (${String(store)})`;
    process.stderr.write(`note: ${file} sets ${which}; docker reads credentials from that helper before auths\n`);
  }
}

/** HOST[:PORT] from what the user typed: docker accepts `https://host/` too and keeps only the host. */
export function hostOf(text: string): string {
  const key = registryKey(text);
  if (key === '' || /[\s@]/.test(key)) throw new Error(`"${text}" is not a registry HOST[:PORT]`);
  return key;
}

function reportFailure(e: unknown, attempt: { host: string; username?: string }): void {
  if (!(e instanceof ManagementApiError)) return fail(e);
  // At login the credentials were given just now: say that they were refused, not that nobody logged in.
  const lines =
    e.code === 'UNAUTHORIZED'
      ? [
          `berth: UNAUTHORIZED: ${attempt.host} refused the credentials${attempt.username ? ` of ${attempt.username}` : ''}: ${e.message}`,
          'check the username and password (a robot logs in as robot$PROJECT+NAME with its secret)',
        ]
      : e.code === 'UNAVAILABLE' && e.status === 0
        ? [`berth: UNAVAILABLE: ${e.message}`, 'check HOST[:PORT] and that the registry runs there (plain HTTP elsewhere than localhost needs --insecure)']
        : accessFailure(e, attempt);
  if (!lines) return fail(e);
  process.stderr.write(lines.join('\n') + '\n');
  process.exitCode = 1;
}

/**
 * A password from --password, --password-stdin (all of standard input, one trailing newline
 * removed, as docker does) or, on a terminal, a prompt that does not echo. `confirm` asks twice.
 */
export async function passwordFrom(opts: PasswordOptions, question = 'Password: ', confirm = false): Promise<string> {
  if (opts.password !== undefined && opts.passwordStdin) throw new Error('--password and --password-stdin exclude each other');
  let password: string;
  if (opts.password !== undefined) password = opts.password;
  else if (opts.passwordStdin) password = (await readStdin()).replace(/\r?\n$/, '');
  else {
    if (!process.stdin.isTTY) throw new Error('no password: pass --password-stdin (or --password), or run on a terminal');
    password = await prompt(question, true);
    if (confirm && (await prompt('Repeat the password: ', true)) !== password) throw new Error('the passwords differ');
  }
  if (password === '') throw new Error('the password is empty');
  return password;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += b.length;
    if (size > 64 * 1024) throw new Error('standard input is longer than a password could be (64 KiB)');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Asks on the terminal (the question on stderr, so stdout stays data); `hidden` does not echo what is typed. */
async function prompt(question: string, hidden: boolean): Promise<string> {
  if (!process.stdin.isTTY) throw new Error(`no ${question.replace(/:\s*$/, '').toLowerCase()}: pass it as a flag, or run on a terminal`);
  process.stderr.write(question);
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  muted = hidden;
  try {
    return await new Promise<string>((resolve, reject) => {
      rl.once('line', resolve);
      rl.once('close', () => reject(new Error('no input')));
      rl.once('SIGINT', () => reject(new Error('cancelled')));
    });
  } finally {
    rl.close();
    if (hidden) process.stderr.write('\n');
  }
}
