/**
 * Lifecycle plans through the running server (issue 7, docs/management-api.md): preview (also at a
 * moved clock) and apply of the seed's two-rule policy, the audit log, and index children and
 * referrers that follow their owners. Profile-agnostic: BERTH_TEST_PROFILE picks the backends
 * inside startServer().
 *
 * Expected sets are computed here from the push order (the age order), never from berth's output.
 * Policy documents follow the Amazon ECR lifecycle policy format:
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { makeImage, type Image } from '../helpers/oci.js';
import { getManifest } from '../helpers/e2e-http.js';
import {
  OCI_MANIFEST,
  SEED_POLICY,
  api,
  assertPlan,
  audit,
  digestsOf,
  inDays,
  makeIndex,
  managementConfig,
  preview,
  pushInOrder,
  putPolicy,
  q,
  sorted,
  type Plan,
} from '../helpers/management.js';

let server: TestServer;
let base: string;
let seedCounter = 2000;
/** A fresh image with its own layer and config (distinct seeds give distinct digests). */
const freshImage = (extra: Parameters<typeof makeImage>[0] = {}): Image => makeImage({ seed: seedCounter++, ...extra });

before(async () => {
  server = await startServer({ config: managementConfig() });
  base = server.url;
});
after(async () => {
  await server?.stop();
});

describe('seed policy: keep last 10 tagged, expire untagged older than 7 days', () => {
  const REPO = 'seed/app';
  // t01 is the oldest push, t12 the newest; u1 and u2 are pushed by digest (untagged) after them.
  const tagged = Array.from({ length: 12 }, (_, i) => ({ ref: `t${String(i + 1).padStart(2, '0')}`, img: freshImage() }));
  const untagged = [freshImage(), freshImage()];
  const all = [...tagged.map((t) => t.img.manifest.digest), ...untagged.map((u) => u.manifest.digest)];
  // By hand: rule 1 ranks the 12 tagged images newest first and keeps 10, so the two oldest pushes
  // (t01, t02) expire; rule 2 expires untagged images pushed more than 7 days before `now`.
  const twoOldestTagged = [tagged[0]!.img.manifest.digest, tagged[1]!.img.manifest.digest];
  const untaggedDigests = untagged.map((u) => u.manifest.digest);

  before(async () => {
    await putPolicy(base, REPO, SEED_POLICY);
    await pushInOrder(base, REPO, [...tagged, ...untagged.map((img) => ({ ref: img.manifest.digest, img }))]);
  });

  test('preview now: exactly the two oldest tagged images expire, by rule 1', async () => {
    const plan = await preview(base, REPO);
    assert.equal(plan.repository, REPO);
    assert.equal(plan.policyTarget, REPO);
    assert.equal(plan.applied, false);
    assertPlan(plan, all, twoOldestTagged, 'preview now');
    // Oldest push first.
    assert.deepEqual(plan.expire.map((e) => e.tags), [['t01'], ['t02']]);
    for (const e of plan.expire) assert.equal(e.rule, 1);
    for (const k of plan.keep) {
      const isUntagged = untaggedDigests.includes(k.digest);
      assert.equal(k.rule, isUntagged ? 2 : 1, `keep ${k.digest} ${k.tags.join(',')}`);
      assert.deepEqual(k.tags.length, isUntagged ? 0 : 1);
    }
  });

  test('preview 6 days ahead: untagged images are still within their 7 days', async () => {
    assertPlan(await preview(base, REPO, inDays(6)), all, twoOldestTagged, 'preview +6 days');
  });

  for (const days of [8, 30]) {
    test(`preview ${days} days ahead: the two oldest tagged and both untagged images expire`, async () => {
      const at = inDays(days);
      const plan = await preview(base, REPO, at);
      assert.equal(Date.parse(plan.now), at.getTime(), 'the plan is evaluated at the requested time');
      assertPlan(plan, all, [...twoOldestTagged, ...untaggedDigests], `preview +${days} days`);
      for (const e of plan.expire) assert.equal(e.rule, untaggedDigests.includes(e.digest) ? 2 : 1);
    });
  }

  test('apply deletes exactly the previewed set and records each deletion in the audit log', async () => {
    const previewed = digestsOf((await preview(base, REPO)).expire);
    const auditBefore = (await audit(base)).filter((e) => e.action === 'lifecycle.expire').length;
    const r = await api<Plan>(base, 'POST', `/api/v1/lifecycle/apply${q('repository', REPO)}`);
    assert.equal(r.status, 200, r.text);
    const applied = r.json!;
    assert.equal(applied.applied, true);
    assert.deepEqual(digestsOf(applied.expire), previewed);
    assert.deepEqual(previewed, sorted(twoOldestTagged));

    for (const d of twoOldestTagged) {
      const m = await getManifest(base, REPO, d);
      assert.equal(m.status, 404, `expired ${d} still served`);
      assert.equal(JSON.parse(m.bytes.toString()).errors?.[0]?.code, 'MANIFEST_UNKNOWN');
    }
    for (const t of ['t01', 't02']) assert.equal((await getManifest(base, REPO, t)).status, 404, `tag ${t} survived`);
    const kept = [...tagged.slice(2).map((t) => t.img), ...untagged];
    for (const img of kept) {
      const m = await getManifest(base, REPO, img.manifest.digest);
      assert.equal(m.status, 200, `kept ${img.manifest.digest}`);
      assert.ok(m.bytes.equals(img.manifest.bytes), `kept ${img.manifest.digest}: bytes changed`);
    }

    const entries = (await audit(base)).filter((e) => e.action === 'lifecycle.expire');
    assert.equal(entries.length - auditBefore, 2, 'one lifecycle.expire entry per deleted image');
    const mine = entries.filter((e) => e.target.startsWith(`${REPO}@`)).map((e) => e.target);
    assert.deepEqual(sorted(mine), sorted(twoOldestTagged.map((d) => `${REPO}@${d}`)));

    // Applying again finds nothing more to expire now.
    const again = await api<Plan>(base, 'POST', `/api/v1/lifecycle/apply${q('repository', REPO)}`);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.json!.expire, []);
    assert.equal((await audit(base)).filter((e) => e.action === 'lifecycle.expire').length, entries.length);
  });
});

