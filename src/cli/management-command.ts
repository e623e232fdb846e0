/**
 * What every management command shares: `--server` (with BERTH_SERVER and a default), credentials
 * (`--username/--password`, else the Docker config entry `berth login` wrote for the server's
 * host:port, else none), `--format text|json` where the command prints data, flag parsers that
 * refuse bad values before any request, reading a JSON file to send verbatim, and one error path
 * (`fail`, with advice that names the server for the access-control codes).
 */
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ManagementApiError, ManagementClient, type BasicCredentials } from '../client/management-client.js';
import { dockerConfigPath, findCredentials, readDockerConfig } from '../client/docker-config.js';
import { isLoopbackHost } from '../client/registry-login.js';
import { fail, parseInstant } from './output.js';

export const DEFAULT_SERVER = 'http://localhost:5000';

export type Format = 'text' | 'json';

export interface ServerOptions {
  server: string;
  /** Plain HTTP for a --server given as a bare host that is not loopback. */
  insecure?: boolean;
  username?: string;
  password?: string;
}

export interface FormatOptions {
  format: Format;
}

/**
 * A subcommand of `parent` that talks to a berth server: it takes `--server URL`, `--insecure`,
 * `--username/--password`, and `--format text|json` when `format` is set (commands that print data).
 */
export function managementCommand(parent: Command, nameAndArgs: string, description: string, opts: { format?: boolean } = {}): Command {
  const cmd = parent.command(nameAndArgs).description(description);
  cmd.addOption(
    new Option('--server <url>', 'URL of the berth server, or HOST[:PORT] (HTTPS unless localhost or --insecure)').env('BERTH_SERVER').default(DEFAULT_SERVER),
  );
  cmd.addOption(new Option('--insecure', 'allow plain HTTP to a --server HOST that is not localhost'));
  cmd.addOption(new Option('--username <name>', 'log in as this user (default: the credentials berth login stored)').env('BERTH_USERNAME'));
  cmd.addOption(new Option('--password <password>', 'password for --username (visible to other local users; prefer berth login)').env('BERTH_PASSWORD'));
  if (opts.format) cmd.addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'));
  return cmd;
}

/**
 * `http` for `localhost`, `127.0.0.1` and `[::1]` (any port) as docker does, and with --insecure;
 * `https` for every other host.
 */
export function schemeFor(host: string, insecure = false): 'http' | 'https' {
  return insecure || isLoopbackHost(host) ? 'http' : 'https';
}

/** A `--server` value as a URL: a URL stays as written; a bare `HOST[:PORT]` gets the scheme schemeFor picks. */
export function serverUrl(server: string, insecure = false): string {
  const text = server.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  const host = text.split('/')[0] ?? '';
  return `${schemeFor(host, insecure)}://${text}`;
}

/**
 * The Docker config keys that may hold a server's credentials: its `host[:port]`, and for a URL
 * without a port also `host:80` or `host:443`, since docker keys an entry by what the user typed.
 */
export function credentialKeys(url: string): string[] {
  const u = new URL(url);
  const keys = [u.host];
  if (u.port === '') keys.push(`${u.host}:${u.protocol === 'https:' ? 443 : 80}`);
  return keys;
}

export interface ResolvedCredentials {
  credentials: BasicCredentials;
  /** Where they came from, for messages: `--username` or the config file and its key. */
  source: string;
}

/** Flags first, then the Docker config file; undefined when neither has any. */
export async function resolveCredentials(opts: ServerOptions, url: string, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedCredentials | undefined> {
  if (opts.username !== undefined || opts.password !== undefined) {
    if (!opts.username || opts.password === undefined) throw new Error('--username and --password go together (or use berth login)');
    return { credentials: { username: opts.username, password: opts.password }, source: '--username/--password' };
  }
  const file = dockerConfigPath(env);
  const config = await readDockerConfig(file);
  const found = config && findCredentials(file, config, credentialKeys(url));
  return found ? { credentials: found.credentials, source: `${file} (auths["${found.key}"])` } : undefined;
}

export function clientFor(opts: ServerOptions): ManagementClient {
  const server = serverUrl(opts.server, opts.insecure);
  return new ManagementClient({ server, credentials: async () => (await resolveCredentials(opts, server))?.credentials });
}

/**
 * Wraps a command action so that any error is reported on stderr (exit code 1), never as a stack
 * trace; the access-control codes get advice naming the server (see accessFailure).
 */
export function runAction<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      const cmd = args.at(-1);
      const lines = e instanceof ManagementApiError && cmd instanceof Command ? await accessFailureFor(e, cmd.opts<ServerOptions>()) : undefined;
      if (!lines) return fail(e);
      process.stderr.write(lines.join('\n') + '\n');
      process.exitCode = 1;
    }
  };
}

