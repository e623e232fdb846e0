import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { onPath, runCommand, sleep, type CommandResult } from './e2e-process.js';

/** Debian's `docker-registry` package: CNCF Distribution, an independent registry to proxy. */
export const DISTRIBUTION_BIN = '/usr/bin/docker-registry';

export function distributionAvailable(): boolean {
  try {
    accessSync(DISTRIBUTION_BIN, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const SKOPEO = onPath('skopeo');

/** Why the pull-through suites cannot run here, or false when they can. */
export function proxyTestSkip(): string | false {
  if (!distributionAvailable()) return 'docker-registry is not installed (apt-get install docker-registry)';
  if (SKOPEO === undefined) return 'skopeo is not on PATH';
  if (onPath('htpasswd') === undefined) return 'htpasswd is not on PATH (apt-get install apache2-utils)';
  return false;
}

/** skopeo with the signature policy check off (the test registries have no signatures), bounded to 60 s. */
export function skopeo(args: string[]): Promise<CommandResult> {
  return runCommand(SKOPEO!, ['--insecure-policy', ...args], 60_000);
}

export function assertOk(r: CommandResult): void {
  assert.equal(r.code, 0, `skopeo failed:\n${r.describe()}`);
}

/** A GET (bounded to 30 s) read whole. */
export async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: Buffer; headers: Headers }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, bytes, headers: res.headers };
}

export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface Distribution {
  url: string;
  host: string;
  port: number;
  stop(): Promise<void>;
  /** Starts it again on the same port and data (after stop). */
  restart(): Promise<void>;
}

/**
 * Starts Distribution on a loopback port with its data in `dir`; with
 * `htpasswd` (a file's contents, bcrypt entries as `htpasswd -B` writes them)
 * it asks for Basic authentication (Distribution's `auth: htpasswd:`).
 * Config keys: https://distribution.github.io/distribution/about/configuration/
 */
export async function startDistribution(dir: string, opts: { htpasswd?: string } = {}): Promise<Distribution> {
  await mkdir(join(dir, 'data'), { recursive: true });
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  if (opts.htpasswd !== undefined) {
    await writeFile(join(dir, 'htpasswd'), opts.htpasswd);
    lines.push('auth:', '  htpasswd:', '    realm: berth-test', `    path: ${join(dir, 'htpasswd')}`);
  }
  const config = join(dir, 'config.yml');
  await writeFile(config, lines.join('\n') + '\n');
  let proc: ChildProcess | undefined;
  const url = `http://127.0.0.1:${port}`;
  const start = async (): Promise<void> => {
    const p = spawn(DISTRIBUTION_BIN, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    proc = p;
    for (let i = 0; i < 200; i++) {
      if (p.exitCode !== null) throw new Error(`docker-registry exited with ${p.exitCode}: ${err}`);
      try {
        const res = await fetch(`${url}/v2/`);
        if (res.status === 200 || res.status === 401) return;
      } catch {
        /* not listening yet */
      }
      await sleep(50);
    }
    p.kill('SIGKILL');
    throw new Error(`docker-registry did not answer within 10 s: ${err}`);
  };
  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url, host: `127.0.0.1:${port}`, port, stop, restart: start };
}

/** A bcrypt htpasswd line (`htpasswd -Bbn user pass`), from apache2-utils. */
export function htpasswdLine(user: string, password: string): string {
  return execFileSync('htpasswd', ['-Bbn', user, password], { encoding: 'utf8' }).trim() + '\n';
}

export type ProxyFault = 'none' | 'corrupt' | 'truncate';

export interface CountingProxy {
  url: string;
  host: string;
  /** Request lines seen, e.g. "GET /v2/library/node/blobs/sha256:...". */
  requests: string[];
  count(method: string, pathPart: string): number;
  reset(): void;
  /** How blob GET bodies are mangled from now on. */
  fault: ProxyFault;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of the upstream that records every request line and
 * can corrupt (flip one byte) or truncate (stop halfway, then drop the
 * connection) blob bodies. When the upstream is unreachable it drops the
 * client's connection, as an unreachable host would.
 */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const t = new URL(target);
  const state: CountingProxy = {
    url: '',
    host: '',
    requests: [],
    count: (method, part) => state.requests.filter((r) => r.startsWith(`${method} `) && r.includes(part)).length,
    reset: () => void (state.requests.length = 0),
    fault: 'none',
    close: async () => undefined,
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.requests.push(`${req.method} ${req.url}`);
    const isBlobGet = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
    const fault = isBlobGet ? state.fault : 'none';
    const up = request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (fault === 'none' || (upRes.statusCode ?? 0) !== 200) {
          upRes.pipe(res);
          return;
        }
        const total = Number(upRes.headers['content-length'] ?? 0);
        let seen = 0;
        upRes.on('data', (chunk: Buffer) => {
          const c = Buffer.from(chunk);
          if (fault === 'corrupt') {
            const mid = Math.floor(total / 2);
            if (mid >= seen && mid < seen + c.length) c[mid - seen] = c[mid - seen]! ^ 0xff;
            res.write(c);
          } else {
            const keep = Math.max(0, Math.min(c.length, Math.floor(total / 2) - seen));
            if (keep > 0) res.write(c.subarray(0, keep));
            if (seen + c.length >= total / 2) {
              upRes.destroy();
              res.destroy();
            }
          }
          seen += c.length;
        });
        upRes.on('end', () => res.end());
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${port}`;
  state.host = `127.0.0.1:${port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}
