/**
 * `npm run bench -- --scale-out`: the same scenarios on three configurations
 * in one run, alternating whole rounds: the embedded default (one node,
 * filesystem + SQLite), one node on PostgreSQL + S3, and three nodes on one
 * PostgreSQL database and one bucket prefix. The client spreads requests over
 * the three nodes itself (see RegistryClient), so no proxy hop of ours is in
 * the figures. A cost probe afterwards counts what each operation asks of
 * PostgreSQL and of the bucket.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Digest } from '../src/oci/digest.js';
import { BlobStore } from '../src/storage/blob-store.js';
import { berthBin, berthBuilt } from './berth-target.js';
import { describeMachine, isFigures, progressLine, type RoundResult } from './bench-report.js';
import { POSTGRES_ADMIN_URL } from './bench-postgres.js';
import { acquireS3, cephPids, deleteKeys, deletePrefix, headSizes, rgwCollectGarbage, s3AdminClient, type BenchS3 } from './bench-s3.js';
import { runCostProbe, type ProbeReport } from './cost-probe.js';
import { runLoad } from './load.js';
import { pidSetCpuMeter } from './pid-set-cpu-meter.js';
import { RegistryClient, type Spread } from './registry-client.js';
import { startEmbedded, startShared, type Cleanup, type Deployment } from './scale-out-deployments.js';
import {
  CEPH_METER,
  PG_METER,
  renderScaleOutMarkdown,
  renderScaleOutTable,
  scaleOutScenarioReport,
  withRatios,
  type PushCheck,
  type ScaleOutReport,
  type ScaleOutRoundRow,
} from './scale-out-report.js';
import {
  allScenarios,
  BenchData,
  prepareTarget,
  pushedBlobs,
  REPOSITORIES,
  runScenario,
  selectScenarios,
  type CpuMeter,
  type RunFigures,
  type Scenario,
} from './scenarios.js';

export interface ScaleOutOptions {
  rounds: number;
  quick: boolean;
  only: string[];
  format: 'table' | 'json' | 'markdown';
  /** Also write the JSON report here. */
  jsonFile?: string;
  tmpDir: string;
  spread: Spread;
  /** s3-server.sh, to find or start the S3 server. */
  s3Script: string;
  progress: (line: string) => void;
}

/** Push, pull and manifest GETs at the concurrency where more nodes can help; --only picks others. */
export const SCALE_OUT_SCENARIOS = ['push-1MiB-c8', 'push-100MiB-c8', 'pull-1MiB-c8', 'pull-100MiB-c8', 'manifest-tag-c32', 'manifest-digest-c32'];

export function scaleOutScenarios(quick: boolean, only: string[]): Scenario[] {
  const all = allScenarios({ quick, big: false });
  return only.length > 0 ? selectScenarios(all, only) : all.filter((s) => SCALE_OUT_SCENARIOS.includes(s.id));
}

/** Runs the cleanups newest first, each once, whatever fails. */
async function unwind(cleanups: Cleanup[]): Promise<void> {
  while (cleanups.length > 0) {
    await cleanups.pop()!().catch((e: unknown) => process.stderr.write(`cleanup: ${e instanceof Error ? e.message : String(e)}\n`));
  }
}

