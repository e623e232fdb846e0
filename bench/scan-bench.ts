/**
 * `npm run bench:scan`: how long berth takes, and how much memory, to
 * inventory and match two images (scan-images.ts): a Debian-like image of
 * about 200 MiB decompressed (goal: under 3 s and under 300 MiB peak RSS) and
 * a Node.js application with 1,000 npm packages. Each run is a child process
 * of its own (scan-worker.ts), so its peak RSS is its own. Beside berth, in
 * the same rounds, the floor: the same layers only decompressed and walked,
 * by Node (zlib + tar-stream) and natively (`gzip -dc | tar -t`). Reports
 * medians of the rounds and berth/floor ratios.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdvisoryDb } from '../src/scan/advisories/index.js';
import { onPath, runCommand } from '../test/helpers/e2e-process.js';
import { describeMachine } from './bench-report.js';
import { debianImage, npmImage, TAG, type BenchImage } from './scan-images.js';
import {
  renderScanTable,
  scanProgressLine,
  summarizeImage,
  type NativeRun,
  type ScanBenchReport,
  type ScanRound,
  type WorkerRun,
} from './scan-report.js';
import type { WorkerResult } from './scan-worker.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const WORKER = join(HERE, 'scan-worker.js');
const OSV_RECORDS = join(HERE, '..', '..', 'test', 'fixtures', 'osv', 'records');
const RUN_TIMEOUT_MS = 5 * 60_000;
const NATIVE_WALK = 'for f; do gzip -dc "$f" | tar -tf - >/dev/null || exit 1; done';

interface Options {
  rounds: number;
  format: 'table' | 'json';
  tmpDir: string;
}

function rounds(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new InvalidArgumentError('a whole number from 1 to 50');
  return n;
}

function parseArgs(argv: string[]): Options {
  return new Command()
    .name('scan-bench')
    .description('Time and peak memory of berth scanning a 200 MiB Debian-like image and a 1,000-package npm image, beside the cost of only decompressing them')
    .option('--rounds <n>', 'rounds; each runs berth and both references on every image', rounds, 5)
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--tmp-dir <dir>', 'where the images and the advisory database are written during the run', tmpdir())
    .parse(argv)
    .opts<Options>();
}

/** Runs the worker in a child process: its figures and the wall time around it, or the error. */
async function runWorker(args: string[]): Promise<WorkerRun> {
  const start = performance.now();
  const r = await runCommand(process.execPath, [WORKER, ...args], RUN_TIMEOUT_MS);
  const wallMs = performance.now() - start;
  if (r.code !== 0) return { error: r.stderr.trim().split('\n')[0] ?? `exit ${r.code}` };
  return { ...(JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as WorkerResult), wallMs };
}

/** `gzip -dc | tar -t` over `paths` in order: the wall time, or the error. */
async function runNative(paths: string[]): Promise<NativeRun> {
  const start = performance.now();
  const r = await runCommand('/bin/sh', ['-c', NATIVE_WALK, 'sh', ...paths], RUN_TIMEOUT_MS);
  const wallMs = performance.now() - start;
  return r.code === 0 ? { wallMs } : { error: r.describe() };
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv);
  const progress =
    process.stderr.isTTY && !process.env.CI && opts.format !== 'json' ? (line: string): void => void process.stderr.write(line + '\n') : (): void => {};
  const started = Date.now();
  const loadStart = loadavg();
  const notes: string[] = [
    `the advisory database holds only the OSV fixtures of test/fixtures/osv: matching costs little here; against a full OSV export it costs more (not measured)`,
    'berth reads the images from OCI layouts as `berth scan oci:DIR` does, verifying every blob digest as it streams; the walks do not hash',
    "peak RSS is the kernel's high-water mark of the whole Node process (process.resourceUsage().maxRSS), Node's own ~40-50 MiB included",
  ];
  const targets: ('berth' | 'walk' | 'native')[] = ['berth', 'walk'];
  if (onPath('gzip') !== undefined && onPath('tar') !== undefined) targets.push('native');
  else notes.push('gzip or tar is not on PATH: no gzip|tar reference');
  const errors: string[] = [];
  const root = await mkdtemp(join(opts.tmpDir, 'berth-scan-bench-'));
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\n${sig}: removing ${root}\n`);
    void rm(root, { recursive: true, force: true }).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    progress('importing the OSV fixtures into an advisory database...');
    const dbDir = join(root, 'db');
    const db = AdvisoryDb.open(dbDir);
    let records: number;
    try {
      await db.import(OSV_RECORDS);
      records = db.status().records;
    } finally {
      db.close();
    }
    const images: BenchImage[] = [];
    const scratch = join(root, 'scratch');
    await mkdir(scratch);
    progress('writing the Debian-like image (about 200 MiB)...');
    images.push(await debianImage(join(root, 'debian-200'), scratch));
    progress(`writing the npm image...`);
    images.push(await npmImage(join(root, 'npm-1000'), scratch));

    const roundsOf = new Map(images.map((i) => [i.id, [] as ScanRound[]]));
    for (let round = 1; round <= opts.rounds; round++) {
      for (const image of images) {
        const row: ScanRound = { round };
        // Rotate the order each round so no target always runs first (or right after another).
        for (let k = 0; k < targets.length; k++) {
          const target = targets[(k + round - 1) % targets.length]!;
          let result: WorkerRun | NativeRun;
          if (target === 'native') result = row.native = await runNative(image.layers.map((l) => l.path));
          else if (target === 'walk') result = row.walk = await runWorker(['walk', image.dir, TAG]);
          else result = row.berth = await runWorker(['berth', image.dir, TAG, dbDir]);
          if ('error' in result) errors.push(`round ${round}, ${image.id}, ${target}: ${result.error}`);
          progress(scanProgressLine(round, opts.rounds, image.id, target === 'native' ? 'gzip|tar' : target, result));
        }
        roundsOf.get(image.id)!.push(row);
      }
    }
    const report: ScanBenchReport = {
      startedAt: new Date(started).toISOString(),
      durationS: Math.round((Date.now() - started) / 1000),
      machine: describeMachine(),
      loadAverage: { start: loadStart, end: loadavg() },
      options: { rounds: opts.rounds },
      advisoryDb: { records, source: 'test/fixtures/osv/records' },
      images: images.map((i) =>
        summarizeImage({
          id: i.id,
          title: i.title,
          layers: i.layers.length,
          compressedMiB: i.layers.reduce((s, l) => s + l.size, 0) / 1024 ** 2,
          tarMiB: i.layers.reduce((s, l) => s + l.tarSize, 0) / 1024 ** 2,
          entries: i.entries,
          goal: i.goal,
          rounds: roundsOf.get(i.id)!,
        }),
      ),
      notes,
      errors,
    };
    process.stdout.write(opts.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : renderScanTable(report));
    // A missed goal is reported, not an exit status: the figures depend on the machine's load.
    return errors.length > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await rm(root, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`scan-bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
