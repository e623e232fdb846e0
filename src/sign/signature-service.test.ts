import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryError } from '../errors/registry-error.js';
import { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import { MediaType } from '../oci/media-type.js';
import { FilesystemDriver } from '../storage/drivers/filesystem.js';
import { BlobStore } from '../storage/blob-store.js';
import { SqlMetadataStore } from '../metadata/sql/sql-metadata-store.js';
import { SqlScanStore } from '../metadata/sql/sql-scan-store.js';
import { SqlSettingsStore } from '../metadata/sql/sql-settings-store.js';
import { BlobUploads } from '../registry/blob-uploads.js';
import { PullRecorder } from '../registry/pull-recorder.js';
import { Registry } from '../registry/registry.js';
import { SettingsService } from '../lifecycle/settings-service.js';
import {
  appendSignatureLayer,
  attestImageBundle,
  loadPrivateKey,
  publicKeyPem,
  signatureTag,
  signImageBundle,
  signImageLegacy,
  type CosignPrivateKey,
  type ManifestToPush,
} from './cosign/index.js';
import { signJws } from './notation/jws-envelope.js';
import { notationSignatureManifest } from './notation/signature-manifest.js';
import { hasOpenssl, makePki, type TestPki } from './notation/test-support.js';
import { NOT_CONFIGURED, parseSigningPolicy, type SigningPolicy } from './policy.js';
import { SignatureGate } from './signature-gate.js';
import { SignatureService } from './signature-service.js';
import { postgresStores, postgresUnreachable, sqliteStore, type SharedSqlStore } from '../../test/helpers/sql-test-databases.js';

/**
 * The signature service and the pull gate wired into a real Registry (SQLite or PostgreSQL
 * metadata, blobs on the filesystem): images pushed, signatures made with berth's cosign and
 * notation signers (keys from node:crypto, a certificate chain from openssl) and pushed as cosign
 * and notation push them, then status read and pulls tried.
 */
const REPO = 'team/app';
const HOST = 'registry.test';
const noOpenssl = hasOpenssl ? undefined : 'the openssl CLI is not installed';

interface World {
  registry: Registry;
  service: SignatureService;
  checks: SqlScanStore;
  settings: SettingsService;
  warnings: string[];
  cleanup(): Promise<void>;
}

async function makeWorld(shared: SharedSqlStore): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-signature-test-'));
  const driver = new FilesystemDriver(dir);
  await driver.init();
  const blobs = new BlobStore(driver);
  const db = await shared.open();
  const meta = new SqlMetadataStore(db);
  const checks = new SqlScanStore(db);
  const settings = new SettingsService(new SqlSettingsStore(db), { parsers: { signing: parseSigningPolicy } });
  const warnings: string[] = [];
  const service = new SignatureService({
    meta,
    blobs,
    checks,
    policy: (repository) => settings.forRepository<SigningPolicy>('signing', repository),
    registryHost: HOST,
    log: { warn: (o, m) => warnings.push(`${m} ${JSON.stringify(o)}`) },
  });
  const uploads = new BlobUploads(blobs, meta, Date.now);
  const pulls = new PullRecorder(meta, 60_000, () => undefined);
  const registry = new Registry(blobs, meta, uploads, pulls, {
    deleteEnabled: true,
    maxManifestBytes: 4 << 20,
    pullGate: new SignatureGate(service),
    onPushed: (m) => service.onPushed(m),
  });
  return {
    registry,
    service,
    checks,
    settings,
    warnings,
    async cleanup() {
      await service.idle();
      await shared.cleanup();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function newKey(): Promise<{ key: CosignPrivateKey; pem: string; hint: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const key = await loadPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const hint = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  return { key, pem: publicKeyPem(publicKey), hint };
}

let pki: TestPki | undefined;
const chain = (): TestPki => (pki ??= makePki());

async function pushManifest(w: World, m: { manifest: Buffer; mediaType: string; blobs: { bytes: Buffer }[] }, tag?: string): Promise<Descriptor> {
  for (const b of m.blobs) await w.registry.putArtifactBlob(REPO, b.bytes);
  const { digest } = await w.registry.putManifest(REPO, tag ? { tag } : { digest: Digest.fromBytes(m.manifest) }, m.manifest, m.mediaType);
  return { mediaType: m.mediaType, digest: digest.toString(), size: m.manifest.length };
}

/** A runnable image: an image config and one filesystem layer (random bytes make each unique). */
async function pushImage(w: World, tag: string | undefined, extra: Record<string, unknown> = {}): Promise<Descriptor> {
  const layer = randomBytes(64);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [Digest.fromBytes(layer).toString()] } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: Digest.fromBytes(config).toString(), size: config.length },
      layers: [{ mediaType: MediaType.OciLayerGzip, digest: Digest.fromBytes(layer).toString(), size: layer.length }],
      ...extra,
    }),
  );
  return pushManifest(w, { manifest, mediaType: MediaType.OciManifest, blobs: [{ bytes: config }, { bytes: layer }] }, tag);
}