export async function runScaleOut(opts: ScaleOutOptions): Promise<number> {
  const scenarios = scaleOutScenarios(opts.quick, opts.only);
  if (scenarios.length === 0) throw new Error(`--only ${opts.only.join(',')} matches no scenario (see --list)`);
  if (!berthBuilt()) throw new Error(`berth is not built (${berthBin()} is missing)`);
  const { progress } = opts;
  const started = Date.now();
  const runId = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const root = await mkdtemp(join(opts.tmpDir, 'berth-bench-scale-out-'));
  const cleanups: Cleanup[] = [() => rm(root, { recursive: true, force: true })];
  const abort = new AbortController();
  // One unwinding, whether a signal or the end of the run starts it: both wait for all of it.
  let unwinding: Promise<void> | undefined;
  const cleanUp = (): Promise<void> => (unwinding ??= unwind(cleanups));
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\n${sig}: stopping every node and server this run started, dropping its databases\n`);
    abort.abort();
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const errors: string[] = [];
  const checks: PushCheck[] = [];
  const rows = new Map(scenarios.map((s) => [s.id, [] as ScaleOutRoundRow[]]));
  const notes = [
    `client, berth nodes, PostgreSQL and Ceph RGW share this machine's ${describeMachine().cpus} CPUs; the figures include the client's cost`,
  ];
  let report: ScaleOutReport;
  try {
    progress('finding the S3 server (starting it when needed)...');
    const s3 = await acquireS3(opts.s3Script);
    cleanups.push(() => s3.release());
    const prefix = `berth-bench-${runId.replace('_', '-')}/`;
    const admin = s3AdminClient(s3);
    cleanups.push(async () => {
      try {
        await deletePrefix(admin, s3.bucket, prefix);
        await rgwCollectGarbage(s3);
      } finally {
        admin.destroy();
      }
    });
    progress(`S3: ${s3.source}; generating blobs...`);
    const data = new BenchData();
    progress('starting the deployments...');
    const deployments: Deployment[] = [await startEmbedded(root, cleanups)];
    for (const [id, n] of [['pg-s3-1', 1], ['pg-s3-3', 3]] as const) {
      deployments.push(
        await startShared({ id, nodeCount: n, root, s3, dbName: `berth_bench_${runId}_n${n}`, s3Prefix: `${prefix}n${n}/`, spread: opts.spread, cleanups }),
      );
    }
    const pgVersion = await deployments[1]!.db!.serverVersion();
    const ceph = cephPids(s3);
    notes.push(
      ceph.length === 0
        ? 'Ceph CPU not measured: the S3 server is not a local s3-server.sh instance'
        : 'Ceph CPU is that of the whole S3 server (monitor, OSD, radosgw), including what other users of it ask meanwhile',
    );
    const gcWorks = await rgwCollectGarbage(s3);
    notes.push(
      gcWorks
        ? 'after each push scenario the pushed blobs are checked, then deleted from the bucket and RGW garbage-collected, outside the measured time (keeps a small test cluster from filling up)'
        : 'after each push scenario the pushed blobs are checked and deleted from the bucket; RGW garbage collection could not be run (not a local instance)',
    );
    const metersOf = (d: Deployment): CpuMeter[] =>
      d.db ? [pidSetCpuMeter(PG_METER, () => d.db!.backendPids()), ...(ceph.length > 0 ? [pidSetCpuMeter(CEPH_METER, () => ceph)] : [])] : [];
    for (const d of deployments) {
      progress(`preparing ${d.label} (${d.urls.join(', ')})...`);
      await prepareTarget(d, data, scenarios);
    }
    if (gcWorks) await rgwCollectGarbage(s3);

    for (let round = 1; round <= opts.rounds; round++) {
      const rowOf = new Map(scenarios.map((s) => [s.id, { round, results: {} } as ScaleOutRoundRow]));
      for (const d of deployments) {
        for (const s of scenarios) {
          abort.signal.throwIfAborted();
          let res: RoundResult;
          try {
            res = await runScenario(s, d, data, round, abort.signal, metersOf(d));
          } catch (err) {
            res = { error: err instanceof Error ? err.message : String(err) };
            errors.push(`round ${round}, ${d.id}, ${s.id}: ${res.error}`);
          }
          rowOf.get(s.id)!.results[d.id] = res;
          progress(progressLine(round, opts.rounds, d.id, s, res));
          if (s.group === 'push' && isFigures(res)) {
            try {
              const check = await checkPushes(d, s, data, round, res, s3, admin);
              checks.push(check);
              errors.push(...check.problems.map((p) => `round ${round}, ${d.id}, ${s.id}: ${p}`));
            } catch (err) {
              errors.push(`round ${round}, ${d.id}, ${s.id}: checking the pushed blobs failed: ${err instanceof Error ? err.message : String(err)}`);
            }
            if (d.s3Prefix && gcWorks) await rgwCollectGarbage(s3);
          }
        }
      }
      for (const s of scenarios) rows.get(s.id)!.push(withRatios(s.unit, rowOf.get(s.id)!));
    }

    let probe: ProbeReport | undefined;
    try {
      progress('cost probe: counting PostgreSQL round trips and S3 requests per operation...');
      probe = await runCostProbe({ deployment: deployments[1]!, s3, data, selected: scenarios, quick: opts.quick, root, cleanups, signal: abort.signal, progress });
    } catch (err) {
      errors.push(`cost probe: ${err instanceof Error ? err.message : String(err)}`);
    }

    const pgUrl = new URL(POSTGRES_ADMIN_URL);
    report = {
      mode: 'scale-out',
      startedAt: new Date(started).toISOString(),
      durationS: 0,
      machine: describeMachine(),
      options: { rounds: opts.rounds, quick: opts.quick, only: opts.only, spread: opts.spread },
      berth: deployments[0]!.nodes[0]!.label.replace(/ \(.*\)$/, ''),
      deployments: deployments.map((d) => ({ id: d.id, label: d.label, nodes: d.nodes.length })),
      backends: {
        postgres: `PostgreSQL ${pgVersion} at ${pgUrl.host}, databases berth_bench_${runId}_n1 and _n3 (dropped at the end)`,
        s3: { source: s3.source, endpoint: s3.endpoint, bucket: s3.bucket, prefix },
      },
      scenarios: scenarios.map((s) => scaleOutScenarioReport(s, rows.get(s.id)!)),
      probe,
      checks,
      notes,
      errors,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress('stopping nodes, dropping databases, deleting the bucket prefix...');
    await cleanUp();
  }
  report.durationS = Math.round((Date.now() - started) / 1000);
  if (opts.jsonFile !== undefined) await writeFile(opts.jsonFile, JSON.stringify(report, null, 2) + '\n');
  if (opts.format === 'json') process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else if (opts.format === 'markdown') process.stdout.write(renderScaleOutMarkdown(report));
  else process.stdout.write(renderScaleOutTable(report));
  return errors.length > 0 ? 1 : 0;
}

/**
 * After a push scenario: every blob it pushed (warm-up included) must answer
 * HEAD with its size, each on the next node in turn, and on a shared
 * deployment its object must be in the bucket with that size. Then those
 * objects are deleted from the bucket (not through berth: its metadata keeps
 * links nobody reads again, as every push in the run is new content) so the
 * run's footprint stays small.
 */
async function checkPushes(
  d: Deployment,
  s: Scenario,
  data: BenchData,
  round: number,
  f: RunFigures,
  s3: BenchS3,
  admin: ReturnType<typeof s3AdminClient>,
): Promise<PushCheck> {
  const blobs = pushedBlobs(s, data, round, f);
  const problems: string[] = [];
  let visible = 0;
  const client = new RegistryClient(d.urls, 8, 'request');
  try {
    await runLoad({ concurrency: 8, count: blobs.length, maxMs: 600_000 }, async (i) => {
      const b = blobs[i]!;
      const size = await client.headBlob(REPOSITORIES.push, b.digest);
      if (size === b.size) visible++;
      else if (problems.length < 10) problems.push(`HEAD ${b.digest}: ${size === undefined ? '404' : `size ${size}, expected ${b.size}`}`);
      return 0;
    });
  } finally {
    client.close();
  }
  if (!d.s3Prefix) return { deployment: d.id, pushed: blobs.length, visible, problems };
  const keys = blobs.map((b) => d.s3Prefix + BlobStore.blobKey(Digest.parse(b.digest)));
  const sizes = await headSizes(admin, s3.bucket, keys);
  let inBucket = 0;
  sizes.forEach((size, i) => {
    if (size === blobs[i]!.size) inBucket++;
    else if (problems.length < 10) problems.push(`bucket object ${keys[i]}: ${size === undefined ? 'missing' : `size ${size}`}`);
  });
  await deleteKeys(admin, s3.bucket, keys);
  return { deployment: d.id, pushed: blobs.length, visible, inBucket, problems };
}
