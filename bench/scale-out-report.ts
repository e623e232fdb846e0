import { isFigures, ms, num, pad, type Machine, type RoundResult } from './bench-report.js';
import type { ProbeReport } from './cost-probe.js';
import { median } from './load.js';
import type { DeploymentId } from './scale-out-deployments.js';
import type { RunFigures, Scenario } from './scenarios.js';
import { DEPLOYMENT_IDS } from './scale-out-deployments.js';

/** Names of the CPU meters the scale-out mode attaches (keys of RunFigures.otherCpuMsPerOp). */
export const PG_METER = 'postgres';
export const CEPH_METER = 'ceph';

export interface ScaleOutRoundRow {
  round: number;
  results: Partial<Record<DeploymentId, RoundResult>>;
  /** PostgreSQL + S3 (1 node) / embedded, on the scenario's unit. */
  sharedVsEmbedded?: number;
  /** 3 nodes / 1 node, both on PostgreSQL + S3. */
  threeVsOne?: number;
}

export interface ScaleOutSummary {
  mibPerSec: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** berth CPU per operation, all nodes of the deployment together. */
  berthCpuMsPerOp: number;
  /** PostgreSQL backends of the deployment's database. */
  pgCpuMsPerOp?: number;
  /** Ceph's monitor, OSD and radosgw (the whole S3 server). */
  cephCpuMsPerOp?: number;
  rounds: number;
}

export interface ScaleOutScenarioReport {
  id: string;
  title: string;
  group: Scenario['group'];
  unit: Scenario['unit'];
  concurrency: number;
  blobSize?: number;
  count: number;
  maxMs: number;
  rounds: ScaleOutRoundRow[];
  median: { results: Partial<Record<DeploymentId, ScaleOutSummary>>; sharedVsEmbedded?: number; threeVsOne?: number };
}

/** Pushed blobs checked after each push scenario: visible through berth on every node, bytes present in the bucket. */
export interface PushCheck {
  deployment: DeploymentId;
  pushed: number;
  /** HEAD answered 200 with the right size, each blob on the next node in turn. */
  visible: number;
  /** Objects found in the bucket with the right size (PostgreSQL + S3 deployments). */
  inBucket?: number;
  problems: string[];
}

export interface ScaleOutReport {
  mode: 'scale-out';
  startedAt: string;
  durationS: number;
  machine: Machine;
  options: { rounds: number; quick: boolean; only: string[]; spread: 'request' | 'operation' };
  berth: string;
  deployments: { id: DeploymentId; label: string; nodes: number }[];
  backends: { postgres: string; s3: { source: string; endpoint: string; bucket: string; prefix: string } };
  scenarios: ScaleOutScenarioReport[];
  probe?: ProbeReport;
  checks: PushCheck[];
  notes: string[];
  errors: string[];
}

function primary(unit: Scenario['unit'], f: RunFigures): number {
  return unit === 'MiB/s' ? f.mibPerSec : f.reqPerSec;
}

function ratio(unit: Scenario['unit'], a: RoundResult | undefined, b: RoundResult | undefined): number | undefined {
  if (!isFigures(a) || !isFigures(b)) return undefined;
  const d = primary(unit, b);
  return d > 0 ? primary(unit, a) / d : undefined;
}

/** Fills in a round's ratios from its results. */
export function withRatios(unit: Scenario['unit'], row: ScaleOutRoundRow): ScaleOutRoundRow {
  return {
    ...row,
    sharedVsEmbedded: ratio(unit, row.results['pg-s3-1'], row.results.embedded),
    threeVsOne: ratio(unit, row.results['pg-s3-3'], row.results['pg-s3-1']),
  };
}

function medianOf(values: (number | undefined)[]): number | undefined {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length > 0 ? median(v) : undefined;
}

function summarize(results: (RoundResult | undefined)[]): ScaleOutSummary | undefined {
  const ok = results.filter(isFigures);
  if (ok.length === 0) return undefined;
  return {
    mibPerSec: median(ok.map((f) => f.mibPerSec)),
    reqPerSec: median(ok.map((f) => f.reqPerSec)),
    p50Ms: median(ok.map((f) => f.p50Ms)),
    p99Ms: median(ok.map((f) => f.p99Ms)),
    berthCpuMsPerOp: median(ok.map((f) => f.serverCpuMsPerOp)),
    pgCpuMsPerOp: medianOf(ok.map((f) => f.otherCpuMsPerOp?.[PG_METER])),
    cephCpuMsPerOp: medianOf(ok.map((f) => f.otherCpuMsPerOp?.[CEPH_METER])),
    rounds: ok.length,
  };
}

