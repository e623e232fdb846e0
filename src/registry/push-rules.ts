import type { PushLimits } from '../metadata/metadata-store.js';

/**
 * Rules a push must satisfy beyond the spec (tag immutability, quotas),
 * supplied by the lifecycle capability. The registry asks before writing and
 * the metadata store enforces the limits inside the push's own transaction.
 */
export interface PushRules {
  /** The limits for pushing a manifest to the repository (with the tag, if any), and the rule naming an immutable tag. */
  manifestLimits(repository: string, tag: string | null): Promise<{ limits: PushLimits; immutableRule?: string }>;
  /** Throws DENIED when adding this blob to the repository would exceed its project's quota. */
  checkBlob(repository: string, digest: string, size: number): Promise<void>;
  /** Throws DENIED when any of the tags may not be deleted (or moved away from by a delete). */
  checkTagDelete(repository: string, tags: string[]): Promise<void>;
}
