/**
 * `npm run bench`: berth against CNCF Distribution (Debian's docker-registry)
 * on the same machine and the same bytes, alternating whole rounds
 * (berth, Distribution, berth, ...), reporting medians and berth/Distribution
 * ratios beside the goals. Servers are separate processes; the client runs here.
 * With --scale-out it compares berth with itself instead: the embedded default
 * against PostgreSQL + S3 with 1 and 3 nodes (scale-out-bench.ts).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { berthBin, berthBuilt, startBerth } from './berth-target.js';
import type { BenchTarget } from './bench-target.js';
import {
  describeMachine,
  progressLine,
  renderMarkdown,
  renderTable,
  roundRatio,
  scenarioReport,
  type BenchReport,
  type RoundRow,
  type TargetName,
} from './bench-report.js';
import { readMemory } from './process-stats.js';
import { DEFAULT_DISTRIBUTION_BIN, distributionVersion, findDistribution, startDistribution } from './reference-registry.js';
import { allScenarios, BenchData, loadTargetOf, prepareTarget, runScenario, selectScenarios } from './scenarios.js';
import { runScaleOut, SCALE_OUT_SCENARIOS } from './scale-out-bench.js';

interface Options {
  rounds: number;
  quick: boolean;
  big: boolean;
  only: string[];
  format: 'table' | 'json' | 'markdown';
  distribution: boolean;
  distributionBin: string;
  distributionCache: boolean;
  cpuProf?: string;
  tmpDir: string;
  list: boolean;
  scaleOut: boolean;
  spread: 'request' | 'operation';
  jsonFile?: string;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError('a whole number from 1 to 100');
  return n;
}

function parseArgs(argv: string[]): Options {
  const program = new Command()
    .name('registry-bench')
    .description('Benchmark berth against CNCF Distribution (docker-registry) on this machine')
    .option('--rounds <n>', 'rounds; each runs every scenario on berth, then on Distribution', positiveInt, 3)
    .option('--quick', 'smaller counts and 1 round (a smoke run)', false)
    .option('--big', 'add push and pull of a 1 GiB blob, sampling server RSS', false)
    .option('--only <scenarios>', 'comma-separated scenario ids or prefixes (see --list), e.g. push,manifest-tag', '')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'markdown']).default('table'))
    .option('--no-distribution', 'run berth alone even when docker-registry is installed')
    .option('--distribution-bin <path>', 'CNCF Distribution binary', DEFAULT_DISTRIBUTION_BIN)
    .option('--distribution-cache', "give Distribution its in-memory blob descriptor cache (as Debian's shipped config does)", false)
    .option('--cpu-prof <dir>', "run berth with node --cpu-prof and write its profile to <dir> when it stops")
    .option('--tmp-dir <dir>', 'where the servers keep their data during the run', tmpdir())
    .option('--list', 'list the scenarios and exit', false)
    .option('--json-file <path>', 'also write the JSON report to <path>, whatever --format says')
    .option(
      '--scale-out',
      `embedded (filesystem + SQLite) vs PostgreSQL + S3 with 1 and 3 nodes instead of berth vs Distribution; scenarios ${SCALE_OUT_SCENARIOS.join(',')} unless --only`,
      false,
    )
    .addOption(
      new Option('--spread <how>', 'with --scale-out: send each request (like an HTTP load balancer) or each operation (like a layer-4 one) to the next node')
        .choices(['request', 'operation'])
        .default('request'),
    )
    .parse(argv);
  const o = program.opts<Omit<Options, 'only'> & { only: string }>();
  const explicitRounds = program.getOptionValueSource('rounds') === 'cli';
  return {
    ...o,
    rounds: o.quick && !explicitRounds ? 1 : o.rounds,
    only: o.only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv);
  const scenarios = selectScenarios(allScenarios({ quick: opts.quick, big: opts.big }), opts.only);
  if (opts.list) {
    for (const s of allScenarios({ quick: opts.quick, big: true })) {
      process.stdout.write(`${s.id.padEnd(22)} ${s.title.padEnd(26)} goal >= ${s.goal}x ${s.unit}${s.big ? '  (--big)' : ''}\n`);
    }
    return 0;
  }
  // Progress on a terminal only; quiet under CI and with --format json.
  const progress =
    process.stderr.isTTY && !process.env.CI && opts.format !== 'json' ? (line: string): void => void process.stderr.write(line + '\n') : (): void => {};
  if (opts.scaleOut) {
    const s3Script = process.env.BERTH_S3_SERVER_SCRIPT ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'scripts', 's3-server.sh');
    return runScaleOut({ ...opts, s3Script, progress });
  }
  if (scenarios.length === 0) throw new Error(`--only ${opts.only.join(',')} matches no scenario (see --list)`);
  if (!berthBuilt()) throw new Error(`berth is not built (${berthBin()} is missing): run npm run build`);

  const notes = [`client and servers share this machine's ${describeMachine().cpus} CPUs; the figures include the client's cost`];
  let distBin: string | undefined;
  let distReason: string | undefined;
  if (!opts.distribution) distReason = 'skipped (--no-distribution)';
  else if ((distBin = findDistribution(opts.distributionBin)) === undefined) distReason = `${opts.distributionBin} not found`;
  if (distReason) notes.push(`Distribution ${distReason}: berth alone, no ratios`);
  else if (opts.distributionCache) notes.push('Distribution runs with storage.cache.blobdescriptor: inmemory');
  else notes.push('Distribution runs without a blob descriptor cache (filesystem storage only)');

  const started = Date.now();
  const root = await mkdtemp(join(opts.tmpDir, 'berth-bench-'));
  const targets: BenchTarget[] = [];
  const abort = new AbortController();
  const cleanup = async (): Promise<void> => {
    await Promise.allSettled(targets.map((t) => t.stop()));
    await rm(root, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\n${sig}: stopping the servers and removing ${root}\n`);
    abort.abort();
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const errors: string[] = [];
  const rows = new Map(scenarios.map((s) => [s.id, [] as RoundRow[]]));
  const memory: BenchReport['memory'] = {};
  try {
    progress('generating blobs...');
    const data = new BenchData();
    progress('starting servers...');
    targets.push(await startBerth({ dir: join(root, 'berth'), cpuProfDir: opts.cpuProf }));
    if (distBin) {
      targets.push(await startDistribution({ bin: distBin, dir: join(root, 'distribution'), blobDescriptorCache: opts.distributionCache }));
    }
    for (const t of targets) {
      progress(`preparing ${t.label} at ${t.url} (pid ${t.pid})...`);
      await prepareTarget(loadTargetOf(t), data, scenarios);
    }
    for (let round = 1; round <= opts.rounds; round++) {
      const rowOf = new Map(scenarios.map((s) => [s.id, { round } as RoundRow]));
      for (const t of targets) {
        for (const s of scenarios) {
          if (abort.signal.aborted) throw new Error('interrupted');
          let res: RoundRow['berth'];
          try {
            res = await runScenario(s, loadTargetOf(t), data, round, abort.signal);
          } catch (err) {
            res = { error: err instanceof Error ? err.message : String(err) };
            errors.push(`round ${round}, ${t.name}, ${s.id}: ${res.error}`);
          }
          rowOf.get(s.id)![t.name] = res;
          progress(progressLine(round, opts.rounds, t.name, s, res));
          if ((s.blobSize ?? 0) >= 100 * 1024 * 1024 && !s.big) {
            const peak = readMemory(t.pid)?.peakMiB;
            const m = (memory[t.name] ??= {});
            if (peak !== undefined) m.peakAfter100MiBMiB = Math.max(m.peakAfter100MiBMiB ?? 0, peak);
          }
        }
      }
      for (const s of scenarios) {
        const row = rowOf.get(s.id)!;
        row.ratio = roundRatio(s.unit, row);
        rows.get(s.id)!.push(row);
      }
    }
    for (const t of targets) (memory[t.name] ??= {}).peakAtEndMiB = readMemory(t.pid)?.peakMiB;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress('stopping servers...');
    await cleanup();
  }

  const reports = scenarios.map((s) => scenarioReport(s, rows.get(s.id)!));
  const labelOf = (name: TargetName): string | undefined => targets.find((t) => t.name === name)?.label;
  const report: BenchReport = {
    startedAt: new Date(started).toISOString(),
    durationS: Math.round((Date.now() - started) / 1000),
    machine: describeMachine(),
    options: { rounds: opts.rounds, quick: opts.quick, big: opts.big, only: opts.only, distributionCache: opts.distributionCache },
    targets: {
      berth: { label: labelOf('berth') ?? 'berth' },
      distribution: distBin
        ? { available: true, label: labelOf('distribution') ?? `Distribution ${distributionVersion(distBin) ?? ''}`.trim() }
        : { available: false, reason: distReason },
    },
    scenarios: reports,
    goals: {
      pass: reports.filter((s) => s.median.pass === true).map((s) => s.id),
      miss: reports.filter((s) => s.median.pass === false).map((s) => s.id),
    },
    memory,
    notes,
    errors,
  };
  if (opts.jsonFile !== undefined) await writeFile(opts.jsonFile, JSON.stringify(report, null, 2) + '\n');
  if (opts.format === 'json') process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else if (opts.format === 'markdown') process.stdout.write(renderMarkdown(report));
  else process.stdout.write(renderTable(report));
  return errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`registry-bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