/** Medians across rounds; each ratio is the median of the per-round ratios. */
export function scaleOutScenarioReport(s: Scenario, rounds: ScaleOutRoundRow[]): ScaleOutScenarioReport {
  const results: Partial<Record<DeploymentId, ScaleOutSummary>> = {};
  for (const id of DEPLOYMENT_IDS) {
    const sum = summarize(rounds.map((r) => r.results[id]));
    if (sum) results[id] = sum;
  }
  return {
    id: s.id,
    title: s.title,
    group: s.group,
    unit: s.unit,
    concurrency: s.concurrency,
    blobSize: s.blobSize,
    count: s.count,
    maxMs: s.maxMs,
    rounds,
    median: {
      results,
      sharedVsEmbedded: medianOf(rounds.map((r) => r.sharedVsEmbedded)),
      threeVsOne: medianOf(rounds.map((r) => r.threeVsOne)),
    },
  };
}

// ---------------------------------------------------------------- rendering

const COLUMN: Record<DeploymentId, string> = { embedded: 'embedded', 'pg-s3-1': 'PG+S3 1 node', 'pg-s3-3': 'PG+S3 3 nodes' };

function rate(s: ScaleOutScenarioReport, id: DeploymentId): string {
  const m = s.median.results[id];
  if (!m) return '-';
  return `${num(s.unit === 'MiB/s' ? m.mibPerSec : m.reqPerSec)} ${s.unit}`;
}

function x(r: number | undefined): string {
  return r === undefined ? '-' : `${r.toFixed(2)}x`;
}

function triple(s: ScaleOutScenarioReport, ids: readonly DeploymentId[], pick: (m: ScaleOutSummary) => number | undefined): string {
  return ids.map((id) => ms(s.median.results[id] ? pick(s.median.results[id]) : undefined)).join(' / ');
}

function perRound(s: ScaleOutScenarioReport): string {
  return s.rounds.length > 1 ? s.rounds.map((r) => (r.threeVsOne === undefined ? '-' : r.threeVsOne.toFixed(2))).join(' ') : '';
}

function headline(r: ScaleOutReport): string[] {
  const m = r.machine;
  const rounds = r.options.rounds === 1 ? '1 round' : `median of ${r.options.rounds} rounds`;
  const spread =
    r.options.spread === 'request'
      ? 'the client sends each request to the next node (as a round-robin HTTP load balancer does)'
      : 'the client sends each operation (all requests of a push) to the next node (as a layer-4 balancer does per connection)';
  return [
    `${r.berth} scale-out: embedded vs PostgreSQL + S3 with 1 and 3 nodes, ${rounds}${r.options.quick ? ' (--quick)' : ''}`,
    `machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB RAM, ${m.os}, Linux ${m.kernel}, Node ${m.node}`,
    `PostgreSQL: ${r.backends.postgres}; S3: ${r.backends.s3.source}, bucket ${r.backends.s3.bucket}, prefix ${r.backends.s3.prefix}`,
    `3 nodes: ${spread}`,
  ];
}

function costRows(r: ScaleOutReport): string[][] {
  const shared: DeploymentId[] = ['pg-s3-1', 'pg-s3-3'];
  return r.scenarios.map((s) => [
    s.title,
    triple(s, DEPLOYMENT_IDS, (m) => m.p50Ms),
    triple(s, DEPLOYMENT_IDS, (m) => m.p99Ms),
    triple(s, DEPLOYMENT_IDS, (m) => m.berthCpuMsPerOp),
    triple(s, shared, (m) => m.pgCpuMsPerOp),
    triple(s, shared, (m) => m.cephCpuMsPerOp),
  ]);
}

const COST_HEAD = ['scenario', 'p50 ms (emb / 1 / 3)', 'p99 ms (emb / 1 / 3)', 'berth CPU ms/op (emb / 1 / 3)', 'PostgreSQL CPU ms/op (1 / 3)', 'Ceph CPU ms/op (1 / 3)'];

/** Short names for the table (the JSON keeps the S3 API's names). */
const SHORT: Record<string, string> = {
  HeadObject: 'Head',
  GetObject: 'Get',
  PutObject: 'Put',
  CopyObject: 'Copy',
  ListObjectsV2: 'List',
  DeleteObject: 'Delete',
  DeleteObjects: 'DeleteMany',
  UploadPart: 'Part',
  UploadPartCopy: 'PartCopy',
  CreateMultipartUpload: 'MultipartCreate',
  CompleteMultipartUpload: 'MultipartComplete',
  AbortMultipartUpload: 'MultipartAbort',
};

function breakdown(c: ProbeReport['cases'][number]): string {
  return Object.entries(c.s3PerOp)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => `${SHORT[k] ?? k} ${Number.isInteger(v) ? v : v.toFixed(1)}`)
    .join(', ');
}

