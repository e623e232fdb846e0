import { cpus, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { median } from './load.js';
import type { RunFigures, Scenario } from './scenarios.js';

export type TargetName = 'berth' | 'distribution';

/** One target's result in one round: figures, or why it failed. */
export type RoundResult = RunFigures | { error: string };

export interface RoundRow {
  round: number;
  berth?: RoundResult;
  distribution?: RoundResult;
  /** berth / Distribution on the scenario's unit, when both succeeded. */
  ratio?: number;
}

export interface Summary {
  mibPerSec: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Highest RSS sample seen during any round of the scenario. */
  maxRssMiB: number;
  serverCpuMsPerOp: number;
  rounds: number;
}

export interface ScenarioReport {
  id: string;
  title: string;
  group: Scenario['group'];
  unit: Scenario['unit'];
  concurrency: number;
  blobSize?: number;
  count: number;
  maxMs: number;
  /** berth / Distribution goal on `unit`. */
  goal: number;
  rounds: RoundRow[];
  median: { berth?: Summary; distribution?: Summary; ratio?: number; pass?: boolean };
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  kernel: string;
  node: string;
}

export interface BenchReport {
  startedAt: string;
  durationS: number;
  machine: Machine;
  options: { rounds: number; quick: boolean; big: boolean; only: string[]; distributionCache: boolean };
  targets: { berth: { label: string }; distribution: { label?: string; available: boolean; reason?: string } };
  scenarios: ScenarioReport[];
  /** Scenario ids by verdict on the median ratio (empty without Distribution). */
  goals: { pass: string[]; miss: string[] };
  /** Peak RSS (VmHWM) of each server after the 100 MiB scenarios, MiB. */
  memory: Partial<Record<TargetName, { peakAfter100MiBMiB?: number; peakAtEndMiB?: number }>>;
  notes: string[];
  errors: string[];
}

export function isFigures(r: RoundResult | undefined): r is RunFigures {
  return r !== undefined && !('error' in r);
}

export function describeMachine(): Machine {
  let os = 'unknown';
  try {
    const rel = readFileSync('/etc/os-release', 'utf8');
    os = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(rel)?.[1] ?? os;
    const deb = readFileSync('/etc/debian_version', 'utf8').trim();
    if (deb) os += ` (${deb})`;
  } catch {
    /* not Debian, or no /etc/os-release */
  }
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os,
    kernel: release(),
    node: process.version,
  };
}

function primary(unit: Scenario['unit'], f: RunFigures): number {
  return unit === 'MiB/s' ? f.mibPerSec : f.reqPerSec;
}

/** Per-round ratio for a row (both targets succeeded), else undefined. */
export function roundRatio(unit: Scenario['unit'], row: RoundRow): number | undefined {
  if (!isFigures(row.berth) || !isFigures(row.distribution)) return undefined;
  const d = primary(unit, row.distribution);
  return d > 0 ? primary(unit, row.berth) / d : undefined;
}

function summarize(results: (RoundResult | undefined)[]): Summary | undefined {
  const ok = results.filter(isFigures);
  if (ok.length === 0) return undefined;
  return {
    mibPerSec: median(ok.map((f) => f.mibPerSec)),
    reqPerSec: median(ok.map((f) => f.reqPerSec)),
    p50Ms: median(ok.map((f) => f.p50Ms)),
    p99Ms: median(ok.map((f) => f.p99Ms)),
    maxRssMiB: Math.max(...ok.map((f) => f.rss.maxMiB).filter(Number.isFinite)),
    serverCpuMsPerOp: median(ok.map((f) => f.serverCpuMsPerOp)),
    rounds: ok.length,
  };
}

/** Medians across rounds; the ratio is the median of the per-round ratios. */
export function scenarioReport(s: Scenario, rounds: RoundRow[]): ScenarioReport {
  const ratios = rounds.map((r) => r.ratio).filter((x): x is number => x !== undefined);
  const ratio = ratios.length > 0 ? median(ratios) : undefined;
  return {
    id: s.id,
    title: s.title,
    group: s.group,
    unit: s.unit,
    concurrency: s.concurrency,
    blobSize: s.blobSize,
    count: s.count,
    maxMs: s.maxMs,
    goal: s.goal,
    rounds,
    median: {
      berth: summarize(rounds.map((r) => r.berth)),
      distribution: summarize(rounds.map((r) => r.distribution)),
      ratio,
      pass: ratio === undefined ? undefined : ratio >= s.goal,
    },
  };
}

// ---------------------------------------------------------------- rendering

export function num(x: number | undefined, digits = 1): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(digits);
}

