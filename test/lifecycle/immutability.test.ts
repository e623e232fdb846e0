/**
 * Tag immutability through the running server (issue 7, docs/management-api.md): moving or
 * deleting an immutable tag is refused with DENIED naming the rule and leaves the stored state as
 * it was; the identical digest may be re-pushed; `latest` stays mutable when excluded; a
 * repository's rules override its project's; two pushes racing to create the same immutable tag
 * cannot both win. Rules are berth's generalisation of Amazon ECR's IMMUTABLE_WITH_EXCLUSION
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageTagMutabilityExclusionFilter.html).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { makeImage, pushBlob, putManifest, type Image } from '../helpers/oci.js';
import { getManifest } from '../helpers/e2e-http.js';
import {
  api,
  assertServing,
  deleteManifest,
  expectError,
  managementConfig,
  q,
  resolve,
  tagsList,
  tryPushImage,
} from '../helpers/management.js';

/** Every tag immutable except `latest`: the seed's "no `latest` in production" setting. */
const ALL_BUT_LATEST = { rules: [{ tagPatternList: ['*'], excludeTagPatternList: ['latest'] }] };

let server: TestServer;
let base: string;
let seed = 5000;
const fresh = (): Image => makeImage({ seed: seed++ });

const rulesPath = (target: string) => `/api/v1/immutability${q('target', target)}`;

async function putRules(target: string, doc: unknown): Promise<void> {
  const r = await api(base, 'PUT', rulesPath(target), doc);
  assert.equal(r.status, 200, `PUT immutability ${target}: ${r.text.slice(0, 500)}`);
}

/** Pushes (blobs, then the manifest under `tag`) and returns the manifest answer. */
async function push(repo: string, tag: string, img: Image) {
  return (await tryPushImage(base, repo, tag, img)).r;
}

/** Asserts a DENIED refusal whose message names the immutability rule (its target, and `names`). */
function assertDeniedByRule(r: Awaited<ReturnType<typeof push>>, what: string, names: Array<string | RegExp>): void {
  const message = expectError(r, 403, 'DENIED', what);
  assert.match(message, /immutab/i, `${what}: ${message}`);
  for (const n of names) {
    if (typeof n === 'string') assert.ok(message.includes(n), `${what}: message ${JSON.stringify(message)} does not name ${n}`);
    else assert.match(message, n, `${what}: message ${JSON.stringify(message)}`);
  }
}

before(async () => {
  server = await startServer({ config: managementConfig() });
  base = server.url;
});
after(async () => {
  await server?.stop();
});

describe('rules documents', () => {
  test('put, get and delete; invalid documents are POLICY_INVALID and change nothing', async () => {
    expectError(await api(base, 'GET', rulesPath('docs/*')), 404, 'NOT_FOUND', 'GET before PUT');
    await putRules('docs/*', ALL_BUT_LATEST);
    const got = await api<{ target: string; rules: unknown; updatedAt: string }>(base, 'GET', rulesPath('docs/*'));
    assert.equal(got.status, 200);
    assert.equal(got.json!.target, 'docs/*');
    assert.deepEqual(got.json!.rules, ALL_BUT_LATEST.rules);
    const invalid: Array<[string, unknown, RegExp]> = [
      ['no rules', {}, /rules/],
      ['rules not an array', { rules: 'v*' }, /rules/],
      ['empty tagPatternList', { rules: [{ tagPatternList: [] }] }, /tagPatternList/],
      ['pattern not a string', { rules: [{ tagPatternList: [7] }] }, /tagPatternList/],
      ['unknown rule field', { rules: [{ tagPatternList: ['*'], mutable: true }] }, /mutable/],
      ['unknown top-level field', { rules: [], scope: 'all' }, /scope/],
      ['five wildcards', { rules: [{ tagPatternList: ['*a*b*c*d*'] }] }, /tagPatternList/],
      ['description not a string', { rules: [{ tagPatternList: ['*'], description: 5 }] }, /description/],
      ['a bare array', [{ tagPatternList: ['*'] }], /rules|object/],
    ];
    for (const [what, doc, field] of invalid) {
      const r = await api(base, 'PUT', rulesPath('docs/*'), doc);
      const message = expectError(r, 400, 'POLICY_INVALID', what);
      assert.match(message, field, `${what}: ${message}`);
      const still = await api<{ rules: unknown; updatedAt: string }>(base, 'GET', rulesPath('docs/*'));
      assert.deepEqual(still.json, got.json, `${what}: stored rules changed`);
    }
    expectError(await api(base, 'PUT', rulesPath('Docs/*'), ALL_BUT_LATEST), 400, 'NAME_INVALID', 'upper-case target');
    expectError(await api(base, 'PUT', rulesPath('../docs'), ALL_BUT_LATEST), 400, 'NAME_INVALID', '../ target');
    assert.equal((await api(base, 'DELETE', rulesPath('docs/*'))).status, 204);
    expectError(await api(base, 'GET', rulesPath('docs/*')), 404, 'NOT_FOUND', 'GET after DELETE');
  });
});