function probeRows(p: ProbeReport): string[][] {
  return p.cases.map((c) => [
    c.title,
    num(c.pgPerOp.roundTrips),
    num(c.pgPerOp.transactions),
    num(c.s3TotalPerOp),
    breakdown(c) || '-',
  ]);
}

const PROBE_HEAD = ['operation', 'PG round trips/op', 'PG transactions/op', 'S3 requests/op', 'S3 requests by kind'];

function probeNote(p: ProbeReport): string {
  return `cost probe: ${p.nodes} extra nodes through counting proxies; idle background ${num(p.idle.pgRoundTripsPerSecondPerNode, 2)} PostgreSQL round trips/s per node (job queue polls), subtracted`;
}

function checkLines(r: ScaleOutReport): string[] {
  const by = new Map<DeploymentId, { pushed: number; visible: number; inBucket?: number; problems: string[] }>();
  for (const c of r.checks) {
    const t = by.get(c.deployment) ?? { pushed: 0, visible: 0, problems: [] };
    t.pushed += c.pushed;
    t.visible += c.visible;
    if (c.inBucket !== undefined) t.inBucket = (t.inBucket ?? 0) + c.inBucket;
    t.problems.push(...c.problems);
    by.set(c.deployment, t);
  }
  return [...by].map(
    ([id, t]) =>
      `${COLUMN[id]}: ${t.visible} of ${t.pushed} pushed blobs answered HEAD with their size${t.inBucket !== undefined ? `, ${t.inBucket} of ${t.pushed} found in the bucket with their size` : ''}${t.problems.length > 0 ? `; problems: ${t.problems.slice(0, 5).join('; ')}` : ''}`,
  );
}

/** The terminal tables. */
export function renderScaleOutTable(r: ScaleOutReport): string {
  const out = [...headline(r), ...r.notes.map((n) => `note: ${n}`), ''];
  const head = ['scenario', ...DEPLOYMENT_IDS.map((id) => COLUMN[id]), 'PG+S3/embedded', '3/1 nodes', '3/1 per round'];
  out.push(...pad([head, ...r.scenarios.map((s) => [s.title, ...DEPLOYMENT_IDS.map((id) => rate(s, id)), x(s.median.sharedVsEmbedded), x(s.median.threeVsOne), perRound(s)])]));
  out.push('', 'per-operation costs (medians; CPU is user + system from /proc, summed over the processes of each kind):');
  out.push(...pad([COST_HEAD, ...costRows(r)]));
  if (r.probe) {
    out.push('', probeNote(r.probe) + ':');
    out.push(...pad([PROBE_HEAD, ...probeRows(r.probe)]), ...r.probe.notes.map((n) => `note: ${n}`));
  }
  const checks = checkLines(r);
  if (checks.length > 0) out.push('', 'checks after each push scenario:', ...checks.map((c) => `  ${c}`));
  if (r.errors.length > 0) out.push('', 'errors:', ...r.errors.map((e) => `  ${e}`));
  return out.join('\n') + '\n';
}

/** A GitHub table: numbers right-aligned, the first column (and the last when `textLast`) left-aligned. */
function mdTable(head: string[], rows: string[][], textLast = false): string[] {
  const align = head.map((_, i) => (i === 0 || (textLast && i === head.length - 1) ? ' --- ' : ' ---: '));
  return [`| ${head.join(' | ')} |`, `|${align.join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

/** The same as GitHub markdown, for the README. */
export function renderScaleOutMarkdown(r: ScaleOutReport): string {
  const lines = [...headline(r).map((l) => `${l}  `), ...r.notes.map((n) => `${n}  `), ''];
  const head = ['Scenario', ...DEPLOYMENT_IDS.map((id) => COLUMN[id]), 'PG+S3 / embedded', '3 / 1 nodes'];
  lines.push(...mdTable(head, r.scenarios.map((s) => [s.title, ...DEPLOYMENT_IDS.map((id) => rate(s, id)), x(s.median.sharedVsEmbedded), x(s.median.threeVsOne)])));
  lines.push('', ...mdTable(COST_HEAD.map((h, i) => (i === 0 ? 'Scenario' : h)), costRows(r)));
  if (r.probe) {
    lines.push('', `${probeNote(r.probe)}:`, '', ...mdTable(PROBE_HEAD.map((h, i) => (i === 0 ? 'Operation' : h)), probeRows(r.probe), true));
    lines.push('', ...r.probe.notes.map((n) => `- ${n}`));
  }
  const checks = checkLines(r);
  if (checks.length > 0) lines.push('', ...checks.map((c) => `- ${c}`));
  if (r.errors.length > 0) lines.push('', '**Errors:**', ...r.errors.map((e) => `- ${e}`));
  return lines.join('\n') + '\n';
}
