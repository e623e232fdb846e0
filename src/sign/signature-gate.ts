import { LRUCache } from 'lru-cache';
import { denied } from '../errors/registry-error.js';
import type { ManifestRecord } from '../metadata/metadata-store.js';
import type { PullGate } from '../registry/pull-gate.js';
import type { SignatureService, SignatureStatus } from './signature-service.js';

type Verdict = 'allowed' | SignatureStatus;

/** Allowed pulls are remembered this long (a deleted signature is noticed within it). */
const ALLOWED_TTL_MS = 5 * 60 * 1000;
/** Refusals only briefly: a signature pushed to another node must start counting at once. */
const DENIED_TTL_MS = 2000;

/**
 * "Only signed images can be pulled": when the repository's signing policy has `enforce: true`, a
 * manifest without a signature verified by a trusted signer (its own, or its signed index's, see
 * signature-service.ts) is refused with DENIED saying what was checked. Artifacts attached to
 * images (referrers, signatures, cosign tag images) stay pullable so verifiers can fetch them,
 * unless they could run as a container. Decisions are cached per (repository, digest, trust
 * version) in front of the SignatureCheckStore.
 */
export class SignatureGate implements PullGate {
  /** By `repository@digest`: the decision and the trust version it was made under. */
  private readonly cache = new LRUCache<string, { trustVersion: string; verdict: Verdict }>({ max: 10_000, ttl: ALLOWED_TTL_MS });

  constructor(private readonly signatures: Pick<SignatureService, 'trust' | 'status' | 'attachedArtifact' | 'onRechecked'>) {
    // A signature pushed to this node counts at once; other nodes see it when their refusal expires.
    signatures.onRechecked((repository, digest) => this.cache.delete(`${repository}@${digest}`));
  }

  /** Resolves when the policy does not enforce signatures or the manifest is signed or an artifact; throws DENIED otherwise. */
  async checkPull(repository: string, manifest: ManifestRecord): Promise<void> {
    const { policy, trustVersion } = await this.signatures.trust(repository);
    if (!policy?.enforce) return;
    const key = `${repository}@${manifest.digest}`;
    const hit = this.cache.get(key);
    let verdict = hit?.trustVersion === trustVersion ? hit.verdict : undefined;
    if (verdict === undefined) {
      verdict = await this.judge(repository, manifest);
      this.cache.set(key, { trustVersion, verdict }, { ttl: verdict === 'allowed' ? ALLOWED_TTL_MS : DENIED_TTL_MS });
    }
    if (verdict === 'allowed') return;
    throw denied(unsignedMessage(repository, verdict), {
      digest: manifest.digest,
      signatures: verdict.signatures.slice(0, 20).map((s) => ({ kind: s.kind, source: s.source, reason: s.reason ?? null })),
    });
  }

  private async judge(repository: string, manifest: ManifestRecord): Promise<Verdict> {
    if (await this.signatures.attachedArtifact(repository, manifest)) return 'allowed';
    const status = await this.signatures.status(repository, manifest.digest, manifest);
    return status.signed ? 'allowed' : status;
  }
}

/**
 * The refusal: "team/app@sha256:… has no signature from a trusted signer (checked 2 cosign
 * signatures: bad-signature, untrusted-signer; 0 notation signatures); …", each reason once.
 */
export function unsignedMessage(repository: string, status: SignatureStatus): string {
  const cosign = status.signatures.filter((s) => s.kind !== 'notation');
  const notation = status.signatures.filter((s) => s.kind === 'notation');
  const checked = (what: string, list: typeof status.signatures): string => {
    const reasons = [...new Set(list.map((s) => s.reason ?? 'unverified'))];
    return `${list.length} ${what} signature${list.length === 1 ? '' : 's'}${reasons.length > 0 ? `: ${reasons.join(', ')}` : ''}`;
  };
  return (
    `${repository}@${status.digest} has no signature from a trusted signer ` +
    `(checked ${checked('cosign', cosign)}; ${checked('notation', notation)}); this repository only serves signed images`
  );
}