describe('index children and referrers follow their owners', () => {
  const REPO = 'multi/app';
  const childA = freshImage({ platform: { os: 'linux', architecture: 'amd64' } });
  const childB = freshImage({ platform: { os: 'linux', architecture: 'arm64' } });
  const indexImage = makeIndex([
    { img: childA, platform: { os: 'linux', architecture: 'amd64' } },
    { img: childB, platform: { os: 'linux', architecture: 'arm64' } },
  ]);
  const index = indexImage.manifest;
  const oldImage = freshImage(); // tagged "old": the oldest tagged push
  const newImage = freshImage(); // tagged "new": the newest tagged push
  const loose = freshImage(); // untagged, no owner
  const subjectOf = (img: Image) => ({ mediaType: OCI_MANIFEST, digest: img.manifest.digest, size: img.manifest.size });
  const refOld = freshImage({ subject: subjectOf(oldImage), artifactType: 'application/vnd.example.sbom' });
  const refNew = freshImage({ subject: subjectOf(newImage), artifactType: 'application/vnd.example.sbom' });
  const D = {
    old: oldImage.manifest.digest,
    a: childA.manifest.digest,
    b: childB.manifest.digest,
    index: index.digest,
    new: newImage.manifest.digest,
    loose: loose.manifest.digest,
    refOld: refOld.manifest.digest,
    refNew: refNew.manifest.digest,
  };
  const all = Object.values(D);
  // Keep the 2 newest tagged images (new, then the index); "old" ranks third and expires.
  const POLICY = {
    rules: [
      { rulePriority: 1, selection: { tagStatus: 'tagged', tagPatternList: ['*'], countType: 'imageCountMoreThan', countNumber: 2 }, action: { type: 'expire' } },
      SEED_POLICY.rules[1],
    ],
  };

  before(async () => {
    await putPolicy(base, REPO, POLICY);
    await pushInOrder(base, REPO, [
      { ref: 'old', img: oldImage },
      { ref: D.a, img: childA },
      { ref: D.b, img: childB },
      { ref: 'v1', img: indexImage },
      { ref: 'new', img: newImage },
      { ref: D.loose, img: loose },
      { ref: D.refOld, img: refOld },
      { ref: D.refNew, img: refNew },
    ]);
  });

  test('now: "old" expires with its referrer; the index children and the other referrer are kept', async () => {
    const plan = await preview(base, REPO);
    assertPlan(plan, all, [D.old, D.refOld], 'preview now');
    const keep = new Map(plan.keep.map((k) => [k.digest, k]));
    // Children of a kept index are kept, decided through the index (rule 1).
    assert.equal(keep.get(D.a)?.rule, 1);
    assert.equal(keep.get(D.b)?.rule, 1);
  });

  test('8 days ahead: the untagged index children are still kept because their index is; the loose untagged image expires', async () => {
    const plan = await preview(base, REPO, inDays(8));
    assertPlan(plan, all, [D.old, D.refOld, D.loose], 'preview +8 days');
    const expire = new Map(plan.expire.map((e) => [e.digest, e]));
    assert.equal(expire.get(D.loose)?.rule, 2);
    assert.equal(expire.get(D.refOld)?.rule, 1, 'a referrer is expired by its subject\'s rule');
  });

  test('apply removes "old" and its referrer; everything else is served unchanged', async () => {
    const r = await api<Plan>(base, 'POST', `/api/v1/lifecycle/apply${q('repository', REPO)}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(digestsOf(r.json!.expire), sorted([D.old, D.refOld]));
    for (const d of [D.old, D.refOld]) assert.equal((await getManifest(base, REPO, d)).status, 404, `expired ${d}`);
    const kept: Array<[string, Buffer]> = [
      [D.a, childA.manifest.bytes],
      [D.b, childB.manifest.bytes],
      [D.index, index.bytes],
      [D.new, newImage.manifest.bytes],
      [D.loose, loose.manifest.bytes],
      [D.refNew, refNew.manifest.bytes],
    ];
    for (const [d, bytes] of kept) {
      const m = await getManifest(base, REPO, d);
      assert.equal(m.status, 200, `kept ${d}`);
      assert.ok(m.bytes.equals(bytes), `kept ${d}: bytes changed`);
    }
    // The kept image still lists its referrer (distribution-spec "Listing Referrers").
    const refs = await fetch(`${base}/v2/${REPO}/referrers/${D.new}`);
    const body = (await refs.json()) as { manifests: Array<{ digest: string }> };
    assert.deepEqual(body.manifests.map((m) => m.digest), [D.refNew]);
    const entries = (await audit(base)).filter((e) => e.action === 'lifecycle.expire' && e.target.startsWith(`${REPO}@`));
    assert.deepEqual(sorted(entries.map((e) => e.target)), sorted([D.old, D.refOld].map((d) => `${REPO}@${d}`)));
  });
});
