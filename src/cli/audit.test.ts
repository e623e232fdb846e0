import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEntry, AuditLog, AuditQuery } from '../client/management-client.js';
import { MAX_PAGES, allPages, renderAudit } from './audit.js';

const entry = (id: number): AuditEntry => ({
  id,
  at: `2026-11-27T10:00:${String(id).padStart(2, '0')}.000Z`,
  actor: 'admin',
  action: 'manifest.push',
  target: `team/app:v${id}`,
  detail: null,
  address: '127.0.0.1',
  outcome: 'ok',
  project: 'team',
});

/** A log of ids 1..n served newest first, `limit` per page, with `next` as docs/management-api.md says. */
function fakeLog(n: number) {
  const asked: AuditQuery[] = [];
  return {
    asked,
    async audit(q: AuditQuery = {}): Promise<AuditLog> {
      asked.push(q);
      const limit = q.limit ?? 2;
      const older = Array.from({ length: n }, (_, i) => n - i).filter((id) => q.before === undefined || id < Number(q.before));
      const page = older.slice(0, limit).map(entry);
      return { entries: page, next: page.length === limit ? page[page.length - 1]!.id : null };
    },
  };
}

test('allPages follows next (as before) until the server answers null, keeping the query', async () => {
  const log = fakeLog(5);
  const all = await allPages(log, { limit: 2, project: 'team', since: '2026-11-27T00:00:00.000Z' });
  assert.deepEqual(all.entries.map((e) => e.id), [5, 4, 3, 2, 1]);
  assert.equal(all.next, null);
  assert.deepEqual(log.asked.map((q) => q.before), [undefined, 4, 2], 'next is the id of the last entry of a page');
  assert.ok(log.asked.every((q) => q.project === 'team' && q.limit === 2 && q.since === '2026-11-27T00:00:00.000Z'));
});

test('allPages starts at --before and stops on an empty page', async () => {
  const log = fakeLog(4);
  const all = await allPages(log, { limit: 2, before: 4 });
  assert.deepEqual(all.entries.map((e) => e.id), [3, 2, 1]);
});

test('allPages stops on a server that repeats its next link, or after MAX_PAGES', async () => {
  let calls = 0;
  const stuck = { audit: async (): Promise<AuditLog> => (calls++, { entries: [entry(1)], next: 1 }) };
  const all = await allPages(stuck, {});
  assert.equal(calls, 2, 'the second page repeated next=1');
  assert.equal(all.entries.length, 2);
  calls = 0;
  const endless = { audit: async (): Promise<AuditLog> => (calls++, { entries: [entry(1)], next: calls }) };
  await allPages(endless, {});
  assert.equal(calls, MAX_PAGES);
});

test('renderAudit: who, what, target, outcome and address; older servers without them show -', () => {
  const out = renderAudit({ entries: [entry(7), { id: 1, at: '2026-11-27T09:00:00.000Z', actor: null, action: 'gc.run', target: null, detail: { dryRun: true } }] });
  const lines = out.split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  // Cells are at least two spaces apart (renderTable's own layout is tested in output.test.ts).
  assert.deepEqual(
    lines.map((l) => l.split(/ {2,}/)),
    [
      ['AT', 'ACTOR', 'ACTION', 'TARGET', 'OUTCOME', 'ADDRESS', 'DETAIL'],
      ['2026-11-27T10:00:07.000Z', 'admin', 'manifest.push', 'team/app:v7', 'ok', '127.0.0.1'],
      ['2026-11-27T09:00:00.000Z', '-', 'gc.run', '-', '-', '-', '{"dryRun":true}'],
    ],
  );
  const column = (l: string, text: string) => l.indexOf(text);
  assert.equal(column(lines[1]!, 'team/app'), column(lines[0]!, 'TARGET'), 'aligned under its header');
  assert.equal(renderAudit({ entries: [] }), 'no audit entries\n');
});
