/**
 * Credentials in the Docker config file, the format docker, podman and skopeo all read:
 * `{"auths": {"HOST[:PORT]": {"auth": base64("user:password")}}}` in `$DOCKER_CONFIG/config.json`,
 * by default `~/.docker/config.json`.
 * (https://docs.docker.com/reference/cli/docker/#configuration-files,
 * https://github.com/containers/image/blob/main/docs/containers-auth.json.5.md)
 *
 * The file belongs to the user and to other tools: an update changes only the one `auths` entry,
 * keeps every other key as it was, and replaces the file atomically (temporary file in the same
 * directory, fsync, rename) with mode 0600, since it holds passwords. A file that is not a JSON
 * object is refused and left untouched, never overwritten.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, realpath, rename, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { BasicCredentials } from './management-client.js';

export class DockerConfigError extends Error {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
    this.name = 'DockerConfigError';
  }
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (the docker CLI's own rule). */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG && env.DOCKER_CONFIG !== '' ? env.DOCKER_CONFIG : join(homedir(), '.docker');
  return join(dir, 'config.json');
}

/** A parsed config file: any JSON object; only `auths` is interpreted. */
export type DockerConfig = Record<string, unknown> & { auths?: Record<string, unknown> };

/**
 * Reads and checks the file: undefined when it does not exist, `{}` when it is empty (docker treats
 * an empty file as an empty config). Throws DockerConfigError for anything that is not a JSON object
 * with an object (or absent) `auths`.
 */
export async function readDockerConfig(file: string): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DockerConfigError(file, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  return parseDockerConfig(file, text);
}

export function parseDockerConfig(file: string, text: string): DockerConfig {
  if (text.trim() === '') return {};
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new DockerConfigError(file, `not valid JSON (${(e as Error).message}); fix or move the file, berth will not overwrite it`, { cause: e });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new DockerConfigError(file, 'not a JSON object; fix or move the file, berth will not overwrite it');
  }
  const auths = (doc as DockerConfig).auths;
  if (auths !== undefined && (auths === null || typeof auths !== 'object' || Array.isArray(auths))) {
    throw new DockerConfigError(file, '"auths" is not a JSON object; fix or move the file, berth will not overwrite it');
  }
  return doc as DockerConfig;
}

/**
 * The key a registry has in `auths`: `host[:port]`, lower-case, without scheme or path. Older docker
 * versions wrote keys as URLs (`https://host/v1/`); the docker CLI reduces those to the host the
 * same way when it looks credentials up.
 */
export function registryKey(hostOrUrl: string): string {
  const withoutScheme = hostOrUrl.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = withoutScheme.indexOf('/');
  return (slash < 0 ? withoutScheme : withoutScheme.slice(0, slash)).toLowerCase();
}

export interface StoredCredentials {
  /** The `auths` key the entry was found under. */
  key: string;
  credentials: BasicCredentials;
}

/**
 * The credentials stored for any of `hosts` (tried in order; each matches its exact key first,
 * then a key that reduces to it, e.g. `https://host:5000/`). Undefined when there is no entry or the
 * entry has no `auth` (e.g. it is kept by a credential helper). A malformed `auth` is an error, not
 * a silent "not logged in".
 */
export function findCredentials(file: string, config: DockerConfig, hosts: string[]): StoredCredentials | undefined {
  const auths = config.auths ?? {};
  const keys = Object.keys(auths);
  for (const host of hosts) {
    const wanted = registryKey(host);
    const key = keys.find((k) => k === host) ?? keys.find((k) => registryKey(k) === wanted);
    if (key === undefined) continue;
    const entry = auths[key];
    const auth = entry !== null && typeof entry === 'object' ? (entry as { auth?: unknown }).auth : undefined;
    if (auth === undefined || auth === '') return undefined;
    return { key, credentials: decodeAuth(file, key, auth) };
  }
  return undefined;
}

/** `auth` is base64 (standard alphabet, padded) of `user:password`; the password may contain colons. */
function decodeAuth(file: string, key: string, auth: unknown): BasicCredentials {
  const bad = (why: string) => new DockerConfigError(file, `auths["${key}"].auth ${why}; run berth login ${key} again`);
  if (typeof auth !== 'string') throw bad('is not a string');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(auth) || auth.length % 4 !== 0) throw bad('is not base64');
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) throw bad('does not hold user:password');
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The `auth` value docker writes for these credentials. */
export function encodeAuth(c: BasicCredentials): string {
  return Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64');
}

/**
 * Stores `auths[key] = {"auth": ...}`, replacing that entry (and only that one), creating the
 * directory (0700) and the file (0600) when needed.
 */
export async function storeCredentials(file: string, key: string, credentials: BasicCredentials): Promise<void> {
  if (credentials.username.includes(':')) throw new Error('a username cannot contain ":" (HTTP basic credentials are user:password)');
  await updateDockerConfig(file, (config) => {
    config.auths = { ...(config.auths ?? {}), [key]: { auth: encodeAuth(credentials) } };
    return true;
  });
}

/**
 * Removes the entry for `host` (its exact key, or keys that reduce to it). Answers whether there was
 * one; the file is not rewritten (or created) when there was none.
 */
export async function removeCredentials(file: string, host: string): Promise<boolean> {
  return updateDockerConfig(file, (config) => {
    const auths = config.auths;
    if (!auths) return false;
    const wanted = registryKey(host);
    const keys = Object.keys(auths).filter((k) => k === host || registryKey(k) === wanted);
    for (const k of keys) delete auths[k];
    return keys.length > 0;
  });
}

/**
 * Reads the file (or starts from `{}`), lets `change` modify it, and writes it back atomically when
 * `change` answers true. A file that cannot be parsed is refused before anything is written.
 */
export async function updateDockerConfig(file: string, change: (config: DockerConfig) => boolean): Promise<boolean> {
  const config = (await readDockerConfig(file)) ?? {};
  if (!change(config)) return false;
  await writeFileAtomic(await resolveLink(file), JSON.stringify(config, null, '\t') + '\n');
  return true;
}

/** A config file that is a symbolic link (dotfile managers do that) is updated where it points, as docker does. */
async function resolveLink(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return file;
    throw new DockerConfigError(file, `cannot resolve: ${(e as Error).message}`, { cause: e });
  }
}

async function writeFileAtomic(file: string, text: string): Promise<void> {
  const dir = dirname(file);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new DockerConfigError(file, `cannot create ${dir}: ${(e as Error).message}`, { cause: e });
  }
  const tmp = join(dir, `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.chmod(0o600); // whatever the umask says: the file holds passwords
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new DockerConfigError(file, `cannot write: ${(e as Error).message}`, { cause: e });
  }
  await syncDirectory(dir);
}

/** Makes the rename durable (POSIX); best effort, some filesystems refuse to open a directory. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* not fatal: the file itself is complete either way */
  }
}
