import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { UsageReport } from '../client/management-client.js';
import { describeQuota, renderUsage } from './usage.js';

const GiB = 2 ** 30;

test('describeQuota says "used X of Y" for each limit set, nothing without a quota', () => {
  const used = { bytes: 1.5 * GiB, tags: 12 };
  assert.equal(describeQuota(used, { bytes: 10 * GiB, tags: 100 }), 'used 1.5 GiB of 10.0 GiB, 12 of 100 tags');
  assert.equal(describeQuota(used, { bytes: 10 * GiB, tags: null }), 'used 1.5 GiB of 10.0 GiB');
  assert.equal(describeQuota(used, { bytes: null, tags: 100 }), 'used 12 of 100 tags');
  assert.equal(describeQuota(used, null), '');
});

test('renderUsage: a project line with its quota, its repositories indented beneath', () => {
  const report: UsageReport = {
    projects: [
      {
        project: 'team',
        bytes: 1.5 * GiB,
        blobs: 30,
        tags: 12,
        manifests: 10,
        quota: { bytes: 10 * GiB, tags: null },
        repositories: [
          { repository: 'team/app', bytes: GiB, blobs: 20, tags: 8, manifests: 6 },
          { repository: 'team/web', bytes: 0.75 * GiB, blobs: 12, tags: 4, manifests: 4 },
        ],
      },
    ],
  };
  // Widths: first column 20 ("PROJECT / REPOSITORY"), SIZE 9 ("768.0 MiB"), BLOBS 5, MANIFESTS 9, TAGS 4.
  const sp = (n: number) => ' '.repeat(n);
  assert.equal(
    renderUsage(report),
    [
      'PROJECT / REPOSITORY' + sp(2) + sp(5) + 'SIZE' + sp(2) + 'BLOBS' + sp(2) + 'MANIFESTS' + sp(2) + 'TAGS' + sp(2) + 'QUOTA',
      'team' + sp(16) + sp(2) + sp(2) + '1.5 GiB' + sp(2) + sp(3) + '30' + sp(2) + sp(7) + '10' + sp(2) + sp(2) + '12' + sp(2) + 'used 1.5 GiB of 10.0 GiB',
      '  team/app' + sp(10) + sp(2) + sp(2) + '1.0 GiB' + sp(2) + sp(3) + '20' + sp(2) + sp(8) + '6' + sp(2) + sp(3) + '8',
      '  team/web' + sp(10) + sp(2) + '768.0 MiB' + sp(2) + sp(3) + '12' + sp(2) + sp(8) + '4' + sp(2) + sp(3) + '4',
      '',
    ].join('\n'),
  );
  assert.equal(renderUsage({ projects: [] }), 'nothing stored yet\n');
});
