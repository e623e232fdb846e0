import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderScanTable, summarizeImage, type ScanImageReport, type ScanRound } from './scan-report.js';

const run = (scanMs: number, maxRssMiB: number, wallMs = scanMs + 100) => ({ scanMs, inventoryMs: scanMs - 10, matchMs: 10, maxRssMiB, cpuMs: scanMs, wallMs });

function image(rounds: ScanRound[], goal?: ScanImageReport['goal']): ScanImageReport {
  return summarizeImage({ id: 'img', title: 'an image', layers: 2, compressedMiB: 1, tarMiB: 2, entries: 3, goal, rounds });
}

test('ratios are medians of the per-round ratios; peak RSS is the highest of the rounds', () => {
  const r = image([
    { round: 1, berth: run(2000, 100), walk: run(1000, 100), native: { wallMs: 700 } },
    { round: 2, berth: run(3000, 150), walk: run(1000, 50), native: { wallMs: 1550 } },
    { round: 3, berth: run(2600, 120), walk: run(2000, 120), native: { wallMs: 900 } },
  ]);
  // time: 2, 3, 1.3 -> 2; RSS: 1, 3, 1 -> 1; wall: 2100/700 = 3, 3100/1550 = 2, 2700/900 = 3 -> 3
  assert.equal(r.median.ratio.timeVsWalk, 2);
  assert.equal(r.median.ratio.rssVsWalk, 1);
  assert.equal(r.median.ratio.wallVsNative, 3);
  assert.equal(r.median.berth?.scanMs, 2600);
  assert.equal(r.median.berth?.maxRssMiB, 150);
  assert.equal(r.median.walk?.maxRssMiB, 120);
  assert.equal(r.median.native?.wallMs, 900);
  assert.equal(r.median.pass, undefined, 'no goal, no verdict');
});

test('the goal needs both the median time and the highest RSS under it; failed runs are left out', () => {
  const goal = { maxMs: 3000, maxRssMiB: 300 };
  const rounds: ScanRound[] = [
    { round: 1, berth: run(2000, 100) },
    { round: 2, berth: { error: 'boom' } },
    { round: 3, berth: run(2500, 280) },
  ];
  const passed = image(rounds, goal);
  assert.equal(passed.median.pass, true);
  assert.equal(passed.median.berth?.scanMs, 2250);
  assert.equal(passed.median.ratio.timeVsWalk, undefined);
  assert.equal(image([...rounds, { round: 4, berth: run(1000, 301) }], goal).median.pass, false);
  assert.equal(image([{ round: 1, berth: run(3000, 10) }], goal).median.pass, false);
});

test('the table shows the verdict and every round, errors included', () => {
  const img = image([{ round: 1, berth: run(2000, 100), walk: { error: 'walk failed' } }], { maxMs: 3000, maxRssMiB: 300 });
  const text = renderScanTable({
    startedAt: '2025-01-01T00:00:00.000Z',
    durationS: 1,
    machine: { cpus: 2, cpuModel: 'cpu', memoryGiB: 1, os: 'os', kernel: 'k', node: 'v20' },
    loadAverage: { start: [1, 2, 3], end: [0.5, 1, 2] },
    options: { rounds: 1 },
    advisoryDb: { records: 3, source: 'x' },
    images: [img],
    notes: [],
    errors: ['round 1, img, walk: walk failed'],
  });
  assert.match(text, /an image\s+2\.00 s .* pass$/m);
  assert.match(text, /round 1: berth 2\.00 s 100 MiB, walk error: walk failed, gzip\|tar -/);
  assert.match(text, /load average \(1\/5\/15 min\): 1\.00 2\.00 3\.00 at the start, 0\.50 1\.00 2\.00 at the end/);
});