export function ms(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  return x >= 100 ? `${Math.round(x)}` : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function rate(unit: Scenario['unit'], s: Summary | undefined): string {
  if (!s) return '-';
  return `${num(unit === 'MiB/s' ? s.mibPerSec : s.reqPerSec)} ${unit}`;
}

function verdict(s: ScenarioReport): string {
  if (s.median.pass === undefined) return '';
  return s.median.pass ? 'pass' : 'MISS';
}

function ratioText(s: ScenarioReport): string {
  return s.median.ratio === undefined ? '-' : `${s.median.ratio.toFixed(2)}x`;
}

function perRound(s: ScenarioReport): string {
  const r = s.rounds.map((x) => (x.ratio === undefined ? '-' : x.ratio.toFixed(2)));
  return r.length > 1 ? r.join(' ') : '';
}

function rowCells(s: ScenarioReport, withDist: boolean): string[] {
  const b = s.median.berth;
  const d = s.median.distribution;
  const cells = [s.title, rate(s.unit, b), ms(b?.p50Ms), ms(b?.p99Ms), ms(b?.serverCpuMsPerOp)];
  if (withDist) {
    cells.push(rate(s.unit, d), ms(d?.p50Ms), ms(d?.p99Ms), ms(d?.serverCpuMsPerOp), ratioText(s), `>= ${s.goal}x`, verdict(s), perRound(s));
  }
  return cells;
}

function headline(r: BenchReport): string[] {
  const m = r.machine;
  const vs = r.targets.distribution.available ? ` vs ${r.targets.distribution.label}` : ' alone';
  const rounds = r.options.rounds === 1 ? '1 round' : `median of ${r.options.rounds} rounds`;
  return [
    `${r.targets.berth.label}${vs}, ${rounds}${r.options.quick ? ' (--quick)' : ''}`,
    `machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB RAM, ${m.os}, Linux ${m.kernel}, Node ${m.node}`,
  ];
}

function memoryLines(r: BenchReport): string[] {
  const lines: string[] = [];
  const fmt = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : `${Math.round(x)} MiB`);
  for (const t of ['berth', 'distribution'] as const) {
    const m = r.memory[t];
    if (!m) continue;
    const name = t === 'berth' ? r.targets.berth.label : (r.targets.distribution.label ?? t);
    const after = m.peakAfter100MiBMiB !== undefined ? `${fmt(m.peakAfter100MiBMiB)} after the 100 MiB scenarios, ` : '';
    lines.push(`peak RSS (VmHWM) of ${name}: ${after}${fmt(m.peakAtEndMiB)} at the end`);
  }
  for (const s of r.scenarios.filter((x) => (x.blobSize ?? 0) >= 100 * 1024 * 1024)) {
    const parts: string[] = [];
    for (const t of ['berth', 'distribution'] as const) {
      const runs = s.rounds.map((x) => x[t]).filter(isFigures);
      if (runs.length === 0) continue;
      const start = Math.min(...runs.map((f) => f.rss.startMiB));
      const max = Math.max(...runs.map((f) => f.rss.maxMiB));
      parts.push(`${t} ${fmt(start)} -> max ${fmt(max)}`);
    }
    if (parts.length > 0) lines.push(`RSS during ${s.title}: ${parts.join('; ')}`);
  }
  return lines;
}

export function pad(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((row) =>
    row
      .map((c, i) => (i === 0 || i === row.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** The terminal table. */
export function renderTable(r: BenchReport): string {
  const withDist = r.targets.distribution.available;
  const head = withDist
    ? ['scenario', 'berth', 'p50 ms', 'p99 ms', 'cpu ms/op', 'Distribution', 'p50 ms', 'p99 ms', 'cpu ms/op', 'ratio', 'goal', '', 'per round']
    : ['scenario', 'berth', 'p50 ms', 'p99 ms', 'cpu ms/op'];
  const out = [...headline(r), ...r.notes.map((n) => `note: ${n}`), 'cpu ms/op: server CPU time per operation (user + system, from /proc)', ''];
  out.push(...pad([head, ...r.scenarios.map((s) => rowCells(s, withDist))]));
  const mem = memoryLines(r);
  if (mem.length > 0) out.push('', ...mem);
  if (r.errors.length > 0) out.push('', 'errors:', ...r.errors.map((e) => `  ${e}`));
  return out.join('\n') + '\n';
}

/** The same table as GitHub markdown, for the README's performance section. */
export function renderMarkdown(r: BenchReport): string {
  const withDist = r.targets.distribution.available;
  const head = withDist
    ? ['Scenario', 'berth', 'p50 / p99 ms', 'Distribution', 'p50 / p99 ms', 'berth / Distribution', 'Goal']
    : ['Scenario', 'berth', 'p50 / p99 ms'];
  const lines = [...headline(r).map((l) => `${l}  `), ...r.notes.map((n) => `${n}  `), ''];
  lines.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
  for (const s of r.scenarios) {
    const b = s.median.berth;
    const d = s.median.distribution;
    const cells = [s.title, rate(s.unit, b), `${ms(b?.p50Ms)} / ${ms(b?.p99Ms)}`];
    if (withDist) {
      const v = verdict(s);
      cells.push(rate(s.unit, d), `${ms(d?.p50Ms)} / ${ms(d?.p99Ms)}`, `${ratioText(s)}${v === 'MISS' ? ' (miss)' : ''}`, `>= ${s.goal}x`);
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const mem = memoryLines(r);
  if (mem.length > 0) lines.push('', ...mem.map((m) => `- ${m}`));
  if (r.errors.length > 0) lines.push('', '**Errors:**', ...r.errors.map((e) => `- ${e}`));
  return lines.join('\n') + '\n';
}

/** One progress line (stderr, terminals only). */
export function progressLine(round: number, rounds: number, target: string, s: Scenario, res: RoundResult): string {
  const where = `[${round}/${rounds}] ${target.padEnd(12)} ${s.title.padEnd(26)}`;
  if (!isFigures(res)) return `${where} error: ${res.error}`;
  const main = s.unit === 'MiB/s' ? `${num(res.mibPerSec)} MiB/s` : `${num(res.reqPerSec)} req/s`;
  const cpu = `server cpu ${ms(res.serverCpuMsPerOp)} ms/op, client ${res.cpu.clientS.toFixed(1)} s`;
  return `${where} ${main.padStart(14)}  p50 ${ms(res.p50Ms)} ms  p99 ${ms(res.p99Ms)} ms  (${res.ops} ops, ${(res.elapsedMs / 1000).toFixed(1)} s, ${cpu}, RSS max ${Math.round(res.rss.maxMiB)} MiB)`;
}
