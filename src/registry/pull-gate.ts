import type { ManifestRecord } from '../metadata/metadata-store.js';

/**
 * A project policy consulted before a manifest is served to a GET (by tag or
 * digest; a HEAD, which serves no content, is not gated, so signers can name
 * an image they are about to sign): "prevent vulnerable images from being pulled", "only signed
 * images can be pulled". Capabilities implement it; main.ts registers them.
 */
export interface PullGate {
  /** Resolves when `manifest` may be served from `repository`; throws DENIED (a RegistryError) saying what is missing. */
  checkPull(repository: string, manifest: ManifestRecord): Promise<void>;
}

/** What a pushed manifest was, for capabilities that act on pushes (scan on push, signature checks). */
export interface PushedManifest {
  repository: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  subjectDigest: string | null;
  tag: string | null;
}

/** Told after each successful manifest push; must not throw or block (work goes to a queue). */
export type PushListener = (m: PushedManifest) => void;

/** Every gate in turn: the first refusal wins. */
export function allGates(gates: readonly PullGate[]): PullGate {
  return {
    async checkPull(repository, manifest) {
      for (const g of gates) await g.checkPull(repository, manifest);
    },
  };
}