describe('every tag but latest immutable on team/*', () => {
  const REPO = 'team/app';
  const first = fresh();
  const second = fresh();

  before(async () => {
    await putRules('team/*', ALL_BUT_LATEST);
    const r = await push(REPO, 'v1', first);
    assert.equal(r.status, 201, `creating v1 is allowed: ${r.text}`);
  });

  test('pushing a different manifest to v1 is DENIED naming the rule; v1 still resolves to the original', async () => {
    const r = await push(REPO, 'v1', second);
    assertDeniedByRule(r, 'move v1', ['team/*', 'v1']);
    assert.equal(await resolve(base, REPO, 'v1'), first.manifest.digest);
    const m = await getManifest(base, REPO, 'v1');
    assert.ok(m.bytes.equals(first.manifest.bytes), 'v1 bytes changed');
    // The refused manifest was not recorded, by digest either.
    assert.equal((await getManifest(base, REPO, second.manifest.digest)).status, 404);
    assert.deepEqual(await tagsList(base, REPO), ['v1']);
  });

  test('re-pushing the identical manifest to v1 succeeds', async () => {
    const r = await putManifest(base, REPO, 'v1', first.manifest.bytes);
    assert.equal(r.status, 201, await r.text());
    assert.equal(r.headers.get('docker-content-digest'), first.manifest.digest);
    assert.equal(await resolve(base, REPO, 'v1'), first.manifest.digest);
  });

  test('latest can be moved freely', async () => {
    assert.equal((await putManifest(base, REPO, 'latest', first.manifest.bytes)).status, 201);
    assert.equal(await resolve(base, REPO, 'latest'), first.manifest.digest);
    assert.equal((await push(REPO, 'latest', second)).status, 201);
    assert.equal(await resolve(base, REPO, 'latest'), second.manifest.digest);
    assert.equal((await putManifest(base, REPO, 'latest', first.manifest.bytes)).status, 201);
    assert.equal(await resolve(base, REPO, 'latest'), first.manifest.digest);
    // ...and deleted.
    assert.equal((await deleteManifest(base, REPO, 'latest')).status, 202);
    assert.equal((await getManifest(base, REPO, 'latest')).status, 404);
  });

  test('deleting tag v1 is DENIED; v1 is still there', async () => {
    const r = await deleteManifest(base, REPO, 'v1');
    assertDeniedByRule(r, 'DELETE tag v1', ['team/*', 'v1']);
    assert.equal(await resolve(base, REPO, 'v1'), first.manifest.digest);
  });

  test('deleting by digest a manifest that carries v1 is DENIED; it is still there', async () => {
    const r = await deleteManifest(base, REPO, first.manifest.digest);
    assertDeniedByRule(r, 'DELETE by digest', ['team/*', 'v1']);
    const m = await getManifest(base, REPO, first.manifest.digest);
    assert.equal(m.status, 200);
    assert.ok(m.bytes.equals(first.manifest.bytes));
    assert.equal(await resolve(base, REPO, 'v1'), first.manifest.digest);
  });

  test('an untagged manifest (no immutable tag) may be deleted by digest', async () => {
    const loose = fresh();
    assert.equal((await push(REPO, loose.manifest.digest, loose)).status, 201);
    assert.equal((await deleteManifest(base, REPO, loose.manifest.digest)).status, 202);
    assert.equal((await getManifest(base, REPO, loose.manifest.digest)).status, 404);
  });

  test('the rules of another project do not apply', async () => {
    // `teamx` starts with `team` but is another project.
    for (const repo of ['teamx/app', 'other/app']) {
      assert.equal((await push(repo, 'v1', first)).status, 201);
      assert.equal((await push(repo, 'v1', second)).status, 201, `${repo}: v1 is mutable there`);
      assert.equal(await resolve(base, repo, 'v1'), second.manifest.digest);
    }
  });
});

