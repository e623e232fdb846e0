import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryError } from '../errors/registry-error.js';
import type { ManifestRecord } from '../metadata/metadata-store.js';
import { SigningTrust } from './policy.js';
import { SignatureGate, unsignedMessage } from './signature-gate.js';
import type { SignatureEntry, SignatureService, SignatureStatus } from './signature-service.js';

/*
 * The gate's own logic over a stand-in service (the wired behaviour on real stores is in
 * signature-service.test.ts): when it asks, what it caches, what it says.
 */
const DIGEST = `sha256:${'a'.repeat(64)}`;
const RECORD: ManifestRecord = {
  repository: 'team/app',
  digest: DIGEST,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 100,
  artifactType: 'application/vnd.oci.image.config.v1+json',
  subjectDigest: null,
  annotations: null,
  pushedAt: 0,
  lastPulledAt: null,
};

const entry = (kind: SignatureEntry['kind'], reason?: string): SignatureEntry => ({ kind, source: `sha256:${'b'.repeat(64)}`, verified: reason === undefined, signer: '', reason });

class FakeService implements Pick<SignatureService, 'trust' | 'status' | 'attachedArtifact' | 'onRechecked'> {
  enforce = true;
  trustVersion = 'v1';
  signed = false;
  attached = false;
  signatures: SignatureEntry[] = [];
  calls = { status: 0, attached: 0 };
  listener: ((repository: string, digest: string) => void) | undefined;

  async trust() {
    const policy = { enforce: this.enforce, cosign: { keys: [], keyless: [] } };
    return { policy, trustVersion: this.trustVersion, trust: SigningTrust.none() };
  }
  async status(_repository: string, digest: string): Promise<SignatureStatus> {
    this.calls.status++;
    return { digest, signed: this.signed, signatures: this.signatures, checkedAt: 0, trustVersion: this.trustVersion };
  }
  async attachedArtifact(): Promise<boolean> {
    this.calls.attached++;
    return this.attached;
  }
  onRechecked(listener: (repository: string, digest: string) => void): void {
    this.listener = listener;
  }
}

async function deniedMessage(gate: SignatureGate): Promise<string> {
  try {
    await gate.checkPull('team/app', RECORD);
  } catch (e) {
    assert.ok(e instanceof RegistryError && e.code === 'DENIED', String(e));
    return e.message;
  }
  return assert.fail('allowed');
}

test('without enforcement nothing is looked up', async () => {
  const svc = new FakeService();
  svc.enforce = false;
  await new SignatureGate(svc).checkPull('team/app', RECORD);
  assert.deepEqual(svc.calls, { status: 0, attached: 0 });
});

test('an unsigned manifest is refused, saying what was checked', async () => {
  const svc = new FakeService();
  svc.signatures = [entry('cosign-bundle', 'bad-signature'), entry('cosign-legacy', 'untrusted-signer'), entry('cosign-bundle', 'bad-signature'), entry('notation', 'expired')];
  const gate = new SignatureGate(svc);
  assert.equal(
    await deniedMessage(gate),
    `team/app@${DIGEST} has no signature from a trusted signer (checked 3 cosign signatures: bad-signature, untrusted-signer; ` +
      '1 notation signature: expired); this repository only serves signed images',
  );
  await assert.rejects(gate.checkPull('team/app', RECORD), (e: unknown) => {
    assert.deepEqual((e as RegistryError).detail, {
      digest: DIGEST,
      signatures: svc.signatures.map((s) => ({ kind: s.kind, source: s.source, reason: s.reason ?? null })),
    });
    return true;
  });
});

test('decisions are cached per trust version; a recheck of the manifest forgets its refusal', async () => {
  const svc = new FakeService();
  const gate = new SignatureGate(svc);
  await deniedMessage(gate);
  await deniedMessage(gate);
  assert.equal(svc.calls.status, 1, 'the refusal is cached');
  svc.signed = true;
  svc.listener?.('team/app', DIGEST);
  await gate.checkPull('team/app', RECORD);
  await gate.checkPull('team/app', RECORD);
  assert.equal(svc.calls.status, 2, 'the allowed pull is cached');
  svc.signed = false;
  svc.trustVersion = 'v2';
  await deniedMessage(gate);
  assert.equal(svc.calls.status, 3, 'another trust version decides again');
});

test('attached artifacts are served without a status', async () => {
  const svc = new FakeService();
  svc.attached = true;
  await new SignatureGate(svc).checkPull('team/app', RECORD);
  assert.deepEqual(svc.calls, { status: 0, attached: 1 });
});

test('unsignedMessage: no signatures at all', () => {
  const status: SignatureStatus = { digest: DIGEST, signed: false, signatures: [], checkedAt: 0, trustVersion: 'none' };
  assert.equal(
    unsignedMessage('team/app', status),
    `team/app@${DIGEST} has no signature from a trusted signer (checked 0 cosign signatures; 0 notation signatures); this repository only serves signed images`,
  );
});
