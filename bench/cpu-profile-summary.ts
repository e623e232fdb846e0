/**
 * Summarises a V8 .cpuprofile (as written by `npm run bench -- --cpu-prof DIR`):
 * where the server's CPU time went, by function (self and inclusive) and by file.
 *
 *   node dist/bench/cpu-profile-summary.js DIR/CPU.*.cpuprofile [--top 25] [--filter src/]
 */
import { Command, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface Totals {
  self: number;
  inclusive: number;
}

/** "function (file:line)", with the repository prefix cut from file URLs. */
function frameKey(f: CallFrame): string {
  const name = f.functionName || '(anonymous)';
  if (!f.url) return name;
  const file = f.url.replace(/^file:\/\//, '').replace(/^.*?\/(dist|\.build-[^/]+)\//, '');
  return `${name} (${file}:${f.lineNumber + 1})`;
}

function fileKey(f: CallFrame): string {
  if (!f.url) return f.functionName.startsWith('(') ? f.functionName : '(native)';
  return f.url.replace(/^file:\/\//, '').replace(/^.*?\/(dist|\.build-[^/]+)\//, '').replace(/^.*\/node_modules\//, 'node_modules/');
}

export function summarise(profile: CpuProfile): { totalMs: number; byFunction: Map<string, Totals>; byFile: Map<string, Totals> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byFunction = new Map<string, Totals>();
  const byFile = new Map<string, Totals>();
  const add = (map: Map<string, Totals>, key: string, ms: number, self: boolean, seen: Set<string>): void => {
    let t = map.get(key);
    if (!t) map.set(key, (t = { self: 0, inclusive: 0 }));
    if (self) t.self += ms;
    // Inclusive once per sample, however often a function recurses on the stack.
    if (!seen.has(key)) {
      seen.add(key);
      t.inclusive += ms;
    }
  };
  let totalMs = 0;
  profile.samples.forEach((leaf, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += ms;
    const seenF = new Set<string>();
    const seenFile = new Set<string>();
    let id: number | undefined = leaf;
    let self = true;
    for (let depth = 0; id !== undefined && depth < 10_000; depth++) {
      const node = byId.get(id);
      if (!node) break;
      add(byFunction, frameKey(node.callFrame), ms, self, seenF);
      add(byFile, fileKey(node.callFrame), ms, self, seenFile);
      self = false;
      id = parent.get(id);
    }
  });
  return { totalMs, byFunction, byFile };
}

function table(map: Map<string, Totals>, totalMs: number, top: number, by: 'self' | 'inclusive', filter?: string): string[] {
  const pct = (x: number): string => `${((100 * x) / totalMs).toFixed(1).padStart(5)}%`;
  return [...map.entries()]
    .filter(([k]) => filter === undefined || k.includes(filter))
    .sort((a, b) => b[1][by] - a[1][by])
    .slice(0, top)
    .map(([k, t]) => `${pct(t.self)} self ${pct(t.inclusive)} incl  ${k}`);
}

function main(): void {
  const program = new Command()
    .name('cpu-profile-summary')
    .argument('<profile>', '.cpuprofile file')
    .option('--top <n>', 'rows per table', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive whole number');
      return n;
    }, 25)
    .option('--filter <text>', 'only functions/files whose name contains text (e.g. src/)')
    .parse(process.argv);
  const { top, filter } = program.opts<{ top: number; filter?: string }>();
  const profile = JSON.parse(readFileSync(program.args[0]!, 'utf8')) as CpuProfile;
  const { totalMs, byFunction, byFile } = summarise(profile);
  const idle = byFunction.get('(idle)')?.self ?? 0;
  const out = [
    `profile: ${(totalMs / 1000).toFixed(1)} s sampled, ${(idle / 1000).toFixed(1)} s idle, ${((totalMs - idle) / 1000).toFixed(1)} s busy`,
    '',
    'by function, self time:',
    ...table(byFunction, totalMs, top, 'self', filter),
    '',
    'by function, inclusive time:',
    ...table(byFunction, totalMs, top, 'inclusive', filter),
    '',
    'by file, self time:',
    ...table(byFile, totalMs, top, 'self', filter),
  ];
  process.stdout.write(out.join('\n') + '\n');
}

main();
