/**
 * berth notation sign / verify as a user runs them: the compiled CLI against the built server, a
 * test CA chain (root -> intermediate -> leaf) made with openssl, a trust store directory in
 * notation's layout and trust policy documents. The pushed signature manifest and JWS envelope are
 * read back over HTTP and checked here with node:crypto (ES256 over `protected.payload`).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { makeLayoutImage } from '../helpers/oci-layout.js';
import { hasOpenssl, makePki, type TestPki } from '../../src/sign/notation/test-support.js';
import { berth, fails, get, ok, pushWithSkopeo, putManifest, sha256, skipWithoutSkopeo, type CliResult, type ManifestDoc } from './sign-helpers.js';

const SIGNATURE_TYPE = 'application/vnd.cncf.notary.signature';
const SIGNER_DN = 'C=US, ST=WA, L=Seattle, O=berth test, OU=Build, CN=Test Signer';
const skip = skipWithoutSkopeo || (hasOpenssl ? false : 'the openssl CLI is not installed');

interface Outcome {
  reference: string;
  outcome: string;
  policy?: string;
  reason?: string;
  signatures: { digest: string; outcome: string; signer?: string; reasons: string[] }[];
}

const pem = (der: Buffer): string => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;

describe('notation signatures with the berth CLI', { skip }, () => {
  let server: TestServer;
  let work: string;
  let dockerConfig: string;
  let pki: TestPki;
  const app = makeLayoutImage({ seed: 81 });
  const other = makeLayoutImage({ seed: 82 });
  const run = (args: string[]): Promise<CliResult> => berth(args, { dockerConfig, cwd: work });
  const image = (ref: string) => `${server.host}/${ref}`;
  const file = (name: string) => join(work, name);
  const outcome = (r: CliResult) => JSON.parse(r.out) as Outcome;

  async function writePolicy(name: string, statement: Record<string, unknown>): Promise<string> {
    const doc = {
      version: '1.0',
      trustPolicies: [{ name: 'app', registryScopes: [`${server.host}/notary/app`], signatureVerification: { level: 'strict' }, trustStores: ['ca:test'], trustedIdentities: [`x509.subject: ${SIGNER_DN}`], ...statement }],
    };
    await writeFile(file(name), JSON.stringify(doc));
    return file(name);
  }

  async function trustStore(name: string, root: Buffer): Promise<string> {
    const dir = file(name);
    await mkdir(join(dir, 'x509', 'ca', 'test'), { recursive: true });
    await writeFile(join(dir, 'x509', 'ca', 'test', 'root.pem'), pem(root));
    return dir;
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-notation-'));
    dockerConfig = join(work, 'docker');
    await mkdir(dockerConfig);
    pki = makePki({ withIntermediate: true });
    await writeFile(file('leaf.key'), pki.leaf.key.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(file('chain.pem'), pki.chain.map(pem).join(''));
    server = await startServer({ env: { BERTH_GC_SCHEDULE: '', BERTH_LIFECYCLE_SCHEDULE: '' } });
    await pushWithSkopeo(work, 'app', { image: app }, image('notary/app:v1'));
    await pushWithSkopeo(work, 'other', { image: other }, image('notary/app:other'));
  });

  after(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('sign pushes a signature manifest (blobs, then the manifest with subject) whose JWS verifies independently', async () => {
    const r = ok(await run(['notation', 'sign', '--key', file('leaf.key'), '--cert', file('chain.pem'), image('notary/app:v1')]), 'notation sign');
    assert.match(r.err, /WARNING: .*names a tag, not a digest/);
    assert.match(r.out, new RegExp(`^Successfully signed ${image('notary/app')}@${app.manifest.digest} \\(signature manifest sha256:[0-9a-f]{64}\\)\n$`));

    const referrers = (await get(server.url, `/v2/notary/app/referrers/${app.manifest.digest}`)).json as { manifests: { digest: string; artifactType?: string }[] };
    assert.deepEqual(referrers.manifests.map((m) => m.artifactType), [SIGNATURE_TYPE]);
    const m = (await get(server.url, `/v2/notary/app/manifests/${referrers.manifests[0]!.digest}`)).json as ManifestDoc;
    assert.equal(m.config.mediaType, SIGNATURE_TYPE);
    assert.equal(m.layers[0]?.mediaType, 'application/jose+json');
    assert.deepEqual(m.subject, app.descriptor);
    const thumbprints = pki.chain.map((der) => createHash('sha256').update(der).digest('hex'));
    assert.equal(m.annotations?.['io.cncf.notary.x509chain.thumbprint#S256'], JSON.stringify(thumbprints));

    const env = (await get(server.url, `/v2/notary/app/blobs/${m.layers[0]!.digest}`)).json as { payload: string; protected: string; header: { x5c: string[] }; signature: string };
    const header = JSON.parse(Buffer.from(env.protected, 'base64url').toString()) as Record<string, unknown>;
    assert.equal(header.alg, 'ES256');
    assert.equal(header['io.cncf.notary.signingScheme'], 'notary.x509');
    assert.deepEqual(JSON.parse(Buffer.from(env.payload, 'base64url').toString()), { targetArtifact: { digest: app.manifest.digest, mediaType: app.descriptor.mediaType, size: app.manifest.size } });
    const leaf = new X509Certificate(Buffer.from(env.header.x5c[0]!, 'base64'));
    const signed = cryptoVerify('sha256', Buffer.from(`${env.protected}.${env.payload}`), { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(env.signature, 'base64url'));
    assert.ok(signed, 'the JWS signature verifies with the leaf certificate in x5c');
  });

  test('verify: trusted CA and identity -> verified (exit 0); another CA, another identity, another scope -> failed (exit 1)', async () => {
    const store = await trustStore('store', pki.root.der);
    const policy = await writePolicy('policy.json', {});
    const good = outcome(ok(await run(['notation', 'verify', '--trust-policy', policy, '--trust-store', store, image('notary/app:v1')]), 'verify'));
    assert.equal(good.outcome, 'verified');
    assert.equal(good.reference, `${server.host}/notary/app@${app.manifest.digest}`);
    assert.equal(good.signatures[0]?.signer, 'CN=Test Signer,OU=Build,O=berth test,L=Seattle,ST=WA,C=US');

    const strangerCa = makePki();
    const wrongStore = await trustStore('wrong-store', strangerCa.root.der);
    const r1 = fails(await run(['notation', 'verify', '--trust-policy', policy, '--trust-store', wrongStore, image('notary/app:v1')]), /is not verified: none of the 1 signatures verified/, 'another CA');
    assert.match(outcome(r1).signatures[0]?.reasons[0] ?? '', /^authenticity: the certificate chain of .* does not lead to a certificate in trust store\(s\) ca:test/);

    const otherId = await writePolicy('other-identity.json', { trustedIdentities: ['x509.subject: C=US, ST=WA, O=someone else'] });
    const r2 = fails(await run(['notation', 'verify', '--trust-policy', otherId, '--trust-store', store, image('notary/app:v1')]), /is not verified/, 'another identity');
    assert.match(outcome(r2).signatures[0]?.reasons[0] ?? '', /matches none of the trusted identities/);

    const scoped = await writePolicy('scoped.json', { registryScopes: ['registry.example.com/notary/app'] });
    const r3 = fails(await run(['notation', 'verify', '--trust-policy', scoped, '--trust-store', store, image('notary/app:v1')]), /no trust policy statement applies/, 'scope');
    assert.equal(outcome(r3).outcome, 'failed');

    const skipping = await writePolicy('skip.json', { signatureVerification: { level: 'skip' }, trustStores: undefined, trustedIdentities: undefined });
    const r4 = fails(await run(['notation', 'verify', '--trust-policy', skipping, '--trust-store', store, image('notary/app:v1')]), /skips verification/, 'skip');
    assert.equal(outcome(r4).outcome, 'skipped');
  });

  test('an unsigned image, and a signature manifest re-pointed at it, fail', async () => {
    const store = await trustStore('store2', pki.root.der);
    const policy = await writePolicy('policy2.json', {});
    const unsigned = fails(await run(['notation', 'verify', '--trust-policy', policy, '--trust-store', store, image('notary/app:other')]), /no signature is associated with/, 'unsigned');
    assert.equal(outcome(unsigned).signatures.length, 0);

    const referrers = (await get(server.url, `/v2/notary/app/referrers/${app.manifest.digest}`)).json as { manifests: { digest: string }[] };
    const m = (await get(server.url, `/v2/notary/app/manifests/${referrers.manifests[0]!.digest}`)).json as ManifestDoc & Record<string, unknown>;
    m.subject = { ...other.descriptor };
    const forged = Buffer.from(JSON.stringify(m));
    assert.equal(await putManifest(server.url, 'notary/app', sha256(forged), forged), 201);
    const r = fails(await run(['notation', 'verify', '--trust-policy', policy, '--trust-store', store, image('notary/app:other')]), /is not verified/, 're-pointed');
    assert.match(outcome(r).signatures[0]?.reasons[0] ?? '', new RegExp(`^integrity: the signature is for .*${app.manifest.digest}.* not .*${other.manifest.digest}`));
  });

  test('sign refuses a key that is not the leaf certificate\'s, and bad files, with one clear line', async () => {
    const stranger = makePki();
    await writeFile(file('stranger.key'), stranger.leaf.key.export({ type: 'pkcs8', format: 'pem' }));
    fails(await run(['notation', 'sign', '--key', file('stranger.key'), '--cert', file('chain.pem'), image('notary/app:v1')]), /does not belong to the signing certificate/, 'mismatched key');
    await writeFile(file('garbage.pem'), 'not a certificate');
    fails(await run(['notation', 'sign', '--key', file('leaf.key'), '--cert', file('garbage.pem'), image('notary/app:v1')]), /^berth: certificate chain .*garbage\.pem: /, 'bad chain');
    fails(await run(['notation', 'verify', '--trust-policy', file('garbage.pem'), '--trust-store', work, image('notary/app:v1')]), /^berth: trust policy .*garbage\.pem: trust policy document is not JSON/, 'bad policy');
    const policy = await writePolicy('policy3.json', {});
    fails(await run(['notation', 'verify', '--trust-policy', policy, '--trust-store', file('nowhere'), image('notary/app:v1')]), /trust store directory .*nowhere does not exist/, 'no store');
  });
});