async function pushIndex(w: World, tag: string, platforms: Descriptor[]): Promise<Descriptor> {
  const manifests = platforms.map((p, i) => ({ ...p, platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' } }));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
  return pushManifest(w, { manifest, mediaType: MediaType.OciIndex, blobs: [] }, tag);
}

const pushBundle = (w: World, key: CosignPrivateKey, subject: Descriptor): Promise<Descriptor> =>
  pushManifest(w, signImageBundle(key, { subject, created: new Date('2026-01-02T03:04:05Z') }));

/** Adds a `.sig` layer to the image at the subject's signature tag, as `cosign sign --new-bundle-format=false` does. */
async function pushLegacy(w: World, key: CosignPrivateKey, subject: Descriptor): Promise<string> {
  const layer = signImageLegacy(key, { dockerReference: `${HOST}/${REPO}`, manifestDigest: subject.digest });
  const { image } = appendSignatureLayer(undefined, layer);
  await pushManifest(w, image as ManifestToPush, signatureTag(subject.digest));
  return layer.descriptor.digest;
}

async function pushNotation(w: World, subject: Descriptor): Promise<{ source: string; signer: string }> {
  const { leaf, chain: certs } = chain();
  const env = await signJws({ key: leaf.key, chain: certs, target: subject });
  const sig = notationSignatureManifest({ envelope: env, certificateChain: env.certificateChain, signingTime: env.signingTime, subject });
  const pushed = await pushManifest(w, { manifest: sig.bytes, mediaType: sig.mediaType, blobs: sig.blobs });
  return { source: pushed.digest, signer: env.certificateChain[0]!.subjectString };
}

const notationPolicy = (): SigningPolicy['notation'] => ({
  trustPolicy: {
    version: '1.0',
    trustPolicies: [
      { name: 'app', registryScopes: [`${HOST}/${REPO}`], signatureVerification: { level: 'strict' }, trustStores: ['ca:acme'], trustedIdentities: ['*'] },
    ],
  },
  trustStores: { 'ca:acme': [new X509Certificate(chain().root.der).toString()] },
});

/** A client's GET (recordPull): the pull policies are consulted (a HEAD is not gated). */
const pull = (w: World, ref: { tag: string } | { digest: string }) =>
  w.registry.getManifest(REPO, 'tag' in ref ? ref : { digest: Digest.parse(ref.digest) }, true);

async function refusal(w: World, ref: { tag: string } | { digest: string }): Promise<string> {
  try {
    await pull(w, ref);
  } catch (e) {
    assert.ok(e instanceof RegistryError && e.code === 'DENIED', String(e));
    return e.message;
  }
  return assert.fail('the pull was allowed');
}

const unsigned = (digest: string, cosign: string, notation = '0 notation signatures') =>
  `${REPO}@${digest} has no signature from a trusted signer (checked ${cosign}; ${notation}); this repository only serves signed images`;

function signatureSuite(name: string, open: () => Promise<SharedSqlStore>, skip?: string): void {
  describe(`signature status and pull gate on ${name}`, { skip }, () => {
    const withWorld = (title: string, fn: (w: World) => Promise<void>, opts: { skip?: string } = {}) =>
      test(title, { timeout: 60_000, skip: opts.skip }, async () => {
        const w = await makeWorld(await open());
        try {
          await fn(w);
        } finally {
          await w.cleanup();
        }
      });

    withWorld(
      'status lists and verifies a cosign bundle, a .sig layer and a notation signature; attestations are not signatures',
      async (w) => {
        const signer = await newKey();
        const image = await pushImage(w, 'v1');
        const bundle = await pushBundle(w, signer.key, image);
        const legacyLayer = await pushLegacy(w, signer.key, image);
        const notation = await pushNotation(w, image);
        const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: image.digest.slice(7) } }], predicateType: 'https://example.com/p', predicate: {} }));
        await pushManifest(w, attestImageBundle(signer.key, { subject: image, created: new Date(), statement, predicateType: 'https://example.com/p' }));
        await w.settings.put('signing', REPO, { cosign: { keys: [signer.pem] }, notation: notationPolicy() });

        const s = await w.service.status(REPO, image.digest);
        assert.equal(s.signed, true);
        assert.equal(s.digest, image.digest);
        assert.deepEqual(
          s.signatures.map(({ kind, source, verified, signer: who, reason }) => ({ kind, source, verified, signer: who, reason })),
          [
            { kind: 'cosign-bundle', source: bundle.digest, verified: true, signer: signer.hint, reason: undefined },
            { kind: 'cosign-legacy', source: legacyLayer, verified: true, signer: signer.hint, reason: undefined },
            { kind: 'notation', source: notation.source, verified: true, signer: notation.signer, reason: undefined },
          ],
        );
        const kept = await w.checks.getSignatureCheck(REPO, image.digest);
        assert.deepEqual([kept?.verified, kept?.trustVersion], [true, s.trustVersion]);
        assert.deepEqual(await w.service.status(REPO, image.digest), s, 'the kept check is served');
      },
      { skip: noOpenssl },
    );

    withWorld('signatures by a key the policy does not trust: not signed, with reasons, and refused', async (w) => {
      const [signer, trusted] = [await newKey(), await newKey()];
      const image = await pushImage(w, 'v1');
      await pushBundle(w, signer.key, image);
      await pushLegacy(w, signer.key, image);
      await w.settings.put('signing', REPO, { enforce: true, cosign: { keys: [trusted.pem] } });

      const s = await w.service.status(REPO, image.digest);
      assert.equal(s.signed, false);
      assert.deepEqual(
        s.signatures.map((x) => [x.kind, x.verified, x.reason, x.signer]),
        [
          ['cosign-bundle', false, 'untrusted-signer', signer.hint],
          ['cosign-legacy', false, 'bad-signature', ''],
        ],
      );
      assert.equal(await refusal(w, { tag: 'v1' }), unsigned(image.digest, '2 cosign signatures: untrusted-signer, bad-signature'));
    });

    withWorld('without a policy, signatures are listed as not configured and pulls are not gated', async (w) => {
      const signer = await newKey();
      const image = await pushImage(w, 'v1');
      await pushBundle(w, signer.key, image);
      const s = await w.service.status(REPO, image.digest);
      assert.deepEqual([s.signed, s.trustVersion, s.signatures[0]?.reason, s.signatures[0]?.signer], [false, 'none', NOT_CONFIGURED, signer.hint]);
      await pull(w, { tag: 'v1' });
    });

    withWorld('a policy change recomputes the kept check', async (w) => {
      const [signer, other] = [await newKey(), await newKey()];
      const image = await pushImage(w, 'v1');
      await pushBundle(w, signer.key, image);
      await w.settings.put('signing', `team/*`, { enforce: true, cosign: { keys: [other.pem] } });
      const before = await w.service.status(REPO, image.digest);
      assert.equal(before.signed, false);
      await refusal(w, { tag: 'v1' });

      await w.settings.put('signing', `team/*`, { enforce: true, cosign: { keys: [other.pem, signer.pem] } });
      const afterChange = await w.service.status(REPO, image.digest);
      assert.equal(afterChange.signed, true);
      assert.notEqual(afterChange.trustVersion, before.trustVersion);
      assert.equal((await w.checks.getSignatureCheck(REPO, image.digest))?.trustVersion, afterChange.trustVersion);
      await pull(w, { tag: 'v1' });
    });

    withWorld('a pushed signature drops the kept check and rechecks it in the background', async (w) => {
      const signer = await newKey();
      const image = await pushImage(w, 'v1');
      await w.settings.put('signing', REPO, { enforce: true, cosign: { keys: [signer.pem] } });
      assert.equal(await refusal(w, { tag: 'v1' }), unsigned(image.digest, '0 cosign signatures'));
      assert.equal((await w.checks.getSignatureCheck(REPO, image.digest))?.verified, false);

      await pushBundle(w, signer.key, image);
      await w.service.idle();
      assert.equal((await w.checks.getSignatureCheck(REPO, image.digest))?.verified, true);
      await pull(w, { tag: 'v1' });

      // The same for the tag scheme, on a second image.
      const second = await pushImage(w, 'v2');
      await refusal(w, { tag: 'v2' });
      await pushLegacy(w, signer.key, second);
      await w.service.idle();
      await pull(w, { tag: 'v2' });
      assert.deepEqual(w.warnings, []);
    });

    withWorld(
      'the gate always serves signature artifacts, but not a runnable image that claims to be one',
      async (w) => {
        const [signer, trusted] = [await newKey(), await newKey()];
        const image = await pushImage(w, 'v1');
        const bundle = await pushBundle(w, signer.key, image);
        await pushLegacy(w, signer.key, image);
        const notation = await pushNotation(w, image);
        await w.settings.put('signing', REPO, { enforce: true, cosign: { keys: [trusted.pem] } });

        await refusal(w, { tag: 'v1' });
        await pull(w, { digest: bundle.digest });
        await pull(w, { digest: notation.source });
        await pull(w, { tag: signatureTag(image.digest) });

        const withSubject = await pushImage(w, undefined, { subject: image });
        assert.equal(await refusal(w, { digest: withSubject.digest }), unsigned(withSubject.digest, '0 cosign signatures'));
        const other = await pushImage(w, 'v2');
        const disguised = await pushImage(w, signatureTag(other.digest));
        assert.equal(await refusal(w, { tag: signatureTag(other.digest) }), unsigned(disguised.digest, '0 cosign signatures'));
      },
      { skip: noOpenssl },
    );

    withWorld('an index is signed by its own signatures, and its platform manifests through it', async (w) => {
      const signer = await newKey();
      const [amd, arm] = [await pushImage(w, undefined), await pushImage(w, undefined)];
      const index = await pushIndex(w, 'multi', [amd, arm]);
      await w.settings.put('signing', REPO, { enforce: true, cosign: { keys: [signer.pem] } });
      assert.equal(await refusal(w, { tag: 'multi' }), unsigned(index.digest, '0 cosign signatures'));
      assert.equal(await refusal(w, { digest: amd.digest }), unsigned(amd.digest, '0 cosign signatures'));

      await pushBundle(w, signer.key, index);
      await w.service.idle();
      await pull(w, { tag: 'multi' });
      // Another node, or this one after its short refusal cache: the platform is served through its signed index.
      const s = await w.service.status(REPO, amd.digest);
      assert.deepEqual([s.signed, s.signedIndex, s.signatures], [true, index.digest, []]);

      // Platform signatures alone do not sign an index.
      const lone = await pushImage(w, undefined);
      await pushBundle(w, signer.key, lone);
      const unsignedIndex = await pushIndex(w, 'lone', [lone]);
      assert.equal(await refusal(w, { tag: 'lone' }), unsigned(unsignedIndex.digest, '0 cosign signatures'));
      await pull(w, { digest: lone.digest });
    });

    withWorld('a malformed signature artifact is an entry with its reason, not an error', async (w) => {
      const signer = await newKey();
      const image = await pushImage(w, 'v1');
      const good = signImageBundle(signer.key, { subject: image, created: new Date() });
      const junk = Buffer.from('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}');
      const manifest = Buffer.from(good.manifest.toString().replace(good.blobs[1]!.descriptor.digest, Digest.fromBytes(junk).toString()).replace(`"size":${good.blobs[1]!.bytes.length}`, `"size":${junk.length}`));
      await pushManifest(w, { manifest, mediaType: good.mediaType, blobs: [good.blobs[0]!, { bytes: junk }] });
      await w.settings.put('signing', REPO, { cosign: { keys: [signer.pem] } });
      const s = await w.service.status(REPO, image.digest);
      assert.deepEqual(
        s.signatures.map((x) => [x.kind, x.verified, x.reason]),
        [['cosign-bundle', false, 'malformed']],
      );
      await assert.rejects(w.service.status(REPO, `sha256:${'0'.repeat(64)}`), (e: unknown) => e instanceof RegistryError && e.code === 'MANIFEST_UNKNOWN');
    });
  });
}

signatureSuite('SQLite', sqliteStore);
const pgReason = await postgresUnreachable();
const pgStores = postgresStores(4);
signatureSuite('PostgreSQL', () => pgStores.store(), pgReason);
after(async () => {
  if (!pgReason) await pgStores.dropAll();
});
