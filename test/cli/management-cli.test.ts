/**
 * The management commands (lifecycle, immutability, quota, usage, gc, audit) as a user runs them:
 * the compiled CLI as a child process, against the built server (docs/management-api.md).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BERTH_BIN, startServer, type TestServer } from '../helpers/server.js';
import { makeImage, pushImage, randomBlob, type Image } from '../helpers/oci.js';

function berth(args: string[], env: Record<string, string> = {}) {
  // BERTH_SERVER of the developer's shell must not leak into the tests.
  const { BERTH_SERVER: _ignored, ...inherited } = process.env;
  const r = spawnSync(process.execPath, [BERTH_BIN, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...inherited, ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Runs a command that must succeed and print one JSON document. */
function berthJson<T>(args: string[]): T {
  const r = berth([...args, '--format', 'json']);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.err}`);
  return JSON.parse(r.out) as T;
}

/** A loopback URL nothing listens on: a port that was free a moment ago. */
async function closedUrl(): Promise<string> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as AddressInfo).port;
  probe.close();
  await once(probe, 'close');
  return `http://127.0.0.1:${port}`;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-mgmt-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

// An Amazon ECR lifecycle policy: keep the newest image tagged v*, expire the older ones.
// Shape per https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
const KEEP_NEWEST_V = {
  rules: [
    {
      rulePriority: 1,
      description: 'keep the newest v* image',
      selection: { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 1 },
      action: { type: 'expire' },
    },
  ],
};

describe('management commands without a server', () => {
  test('berth --help lists the management commands', () => {
    const r = berth(['--help']);
    assert.equal(r.code, 0, r.err);
    for (const c of ['lifecycle', 'immutability', 'quota', 'usage', 'gc', 'audit']) assert.match(r.out, new RegExp(`\\b${c}\\b`));
  });

  test('an unreachable server (--server or BERTH_SERVER) is one clear line and advice, exit 1', async () => {
    const url = await closedUrl();
    for (const r of [berth(['usage', '--server', url]), berth(['usage'], { BERTH_SERVER: url })]) {
      assert.equal(r.code, 1);
      assert.equal(r.out, '');
      assert.ok(r.err.startsWith(`berth: UNAVAILABLE: cannot reach berth at ${url}: `), r.err);
      assert.match(r.err, /--server/);
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    }
  });

  test('put refuses a file that is not JSON, naming it, before any request', async () => {
    const url = await closedUrl();
    const bad = await file('not-json.json', '{"rules": [');
    const r = berth(['lifecycle', 'put', 'team/app', '--file', bad, '--server', url]);
    assert.equal(r.code, 1);
    assert.ok(r.err.includes(`${bad} is not JSON`), r.err);
    assert.doesNotMatch(r.err, /cannot reach/);
    const missing = berth(['immutability', 'put', 'team/*', '--file', join(dir, 'nope.json'), '--server', url]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /cannot read .*nope\.json: no such file/);
  });

  test('flags are validated before any request: --now, --bytes, --tags, --limit, --format', async () => {
    const url = await closedUrl();
    const cases: Array<[string[], RegExp]> = [
      [['lifecycle', 'preview', 'team/app', '--now', 'yesterday'], /--now.*ISO-8601/s],
      [['lifecycle', 'preview', 'team/app', '--now', '2026-11-27T10:00:00'], /add Z or an offset/],
      [['quota', 'set', 'team', '--bytes', 'lots'], /--bytes.*not a byte size/s],
      [['quota', 'set', 'team', '--bytes', '10G'], /not a byte size/],
      [['quota', 'set', 'team', '--tags', '-1'], /--tags/],
      [['quota', 'set', 'team'], /needs --bytes SIZE or --tags N/],
      [['audit', '--limit', '0'], /--limit/],
      [['usage', '--format', 'yaml'], /--format/],
    ];
    for (const [args, expected] of cases) {
      const r = berth([...args, '--server', url]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.err, expected, args.join(' '));
      assert.doesNotMatch(r.err, /cannot reach/, `${args.join(' ')} made no request`);
    }
  });
});

