import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';

/** A registry under test: a separate server process on 127.0.0.1. */
export interface BenchTarget {
  /** 'berth' or 'distribution': keys in the JSON report. */
  name: 'berth' | 'distribution';
  /** What the table calls it, with its version when known. */
  label: string;
  url: string;
  pid: number;
  /** Stops the process (bounded) and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * A free loopback port. Neither server reports a port-0 listen address once
 * its logs are turned down to warnings, so the bench picks the port itself.
 */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no free port');
  return addr.port;
}

export interface SpawnOptions {
  name: BenchTarget['name'];
  label: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  port: number;
  /** GET this path until it answers 200. */
  readyPath: string;
  /** Owned by the server; removed by stop(). */
  dir: string;
  timeoutMs?: number;
}

/** Spawns a server, waits until it answers on 127.0.0.1:port, and returns its handle. */
export async function spawnServer(o: SpawnOptions): Promise<BenchTarget> {
  const proc = spawn(o.command, o.args, { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    if (out.length < 64 * 1024) out += d.toString();
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const alive = (): boolean => proc.exitCode === null && proc.signalCode === null;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (alive()) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    }
    await rm(o.dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${o.port}`;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) {
      await stop();
      throw new Error(`${o.name} exited before serving:\n${out}`);
    }
    try {
      const r = await fetch(url + o.readyPath, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${o.name} did not answer on ${url}${o.readyPath} within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name: o.name, label: o.label, url, pid: proc.pid!, stop };
}