async function accessFailureFor(err: ManagementApiError, opts: ServerOptions): Promise<string[] | undefined> {
  if (!ACCESS_CODES.has(err.code) || typeof opts.server !== 'string') return undefined;
  let url: string;
  try {
    url = serverUrl(opts.server, opts.insecure);
    const host = new URL(url).host;
    const used = await resolveCredentials(opts, url).catch(() => undefined);
    return accessFailure(err, { host, username: used?.credentials.username, source: used?.source });
  } catch {
    return undefined;
  }
}

const ACCESS_CODES = new Set(['UNAUTHORIZED', 'DENIED', 'TOOMANYREQUESTS']);

/**
 * The lines for an access-control failure at `host`: what happened and one line of advice.
 * Undefined for other codes (fail's own advice applies). A 409 DENIED is a name already taken
 * (docs/management-api.md), not a missing right.
 */
export function accessFailure(err: ManagementApiError, ctx: { host: string; username?: string; source?: string }): string[] | undefined {
  const { host } = ctx;
  switch (err.code) {
    case 'UNAUTHORIZED':
      return [
        ctx.username === undefined
          ? `berth: UNAUTHORIZED: not logged in to ${host}: run berth login ${host}`
          : `berth: UNAUTHORIZED: ${host} refused the credentials of ${ctx.username}${ctx.source ? ` from ${ctx.source}` : ''}: ${err.message}`,
        `run berth login ${host} or pass --username/--password`,
      ];
    case 'DENIED':
      if (err.status === 409) return [`berth: DENIED: ${err.message}`, 'that name is taken: pick another, or delete the existing one first'];
      return [`berth: DENIED: ${err.message}`, `your account${ctx.username ? ` (${ctx.username})` : ''} lacks the rights for this: ask a system admin`];
    case 'TOOMANYREQUESTS': {
      const wait = err.retryAfterSeconds === undefined ? 'wait' : `wait ${err.retryAfterSeconds} s`;
      return [`berth: TOOMANYREQUESTS: ${err.message}`, `too many failed logins: ${wait} and retry`];
    }
    default:
      return undefined;
  }
}

/** Adapts a parser from output.ts to commander, which then names the flag in its error. */
export function flagParser<T>(parse: (text: string) => T): (text: string) => T {
  return (text: string) => {
    try {
      return parse(text);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `30d`, `12h`, `90m`, `45s`, `2w` → seconds (a whole positive number of one unit). */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s?([smhdw])$/i.exec(text.trim());
  const unit = m ? DURATION_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`"${text}" is not a duration: use a whole number with s, m, h, d or w (e.g. 30d, 12h)`);
  const seconds = Number(m[1]) * unit;
  if (seconds <= 0) throw new Error(`"${text}" must be longer than zero`);
  if (!Number.isSafeInteger(seconds)) throw new Error(`"${text}" is too long`);
  return seconds;
}

/** `--expires`: a duration in seconds, or `never`. */
export function parseExpiry(text: string): number | 'never' {
  if (text.trim().toLowerCase() === 'never') return 'never';
  try {
    return parseDuration(text);
  } catch {
    throw new Error(`"${text}" is not a duration or never: use e.g. 30d, 12h or never`);
  }
}

/** `--since`: a duration back from `now` (`1h`, `2d`) or an ISO-8601 instant; answers the instant as ISO-8601 UTC. */
export function parseSince(text: string, now: number = Date.now()): string {
  if (/^\s*\d+\s?[a-z]\s*$/i.test(text)) {
    try {
      return new Date(now - parseDuration(text) * 1000).toISOString();
    } catch {
      throw new Error(`"${text}" is neither a duration (1h, 2d) nor an ISO-8601 instant`);
    }
  }
  try {
    return parseInstant(text);
  } catch (e) {
    throw new Error(`${(e as Error).message}, or a duration such as 1h or 2d`);
  }
}

/**
 * Reads a JSON document the user wrote and returns its text unchanged, so the server sees (and
 * its error positions refer to) exactly the file; refuses a file that is not JSON, naming it.
 */
export async function readJsonFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  try {
    JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not JSON: ${(e as Error).message}`);
  }
  return text;
}