// Everything below needs the server's /api/v1/ (docs/management-api.md).
describe('management commands against a server', () => {
  let server: TestServer;
  const suffix = randomBytes(3).toString('hex');
  const project = `mgmt-${suffix}`;
  const repo = `${project}/app`;
  const images: Record<string, Image> = {};

  before(async () => {
    server = await startServer();
    // Three images tagged v1, v2, v3, pushed in that order (ECR's imageCountMoreThan ranks by push time).
    for (const [i, tag] of ['v1', 'v2', 'v3'].entries()) {
      images[tag] = makeImage({ layers: [randomBlob(2000 + i * 100, 7 + i)], seed: 7 + i });
      await pushImage(server.url, repo, tag, images[tag]!);
      await sleep(20);
    }
  });
  after(async () => {
    await server?.stop();
  });

  const s = () => ['--server', server.url];

  test('lifecycle put/get/delete round trip; an invalid policy is refused naming the field', async () => {
    const target = `${project}-rt/*`;
    const invalid = structuredClone(KEEP_NEWEST_V);
    invalid.rules[0]!.selection.countNumber = 0; // ECR: countNumber must be a positive integer
    const bad = berth(['lifecycle', 'put', target, '--file', await file('invalid-policy.json', JSON.stringify(invalid)), ...s()]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^berth: POLICY_INVALID: .*countNumber/m);
    assert.match(bad.err, /fix the field named above/);
    assert.match(berth(['lifecycle', 'get', target, ...s()]).err, /NOT_FOUND/, 'nothing stored by the refused put');

    const text = JSON.stringify(KEEP_NEWEST_V, null, 2);
    const put = berth(['lifecycle', 'put', target, '--file', await file('policy.json', text), ...s()]);
    assert.equal(put.code, 0, put.err);
    const got = berthJson<{ target: string; policy: unknown; updatedAt: string }>(['lifecycle', 'get', target, ...s()]);
    assert.equal(got.target, target);
    assert.deepEqual(got.policy, KEEP_NEWEST_V);
    assert.ok(!Number.isNaN(Date.parse(got.updatedAt)), got.updatedAt);

    assert.equal(berth(['lifecycle', 'delete', target, ...s()]).code, 0);
    const gone = berth(['lifecycle', 'get', target, ...s()]);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /^berth: NOT_FOUND: /m);
    assert.equal(gone.out, '');
  });

  test('preview --format json prints exactly expire and keep; apply deletes the expired images', async () => {
    const put = berth(['lifecycle', 'put', `${project}/*`, '--file', await file('keep-newest.json', JSON.stringify(KEEP_NEWEST_V)), ...s()]);
    assert.equal(put.code, 0, put.err);
    type Plan = { expire: Array<Record<string, unknown>>; keep: Array<Record<string, unknown>> };
    const plan = berthJson<Plan>(['lifecycle', 'preview', repo, ...s()]);
    assert.deepEqual(Object.keys(plan).sort(), ['expire', 'keep']);
    for (const e of plan.expire) assert.deepEqual(Object.keys(e).sort(), ['digest', 'reason', 'rule', 'tags']);
    for (const k of plan.keep) assert.deepEqual(Object.keys(k).sort(), ['digest', 'rule', 'tags']);
    const byDigest = (list: Array<Record<string, unknown>>) => list.map((e) => [e.digest, e.tags, e.rule]).sort();
    const entry = (tag: string) => [images[tag]!.manifest.digest, [tag], 1];
    assert.deepEqual(byDigest(plan.expire), [entry('v1'), entry('v2')].sort());
    assert.deepEqual(byDigest(plan.keep), [entry('v3')]);

    // The rule counts images rather than ages, so another --now gives the same plan; it must be accepted and passed on.
    const at = berthJson<Plan>(['lifecycle', 'preview', repo, '--now', '2030-01-01T00:00:00+01:00', ...s()]);
    assert.equal(at.expire.length, 2);

    const text = berth(['lifecycle', 'preview', repo, ...s()]);
    assert.equal(text.code, 0, text.err);
    assert.equal(text.out.split('\n').filter((l) => l.startsWith('EXPIRE ')).length, 2);
    assert.equal(text.out.split('\n').filter((l) => l.startsWith('KEEP ')).length, 1);
    assert.match(text.out, new RegExp(`^${repo}: would expire 2 images, keep 1 \\(policy of ${project}/\\*`, 'm'));

    const applied = berthJson<Plan>(['lifecycle', 'apply', repo, ...s()]);
    assert.deepEqual(byDigest(applied.expire), [entry('v1'), entry('v2')].sort());
    for (const tag of ['v1', 'v2', 'v3']) {
      const r = await fetch(`${server.url}/v2/${repo}/manifests/${tag}`, { method: 'HEAD' });
      assert.equal(r.status, tag === 'v3' ? 200 : 404, tag);
    }
  });

  test('usage --format json counts each unique blob once per project and repository', async () => {
    const other = `${project}-usage/app`;
    const img = makeImage({ layers: [randomBlob(3000, 99)], seed: 99 });
    await pushImage(server.url, other, 'one', img);
    await pushImage(server.url, `${project}-usage/copy`, 'one', img); // the same blobs again in a second repository
    const size = img.config.size + img.layers.reduce((n, l) => n + l.size, 0) + img.manifest.size;
    type Usage = { projects: Array<{ project: string; bytes: number; tags: number; manifests: number; repositories: Array<{ repository: string; bytes: number; tags: number }> }> };
    const usage = berthJson<Usage>(['usage', `${project}-usage`, ...s()]);
    const p = usage.projects.find((x) => x.project === `${project}-usage`);
    assert.ok(p, JSON.stringify(usage));
    assert.equal(p.bytes, size, 'shared blobs count once in the project');
    assert.equal(p.tags, 2);
    assert.deepEqual(
      p.repositories.map((r) => [r.repository, r.bytes, r.tags]).sort(),
      [
        [`${project}-usage/app`, size, 1],
        [`${project}-usage/copy`, size, 1],
      ],
    );
  });

  test('quota set/get: sizes are parsed, a limit not given keeps its value, none lifts it; usage shows it', () => {
    const q = `${project}-usage`;
    // The contract's fields; the server may add others (updatedAt).
    const quota = (args: string[]) => {
      const r = berthJson<{ project: unknown; bytes: unknown; tags: unknown }>(args);
      return { project: r.project, bytes: r.bytes, tags: r.tags };
    };
    assert.deepEqual(quota(['quota', 'set', q, '--bytes', '10GiB', '--tags', '100', ...s()]), { project: q, bytes: 10 * 2 ** 30, tags: 100 });
    assert.deepEqual(quota(['quota', 'get', q, ...s()]), { project: q, bytes: 10 * 2 ** 30, tags: 100 });
    quota(['quota', 'set', q, '--bytes', 'none', ...s()]);
    assert.deepEqual(quota(['quota', 'get', q, ...s()]), { project: q, bytes: null, tags: 100 });
    const usage = berthJson<{ projects: Array<{ project: string; quota: unknown }> }>(['usage', q, ...s()]);
    assert.deepEqual(usage.projects.find((p) => p.project === q)?.quota, { bytes: null, tags: 100 });
    const text = berth(['usage', q, ...s()]);
    assert.match(text.out, /used 2 of 100 tags/);
    assert.equal(berth(['quota', 'delete', q, ...s()]).code, 0);
    assert.match(berth(['quota', 'get', q, ...s()]).err, /NOT_FOUND/);
  });

  test('immutability put/get', async () => {
    const target = `${project}-imm/*`;
    const rules = { rules: [{ description: 'releases', tagPatternList: ['v*'], excludeTagPatternList: ['v*-rc*'] }] };
    const put = berth(['immutability', 'put', target, '--file', await file('rules.json', JSON.stringify(rules)), ...s()]);
    assert.equal(put.code, 0, put.err);
    const got = berthJson<{ target: string; rules: unknown }>(['immutability', 'get', target, ...s()]);
    assert.equal(got.target, target);
    assert.deepEqual(got.rules, rules.rules);
    const bad = berth(['immutability', 'put', target, '--file', await file('bad-rules.json', '{"rules": [{"description": "no patterns"}]}'), ...s()]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /POLICY_INVALID: .*tagPatternList/);
  });

  test('gc --dry-run --format json is the GC report of a dry run', () => {
    const report = berthJson<Record<string, unknown>>(['gc', '--dry-run', ...s()]);
    assert.deepEqual(Object.keys(report).sort(), [
      'blobsDeleted',
      'bytesReclaimed',
      'dryRun',
      'durationMs',
      'graceSeconds',
      'linksRemoved',
      'orphanObjectsDeleted',
      'referrersDeleted',
      'startedAt',
      'uploadsReaped',
    ]);
    assert.equal(report.dryRun, true);
    for (const k of ['blobsDeleted', 'bytesReclaimed', 'durationMs', 'graceSeconds', 'linksRemoved', 'orphanObjectsDeleted', 'referrersDeleted', 'uploadsReaped']) {
      assert.equal(typeof report[k], 'number', k);
    }
    const text = berth(['gc', '--dry-run', ...s()]);
    assert.match(text.out, /^would reclaim \d+ blobs? \(/);
  });

  test('audit --format json lists entries newest first and honours --limit', () => {
    const log = berthJson<{ entries: Array<{ at: string }> }>(['audit', ...s()]);
    assert.ok(log.entries.length >= 1, 'the changes above were audited');
    for (let i = 1; i < log.entries.length; i++) {
      assert.ok(Date.parse(log.entries[i - 1]!.at) >= Date.parse(log.entries[i]!.at), 'newest first');
    }
    assert.ok(berthJson<{ entries: unknown[] }>(['audit', '--limit', '2', ...s()]).entries.length <= 2);
  });
});
