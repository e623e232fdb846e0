import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { makeLayoutImage } from '../helpers/oci-layout.js';
import { sleep } from '../helpers/e2e-process.js';
import { ACCEPT_ALL_MANIFESTS, errorCode } from '../helpers/e2e-http.js';
import { api, q } from '../helpers/management.js';
import { berth, ok, pushWithSkopeo, skipWithoutSkopeo } from './sign-helpers.js';

/**
 * "Only signed images can be pulled", through the real server: a project's
 * signing policy names a trusted cosign key; pulls of unsigned images are
 * DENIED saying what was missing; `berth sign` makes them pullable; the
 * signature artifacts stay pullable; /api/v1/signatures reports the status.
 */

interface StatusView {
  signed: boolean;
  signatures: { kind: string; verified: boolean; reason?: string }[];
}

describe('signing policy in the registry', { skip: skipWithoutSkopeo }, () => {
  let dir: string;
  let server: TestServer;
  let trusted: string;
  let third: string;
  const env = { COSIGN_PASSWORD: 'correct horse battery staple' };
  const image = makeLayoutImage({ seed: 611 });
  const pull = (ref: string) => fetch(`${server.url}/v2/team/app/manifests/${ref}`, { headers: { Accept: ACCEPT_ALL_MANIFESTS } });
  const dockerConfig = () => join(dir, 'docker');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-signing-policy-'));
    server = await startServer({ env: { BERTH_GC_SCHEDULE: '', BERTH_LIFECYCLE_SCHEDULE: '' } });
    ok(await berth(['key', 'generate', '--output-key-prefix', join(dir, 'trusted')], { dockerConfig: dockerConfig(), env }), 'key generate');
    ok(await berth(['key', 'generate', '--output-key-prefix', join(dir, 'other')], { dockerConfig: dockerConfig(), env }), 'key generate');
    trusted = await readFile(join(dir, 'trusted.pub'), 'utf8');
    ok(await berth(['key', 'generate', '--output-key-prefix', join(dir, 'third')], { dockerConfig: dockerConfig(), env }), 'key generate');
    third = await readFile(join(dir, 'third.pub'), 'utf8');
    await pushWithSkopeo(dir, 'app', { image }, `${server.host}/team/app:1`);
  });

  after(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('an unsigned image is refused once the project enforces signatures; signing it makes it pullable', async () => {
    assert.equal((await pull('1')).status, 200, 'no policy: pulls are not gated');
    const put = await api(server.url, 'PUT', `/api/v1/signing/policy${q('target', 'team/*')}`, { enforce: true, cosign: { keys: [trusted] } });
    assert.equal(put.status, 200, put.text);
    for (const ref of ['1', image.manifest.digest]) {
      const r = await pull(ref);
      assert.equal(r.status, 403);
      const body = Buffer.from(await r.arrayBuffer());
      assert.equal(errorCode(body), 'DENIED');
      assert.match(body.toString(), /has no signature from a trusted signer \(checked 0 cosign signatures; 0 notation signatures\)/);
    }
    // Signed with a key the policy does not trust: still refused, and the reason says why.
    ok(await berth(['sign', '--key', join(dir, 'other.key'), `${server.host}/team/app@${image.manifest.digest}`], { dockerConfig: dockerConfig(), env }), 'sign');
    let refused = '';
    for (let i = 0; i < 50; i++) {
      const r = await pull('1');
      refused = await r.text();
      if (/checked 1 cosign signature/.test(refused)) break;
      await sleep(200);
    }
    assert.match(refused, /checked 1 cosign signature: untrusted-signer/);
    ok(await berth(['sign', '--key', join(dir, 'trusted.key'), `${server.host}/team/app@${image.manifest.digest}`], { dockerConfig: dockerConfig(), env }), 'sign');
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await pull('1')).status;
      if (status !== 200) await sleep(200);
    }
    assert.equal(status, 200, 'signed by the trusted key: served');
  });

  test('/api/v1/signatures lists each signature and whether a trusted signer made it', async () => {
    const view = (await api<StatusView>(server.url, 'GET', `/api/v1/signatures/team/app/${image.manifest.digest}`)).json!;
    assert.equal(view.signed, true);
    assert.deepEqual(
      view.signatures.map((s) => [s.kind, s.verified]).sort(),
      [
        ['cosign-bundle', false],
        ['cosign-bundle', true],
      ],
    );
    const unknown = await api(server.url, 'GET', `/api/v1/signatures/team/app/sha256:${'1'.repeat(64)}`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.error?.code, 'MANIFEST_UNKNOWN');
  });

  test('signature artifacts stay pullable; a policy trusting another key refuses again', async () => {
    const refs = (await api<{ manifests: { digest: string }[] }>(server.url, 'GET', `/v2/team/app/referrers/${image.manifest.digest}`)).json!;
    assert.equal(refs.manifests.length, 2);
    for (const m of refs.manifests) assert.equal((await pull(m.digest)).status, 200);
    // The repository's own policy trusts a key that signed nothing here: refused again, at once.
    const put = await api(server.url, 'PUT', `/api/v1/signing/policy${q('target', 'team/app')}`, { enforce: true, cosign: { keys: [third] } });
    assert.equal(put.status, 200);
    let status = 0;
    for (let i = 0; i < 50 && status !== 403; i++) {
      status = (await pull('1')).status;
      if (status !== 403) await sleep(200);
    }
    assert.equal(status, 403);
    const bad = await api(server.url, 'PUT', `/api/v1/signing/policy${q('target', 'team/app')}`, { enforce: true, cosign: { keys: ['not a key'] } });
    assert.equal(bad.status, 400);
    assert.equal(bad.error?.code, 'POLICY_INVALID');
    assert.match(bad.error!.message, /cosign\.keys\[0\]/);
  });
});