describe("a repository's own rules override its project's", () => {
  const REPO = 'team/dev';
  const a = fresh();
  const b = fresh();

  before(async () => {
    await putRules('team/*', ALL_BUT_LATEST);
    await putRules(REPO, { rules: [{ description: 'release tags', tagPatternList: ['v*'] }] });
  });

  test('a tag the repository rule does not match (dev) is mutable although the project rule matches it', async () => {
    assert.equal((await push(REPO, 'dev', a)).status, 201);
    const r = await push(REPO, 'dev', b);
    assert.equal(r.status, 201, `dev must be mutable in ${REPO}: ${r.text}`);
    assert.equal(await resolve(base, REPO, 'dev'), b.manifest.digest);
    assert.equal((await deleteManifest(base, REPO, 'dev')).status, 202);
  });

  test('a tag the repository rule matches (v2) is immutable, and the message names that rule', async () => {
    assert.equal((await push(REPO, 'v2', a)).status, 201);
    const r = await push(REPO, 'v2', b);
    assertDeniedByRule(r, 'move v2 in team/dev', ['team/dev', 'release tags']);
    assert.equal(await resolve(base, REPO, 'v2'), a.manifest.digest);
  });

  test('once the repository rules are deleted the project rules apply again', async () => {
    assert.equal((await api(base, 'DELETE', rulesPath(REPO))).status, 204);
    assert.equal((await push(REPO, 'dev', a)).status, 201, 'creating a tag is always allowed');
    assertDeniedByRule(await push(REPO, 'dev', b), 'move dev under team/*', ['team/*']);
    assert.equal(await resolve(base, REPO, 'dev'), a.manifest.digest);
  });

  test('once the project rules are deleted too, every tag is mutable', async () => {
    assert.equal((await api(base, 'DELETE', rulesPath('team/*'))).status, 204);
    assert.equal((await push(REPO, 'dev', b)).status, 201);
    assert.equal(await resolve(base, REPO, 'dev'), b.manifest.digest);
  });
});

describe('hostile patterns', () => {
  test('a four-wildcard rule against a 128-character tag answers in bounded time', async () => {
    await putRules('slow/app', { rules: [{ tagPatternList: ['*a*a*a*b'] }] });
    const tag = 'a'.repeat(128);
    const img = fresh();
    const r = await tryPushImage(base, 'slow/app', tag, img);
    assert.equal(r.r.status, 201, r.r.text);
    // The tag does not end in "b", so it is not immutable: moving it is allowed, quickly.
    const other = fresh();
    for (const b of [other.config, ...other.layers]) await (await pushBlob(base, 'slow/app', b)).arrayBuffer();
    const moved = await fetch(`${base}/v2/slow/app/manifests/${tag}`, {
      method: 'PUT',
      headers: { 'Content-Type': other.mediaType },
      body: new Uint8Array(other.manifest.bytes),
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(moved.status, 201, await moved.text());
  });
});

describe('racing pushes to a new immutable tag', () => {
  const REPO = 'race/app';
  before(async () => {
    await putRules('race/*', { rules: [{ tagPatternList: ['r*'] }] });
  });

  // Several rounds (bounded) so the race is actually exercised, each on a tag that does not exist yet.
  for (let round = 1; round <= 5; round++) {
    test(`round ${round}: exactly one of two different manifests wins the new tag`, async () => {
      const tag = `r${round}`;
      const x = fresh();
      const y = fresh();
      for (const img of [x, y]) {
        for (const b of [img.config, ...img.layers]) {
          const r = await pushBlob(base, REPO, b);
          await r.arrayBuffer();
          assert.equal(r.status, 201);
        }
      }
      const [rx, ry] = await Promise.all([
        putManifest(base, REPO, tag, x.manifest.bytes),
        putManifest(base, REPO, tag, y.manifest.bytes),
      ]);
      const answers = [
        { img: x, status: rx.status, body: await rx.text() },
        { img: y, status: ry.status, body: await ry.text() },
      ];
      const winners = answers.filter((a) => a.status === 201);
      const losers = answers.filter((a) => a.status !== 201);
      assert.equal(winners.length, 1, `statuses ${answers.map((a) => `${a.status} ${a.body.slice(0, 200)}`).join(' | ')}`);
      assert.equal(losers[0]!.status, 403, losers[0]!.body);
      assert.equal(JSON.parse(losers[0]!.body).errors?.[0]?.code, 'DENIED');
      assert.equal(await resolve(base, REPO, tag), winners[0]!.img.manifest.digest);
      assert.equal((await getManifest(base, REPO, losers[0]!.img.manifest.digest)).status, 404, 'the loser must not be recorded');
    });
  }

  test('the server still serves', async () => {
    await assertServing(base);
  });
});
