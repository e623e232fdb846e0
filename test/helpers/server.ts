import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { dropProfile, profileEnv } from './backend-profile.js';

/** Path of the compiled CLI entry point (tests run from dist/). */
export const BERTH_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'berth.js');

export interface StartOptions {
  /** Data directory to use; a fresh temporary one when omitted (and removed by stop()). */
  dataDir?: string;
  /** YAML config text, written to a file and passed with --config. */
  config?: string;
  /** Extra environment (BERTH_* keys). */
  env?: Record<string, string>;
  /** Extra CLI flags for `berth serve`. */
  args?: string[];
  /** Milliseconds to wait for the server to listen (default 20 s). */
  timeoutMs?: number;
}

export interface TestServer {
  /** Base URL, e.g. http://127.0.0.1:40123 (no trailing slash). */
  url: string;
  /** host:port, as skopeo wants it. */
  host: string;
  port: number;
  dataDir: string;
  proc: ChildProcess;
  /** Everything the process wrote to stdout/stderr so far. */
  output(): string;
  /** SIGTERM and wait for exit (bounded); removes a temp data dir unless keepData. */
  stop(opts?: { keepData?: boolean }): Promise<number | null>;
  /** SIGKILL and wait for exit; never removes data. */
  kill(): Promise<void>;
}

/**
 * Starts the built server (`berth serve --listen 127.0.0.1:0`) as a real child
 * process and resolves once it logs the URL it listens on.
 */
export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'berth-test-')));
  const args = [BERTH_BIN, 'serve', '--listen', '127.0.0.1:0', '--data', dataDir];
  if (opts.config !== undefined) {
    const cfg = join(dataDir, `config-${process.pid}-${Date.now()}.yaml`);
    await writeFile(cfg, opts.config);
    args.push('--config', cfg);
  }
  args.push(...(opts.args ?? []));
  const backend = await profileEnv(dataDir);
  const proc = spawn(process.execPath, args, {
    // Tests stay on loopback: no server downloads advisories from the internet unless a test says where from.
    env: { ...process.env, BERTH_LOG_LEVEL: process.env.BERTH_LOG_LEVEL ?? 'info', BERTH_SCAN_DB_SCHEDULE: '', ...backend, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not start within ${opts.timeoutMs ?? 20000} ms:\n${out}`));
    }, opts.timeoutMs ?? 20000);
    const rl = createInterface({ input: proc.stdout! });
    rl.on('line', (line) => {
      out += line + '\n';
      if (!line.startsWith('{')) return;
      try {
        const rec = JSON.parse(line) as { msg?: string; url?: string };
        if (rec.msg === 'listening' && rec.url) {
          clearTimeout(timer);
          resolve(rec.url);
        }
      } catch {
        /* not JSON */
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
  const port = Number(new URL(url).port);
  return {
    url,
    host: `127.0.0.1:${port}`,
    port,
    dataDir,
    proc,
    output: () => out,
    async stop({ keepData = false } = {}) {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
        await exited;
        clearTimeout(t);
      }
      if (ownDir && !keepData) {
        await rm(dataDir, { recursive: true, force: true });
        await dropProfile(dataDir);
      }
      return proc.exitCode;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}
