import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BERTH_BIN } from '../test/helpers/server.js';
import { freePort, spawnServer, type BenchTarget } from './bench-target.js';

export interface BerthOptions {
  /** Directory the server may own (its data dir lives inside); removed on stop. */
  dir: string;
  /** When set, the server runs with --cpu-prof and writes its profile here on exit. */
  cpuProfDir?: string;
  /** More environment (BERTH_* keys: another storage or metadata driver). */
  env?: Record<string, string>;
  /** What the table calls it, after the version ("berth 0.1.0 <suffix>"). */
  labelSuffix?: string;
}

/** The built CLI the bench starts (dist/src/cli/berth.js next to dist/bench/). */
export function berthBin(): string {
  return BERTH_BIN;
}

export function berthBuilt(): boolean {
  return existsSync(BERTH_BIN);
}

function berthVersion(): string | undefined {
  try {
    // dist/bench/berth-target.js -> package.json at the repository root
    const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * Starts the built `berth serve` with log level warn, so request logs do not
 * distort the figures (which also silences the "listening" line: the bench
 * picks the port and waits for /v2/).
 */
export async function startBerth(opts: BerthOptions): Promise<BenchTarget> {
  const dataDir = join(opts.dir, 'data');
  await mkdir(dataDir, { recursive: true });
  const nodeArgs: string[] = [];
  if (opts.cpuProfDir !== undefined) {
    const profDir = resolve(opts.cpuProfDir);
    await mkdir(profDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profDir}`);
  }
  const port = await freePort();
  const version = berthVersion();
  return spawnServer({
    name: 'berth',
    label: ['berth', version, opts.labelSuffix].filter(Boolean).join(' '),
    command: process.execPath,
    args: [...nodeArgs, BERTH_BIN, 'serve', '--listen', `127.0.0.1:${port}`, '--data', dataDir],
    env: { BERTH_LOG_LEVEL: 'warn', BERTH_SCAN_DB_SCHEDULE: '', ...opts.env },
    port,
    readyPath: '/v2/',
    dir: opts.dir,
  });
}
