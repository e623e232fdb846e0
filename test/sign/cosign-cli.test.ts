/**
 * berth key generate / sign / verify / attest / verify-attestation as a user runs them: the compiled
 * CLI as a child process against the built server (open, no access control), images pushed with
 * skopeo. What lands in the registry is read back over HTTP and checked here with node:crypto
 * (DSSE pre-authentication encoding, ECDSA), not with berth's own verifier.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { makeLayoutImage, makeMultiPlatformIndex } from '../helpers/oci-layout.js';
import { fixture } from '../../src/sign/cosign/test-fixtures.js';
import {
  berth,
  ecdsaVerifies,
  fails,
  get,
  ok,
  pae,
  pushBlob,
  pushWithSkopeo,
  putManifest,
  sha256,
  skipWithoutSkopeo,
  type CliResult,
  type ManifestDoc,
} from './sign-helpers.js';

const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const PASSWORD = 'correct horse battery staple';

interface Payload {
  critical: { identity: { 'docker-reference': string }; image: { 'docker-manifest-digest': string }; type: string };
  optional: Record<string, unknown> | null;
}

interface Statement {
  _type: string;
  subject: { name?: string; digest: Record<string, string>; annotations?: Record<string, unknown> }[];
  predicateType: string;
  predicate: Record<string, unknown>;
}

describe('cosign-compatible signing with the berth CLI', { skip: skipWithoutSkopeo }, () => {
  let server: TestServer;
  let work: string;
  let dockerConfig: string;
  const app = makeLayoutImage({ seed: 61 });
  const other = makeLayoutImage({ seed: 62 });
  const real = makeLayoutImage({ seed: 63 });
  const multi = makeMultiPlatformIndex(71);
  const hex = (digest: string) => digest.slice('sha256:'.length);
  const key = (name: string) => join(work, `${name}.key`);
  const pub = (name: string) => join(work, `${name}.pub`);
  const run = (args: string[], env: Record<string, string> = { COSIGN_PASSWORD: PASSWORD }): Promise<CliResult> => berth(args, { dockerConfig, env, cwd: work });
  const image = (ref: string) => `${server.host}/${ref}`;
  const payloads = (r: CliResult) => JSON.parse(r.out) as Payload[];

  /** The bundle referrer of `app` whose bundle names the key of `pubFile` (hint: base64 SHA-256 of the PKIX key). */
  async function referrerSignedBy(pubFile: string): Promise<ManifestDoc & Record<string, unknown>> {
    const der = createPublicKey(await readFile(pubFile)).export({ type: 'spki', format: 'der' });
    const hint = Buffer.from(hex(sha256(der)), 'hex').toString('base64');
    const referrers = (await get(server.url, `/v2/sign/app/referrers/${app.manifest.digest}`)).json as { manifests: { digest: string }[] };
    for (const r of referrers.manifests) {
      const m = (await get(server.url, `/v2/sign/app/manifests/${r.digest}`)).json as ManifestDoc & Record<string, unknown>;
      const bundle = (await get(server.url, `/v2/sign/app/blobs/${m.layers[0]!.digest}`)).json as { verificationMaterial?: { publicKey?: { hint?: string } } };
      if (bundle.verificationMaterial?.publicKey?.hint === hint) return m;
    }
    throw new Error(`no referrer signed by ${pubFile}`);
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-sign-'));
    dockerConfig = join(work, 'docker');
    await mkdir(dockerConfig);
    server = await startServer({ env: { BERTH_GC_SCHEDULE: '', BERTH_LIFECYCLE_SCHEDULE: '' } });
    await pushWithSkopeo(work, 'app', { image: app }, image('sign/app:v1'));
    await pushWithSkopeo(work, 'other', { image: other }, image('sign/app:other'));
    await pushWithSkopeo(work, 'real', { image: real }, image('sign/real:v1'));
    await pushWithSkopeo(work, 'multi', { index: multi }, image('sign/multi:v1'));
  });

  after(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('key generate writes an encrypted cosign key (0600) and a P-256 public key, and refuses to overwrite without --force', async () => {
    const first = ok(await run(['key', 'generate', '--output-key-prefix', join(work, 'cosign')]), 'key generate');
    assert.match(first.err, /Private key written to .*cosign\.key\nPublic key written to .*cosign\.pub/);
    const pem = await readFile(key('cosign'), 'utf8');
    assert.match(pem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    assert.equal((await stat(key('cosign'))).mode & 0o777, 0o600);
    assert.equal(createPublicKey(await readFile(pub('cosign'))).asymmetricKeyDetails?.namedCurve, 'prime256v1');

    fails(await run(['key', 'generate', '--output-key-prefix', join(work, 'cosign')]), /cosign\.key already exists: pass --force/, 'no overwrite');
    assert.equal(await readFile(key('cosign'), 'utf8'), pem, 'the existing key is untouched');
    ok(await run(['key', 'generate', '--output-key-prefix', join(work, 'replaced')]), 'another pair');
    const before = await readFile(key('replaced'), 'utf8');
    ok(await run(['key', 'generate', '--output-key-prefix', join(work, 'replaced'), '--force']), '--force');
    assert.notEqual(await readFile(key('replaced'), 'utf8'), before);
    ok(await run(['key', 'generate', '--output-key-prefix', join(work, 'second')]), 'second pair');
    ok(await run(['key', 'generate', '--output-key-prefix', join(work, 'stranger')]), 'a key that signs nothing');
    fails(await run(['key', 'generate', '--output-key-prefix', join(work, 'nopw')], {}), /password is empty|no password/, 'no COSIGN_PASSWORD and no terminal');
  });

  test('sign by tag warns, pushes a bundle referrer whose DSSE signature verifies independently; verify prints it', async () => {
    const signed = ok(await run(['sign', '--key', key('cosign'), image('sign/app:v1')]), 'sign');
    assert.match(signed.err, /WARNING: .*names a tag, not a digest/);
    assert.match(signed.out, new RegExp(`^Signed ${image('sign/app')}@${app.manifest.digest}: bundle referrer sha256:[0-9a-f]{64}\n$`));

    const referrers = (await get(server.url, `/v2/sign/app/referrers/${app.manifest.digest}`)).json as { manifests: { digest: string; artifactType?: string }[] };
    assert.deepEqual(referrers.manifests.map((m) => m.artifactType), [BUNDLE_TYPE]);
    const manifest = (await get(server.url, `/v2/sign/app/manifests/${referrers.manifests[0]!.digest}`)).json as ManifestDoc;
    assert.equal(manifest.subject?.digest, app.manifest.digest);
    assert.equal(manifest.layers[0]?.mediaType, BUNDLE_TYPE);
    const bundle = (await get(server.url, `/v2/sign/app/blobs/${manifest.layers[0]!.digest}`)).json as { dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] } };
    const body = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    const statement = JSON.parse(body.toString()) as Statement;
    assert.equal(statement.predicateType, 'https://sigstore.dev/cosign/sign/v1');
    assert.deepEqual(statement.subject[0]?.digest, { sha256: hex(app.manifest.digest) });
    const publicKey = createPublicKey(await readFile(pub('cosign')));
    assert.ok(ecdsaVerifies(publicKey, pae(bundle.dsseEnvelope.payloadType, body), Buffer.from(bundle.dsseEnvelope.signatures[0]!.sig, 'base64')), 'DSSE signature');

    const verified = payloads(ok(await run(['verify', '--key', pub('cosign'), image('sign/app:v1')]), 'verify'));
    assert.deepEqual(verified, [
      {
        critical: { identity: { 'docker-reference': image('sign/app:v1') }, image: { 'docker-manifest-digest': app.manifest.digest }, type: 'https://sigstore.dev/cosign/sign/v1' },
        optional: {},
      },
    ]);
  });

  test('--legacy-tag with -a writes sha256-<hex>.sig; a second signer appends and keeps the first signature', async () => {
    const tag = `sha256-${hex(app.manifest.digest)}.sig`;
    ok(await run(['sign', '--legacy-tag', '-a', 'env=prod', '-a', 'team=payments', '--key', key('cosign'), image(`sign/app@${app.manifest.digest}`)]), 'legacy sign');
    const first = (await get(server.url, `/v2/sign/app/manifests/${tag}`)).json as ManifestDoc;
    assert.equal(first.layers.length, 1);
    const layer = first.layers[0]!;
    assert.equal(layer.mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
    const payloadBytes = (await get(server.url, `/v2/sign/app/blobs/${layer.digest}`)).bytes;
    assert.deepEqual(JSON.parse(payloadBytes.toString()), {
      critical: { identity: { 'docker-reference': image('sign/app') }, image: { 'docker-manifest-digest': app.manifest.digest }, type: 'cosign container image signature' },
      optional: { env: 'prod', team: 'payments' },
    });
    const signature = Buffer.from(layer.annotations!['dev.cosignproject.cosign/signature']!, 'base64');
    assert.ok(ecdsaVerifies(createPublicKey(await readFile(pub('cosign'))), payloadBytes, signature), 'the payload signature verifies with cosign.pub');

    ok(await run(['sign', '--legacy-tag', '--key', key('second'), image('sign/app:v1')]), 'second legacy signer');
    const second = (await get(server.url, `/v2/sign/app/manifests/${tag}`)).json as ManifestDoc;
    assert.equal(second.layers.length, 2);
    assert.deepEqual(second.layers[0], layer, 'the first signature layer is kept as it was');
    const config = (await get(server.url, `/v2/sign/app/blobs/${second.config.digest}`)).json as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(config.rootfs.diff_ids, second.layers.map((l) => l.digest));
  });

  test('verify reads both places: each key finds its own signatures; -a filters; a stranger key and an unsigned image fail', async () => {
    const byFirst = payloads(ok(await run(['verify', '--key', pub('cosign'), image('sign/app:v1')]), 'verify cosign.pub'));
    assert.deepEqual(byFirst.map((p) => p.critical.type).sort(), ['cosign container image signature', 'https://sigstore.dev/cosign/sign/v1']);
    const bySecond = payloads(ok(await run(['verify', '--key', pub('second'), image('sign/app:v1')]), 'verify second.pub'));
    assert.deepEqual(bySecond.map((p) => p.optional), [null]);
    const claimed = payloads(ok(await run(['verify', '--key', pub('cosign'), '-a', 'env=prod', image('sign/app:v1')]), 'verify -a'));
    assert.deepEqual(claimed.map((p) => p.optional), [{ env: 'prod', team: 'payments' }]);
    fails(await run(['verify', '--key', pub('cosign'), '-a', 'env=dev', image('sign/app:v1')]), /annotation-mismatch: missing or incorrect annotation env/, 'wrong claim');
    const stranger = fails(await run(['verify', '--key', pub('stranger'), image('sign/app:v1')]), /^berth: no cosign signatures of .* verified \(3 checked\):/, 'stranger');
    assert.equal(stranger.out, '');
    assert.equal(stranger.err.match(/bad-signature/g)?.length, 3, stranger.err);
    fails(await run(['verify', '--key', pub('cosign'), image('sign/app:other')]), /^berth: no cosign signatures found for .*sign\/app:other \(looked at bundle referrers and the tag sha256-/, 'unsigned');
  });

  test('several bundle signatures on one image: one referrer each, each key verifies its own', async () => {
    ok(await run(['sign', '--key', key('second'), image(`sign/app@${app.manifest.digest}`)]), 'second bundle signer');
    const referrers = (await get(server.url, `/v2/sign/app/referrers/${app.manifest.digest}?artifactType=${encodeURIComponent(BUNDLE_TYPE)}`)).json as { manifests: unknown[] };
    assert.equal(referrers.manifests.length, 2);
    const bySecond = payloads(ok(await run(['verify', '--key', pub('second'), image('sign/app:v1')]), 'verify second.pub'));
    assert.deepEqual(bySecond.map((p) => p.critical.type).sort(), ['cosign container image signature', 'https://sigstore.dev/cosign/sign/v1']);
  });

  test('tampering: signatures copied to another image and the tag moved there fail with digest-mismatch', async () => {
    // Copy the .sig image under the other image's tag, and the bundle referrer with its subject re-pointed.
    const sig = await get(server.url, `/v2/sign/app/manifests/sha256-${hex(app.manifest.digest)}.sig`);
    assert.equal(await putManifest(server.url, 'sign/app', `sha256-${hex(other.manifest.digest)}.sig`, sig.bytes), 201);
    const referrer = await referrerSignedBy(pub('cosign'));
    referrer.subject = { ...other.descriptor };
    const forged = Buffer.from(JSON.stringify(referrer));
    assert.equal(await putManifest(server.url, 'sign/app', sha256(forged), forged), 201);
    // The tag v1 now names the other image.
    await pushWithSkopeo(work, 'retag', { image: other }, image('sign/app:v1'));

    const r = fails(await run(['verify', '--key', pub('cosign'), image('sign/app:v1')]), /^berth: no cosign signatures of .*sign\/app:v1 verified/, 'moved tag');
    assert.match(r.err, new RegExp(`sha256-${hex(other.manifest.digest)}\\.sig layer .*: digest-mismatch: invalid or missing digest in claim: ${app.manifest.digest}`));
    assert.match(r.err, new RegExp(`bundle referrer ${sha256(forged)}.*: digest-mismatch: no statement subject has the digest ${other.manifest.digest}`));
    // The image itself, by digest, still verifies.
    ok(await run(['verify', '--key', pub('cosign'), image(`sign/app@${app.manifest.digest}`)]), 'by digest');
  });

  test('--recursive on a multi-platform index signs the index and each platform manifest; each verifies', async () => {
    const r = ok(await run(['sign', '--recursive', '--key', key('cosign'), image('sign/multi:v1')]), 'sign --recursive');
    const digests = [multi.index.digest, ...multi.images.map((i) => i.manifest.digest)];
    assert.deepEqual(r.out.trim().split('\n').map((l) => /@(sha256:[0-9a-f]{64}):/.exec(l)?.[1]), digests);
    for (const d of digests) {
      const verified = payloads(ok(await run(['verify', '--key', pub('cosign'), image(`sign/multi@${d}`)]), `verify ${d}`));
      assert.deepEqual(verified.map((p) => p.critical.image['docker-manifest-digest']), [d]);
    }
  });

  test('attest and verify-attestation: bundle and .att, --type filters, custom predicates, signatures unaffected', async () => {
    const provenance = { buildType: 'https://example.com/build-type/v1', builder: { id: 'https://example.com/builder' }, invocation: { parameters: { target: 'app' } } };
    await writeFile(join(work, 'provenance.json'), JSON.stringify(provenance));
    await writeFile(join(work, 'bom.json'), JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [] }));
    await writeFile(join(work, 'note.txt'), 'reviewed by the release team\n');
    const target = image(`sign/app@${app.manifest.digest}`);
    ok(await run(['attest', '--key', key('cosign'), '--predicate', join(work, 'provenance.json'), '--type', 'slsaprovenance', target]), 'attest slsa');
    ok(await run(['attest', '--legacy-tag', '--key', key('cosign'), '--predicate', join(work, 'bom.json'), '--type', 'cyclonedx', target]), 'attest cyclonedx .att');
    ok(await run(['attest', '--key', key('cosign'), '--predicate', join(work, 'note.txt'), target]), 'attest custom');
    assert.equal((await get(server.url, `/v2/sign/app/manifests/sha256-${hex(app.manifest.digest)}.att`)).status, 200);

    const all = JSON.parse(ok(await run(['verify-attestation', '--key', pub('cosign'), target]), 'verify-attestation').out) as Statement[];
    assert.deepEqual(all.map((s) => s.predicateType).sort(), ['https://cosign.sigstore.dev/attestation/v1', 'https://cyclonedx.org/bom', 'https://slsa.dev/provenance/v0.2']);
    const slsa = all.find((s) => s.predicateType === 'https://slsa.dev/provenance/v0.2')!;
    assert.deepEqual(slsa.subject, [{ name: image('sign/app'), digest: { sha256: hex(app.manifest.digest) } }]);
    assert.deepEqual(slsa.predicate, provenance);
    assert.equal(all.find((s) => s.predicateType === 'https://cosign.sigstore.dev/attestation/v1')?.predicate.Data, 'reviewed by the release team\n');

    const bom = JSON.parse(ok(await run(['verify-attestation', '--key', pub('cosign'), '--type', 'cyclonedx', target]), '--type cyclonedx').out) as Statement[];
    assert.deepEqual(bom.map((s) => s.predicateType), ['https://cyclonedx.org/bom']);
    fails(await run(['verify-attestation', '--key', pub('cosign'), '--type', 'spdxjson', target]), /no attestations of type https:\/\/spdx\.dev\/Document (found|of)/, '--type spdxjson');
    fails(await run(['verify-attestation', '--key', pub('stranger'), target]), /bad-signature/, 'stranger key');
    fails(await run(['attest', '--key', key('cosign'), '--predicate', join(work, 'note.txt'), '--type', 'slsaprovenance', target]), /predicate .*note\.txt is not JSON/, 'text for a JSON type');
    // The attestation referrers are not taken for signatures.
    const sigs = payloads(ok(await run(['verify', '--key', pub('cosign'), target]), 'verify after attest'));
    assert.ok(sigs.every((p) => p.critical.type !== 'https://slsa.dev/provenance/v0.2'));
  });

  test('a cosign 1.13 .sig image (real bytes) is extended, never dropped; a real signature copied to this image fails', async () => {
    // The .sig image cosign v1.13.1 pushed for chihjenhuang/cosign1 (test/fixtures/cosign/README.md). Its 252-byte
    // payload is the one `cosign verify` printed in the same trace; its digest must be the layer digest.
    const payload = Buffer.from('{"critical":{"identity":{"docker-reference":"index.docker.io/chihjenhuang/cosign1"},"image":{"docker-manifest-digest":"sha256:4c1c50d0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d"},"type":"cosign container image signature"},"optional":null}');
    const manifestBytes = fixture('legacy/cosign-1.13-sig-manifest.json');
    const realManifest = JSON.parse(manifestBytes.toString()) as ManifestDoc;
    assert.equal(sha256(payload), realManifest.layers[0]!.digest);
    await pushBlob(server.url, 'sign/real', fixture('legacy/cosign-1.13-sig-config.json'));
    await pushBlob(server.url, 'sign/real', payload);
    const tag = `sha256-${hex(real.manifest.digest)}.sig`;
    assert.equal(await putManifest(server.url, 'sign/real', tag, manifestBytes), 201);

    ok(await run(['sign', '--legacy-tag', '--key', key('cosign'), image('sign/real:v1')]), 'sign onto the cosign image');
    const extended = (await get(server.url, `/v2/sign/real/manifests/${tag}`)).json as ManifestDoc;
    assert.equal(extended.layers.length, 2);
    assert.deepEqual(extended.layers[0], realManifest.layers[0]);
    const r = payloads(ok(await run(['verify', '--key', pub('cosign'), image('sign/real:v1')]), 'verify'));
    assert.deepEqual(r.map((p) => p.critical.identity['docker-reference']), [image('sign/real')]);

    // sigstore-rs's real busybox signature verifies with its key, but names another image.
    const busybox = fixture('legacy/busybox-payload.json');
    const config = Buffer.from(JSON.stringify({ architecture: '', os: '', rootfs: { type: 'layers', diff_ids: [sha256(busybox)] }, config: {} }));
    await pushBlob(server.url, 'sign/real', busybox);
    await pushBlob(server.url, 'sign/real', config);
    const copied = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: sha256(config) },
      layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', size: busybox.length, digest: sha256(busybox), annotations: { 'dev.cosignproject.cosign/signature': fixture('legacy/busybox-signature.b64').toString().trim() } }],
    }));
    assert.equal(await putManifest(server.url, 'sign/real', tag, copied), 201);
    await writeFile(join(work, 'busybox.pub'), fixture('legacy/busybox-cosign.pub'));
    fails(
      await run(['verify', '--key', join(work, 'busybox.pub'), image('sign/real:v1')]),
      /digest-mismatch: invalid or missing digest in claim: sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b/,
      'copied busybox signature',
    );
  });

  test('errors: wrong password, unknown tag, unreachable registry, bad -a, missing key file: one clear line each', async () => {
    fails(await run(['sign', '--key', key('cosign'), image('sign/app:v1')], { COSIGN_PASSWORD: 'wrong' }), /^berth: cannot decrypt the private key .*cosign\.key: wrong password/, 'wrong password');
    fails(await run(['verify', '--key', pub('cosign'), image('sign/app:nope')]), /^berth: .*sign\/app has no manifest nope/, 'unknown tag');
    fails(await run(['verify', '--key', pub('cosign'), '127.0.0.1:9/sign/app:v1']), /^berth: UNAVAILABLE: .*\ncannot reach 127\.0\.0\.1:9/, 'unreachable');
    fails(await run(['sign', '-a', 'novalue', '--key', key('cosign'), image('sign/app:v1')]), /annotation "novalue" is not key=value/, 'bad -a');
    fails(await run(['verify', '--key', join(work, 'missing.pub'), image('sign/app:v1')]), /^berth: cannot read public key .*missing\.pub: no such file/, 'missing key');
    fails(await run(['verify', image('sign/app:v1')]), /pass --key cosign\.pub, or all of --certificate-identity/, 'no key');
  });
});
