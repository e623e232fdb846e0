import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GcReport } from '../client/management-client.js';
import { renderGcReport } from './gc.js';

const report: GcReport = {
  dryRun: true,
  graceSeconds: 3600,
  startedAt: '2026-11-27T10:00:00.000Z',
  durationMs: 42,
  referrersDeleted: 1,
  linksRemoved: 3,
  blobsDeleted: 12,
  bytesReclaimed: 3 * 2 ** 20 + 2 ** 19,
  orphanObjectsDeleted: 0,
  uploadsReaped: 2,
};

test('a dry run says what would be reclaimed and that nothing was deleted', () => {
  const text = renderGcReport(report);
  assert.match(text, /^would reclaim 12 blobs \(3\.5 MiB\)\n/);
  assert.match(text, /would also remove 3 repository blob links, 1 referrer, 0 orphan storage objects, 2 abandoned uploads/);
  assert.match(text, /nothing was deleted/);
});

test('a real run says what was reclaimed', () => {
  const text = renderGcReport({ ...report, dryRun: false, blobsDeleted: 1, bytesReclaimed: 512 });
  assert.match(text, /^reclaimed 1 blob \(512 B\)\nremoved 3 repository blob links/);
  assert.doesNotMatch(text, /would|nothing was deleted/);
});
