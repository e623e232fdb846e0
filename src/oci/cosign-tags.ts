/**
 * Cosign's tag scheme (cosign 1 and 2, and `--legacy-tag`): the signatures,
 * attestations and SBOM of the manifest `sha256:<hex>` live in the same
 * repository under the tags `sha256-<hex>.sig`, `.att` and `.sbom`. Such a
 * manifest belongs to its image as an OCI referrer does, though it names no subject.
 */
const COSIGN_TAG = /^sha256-([a-f0-9]{64})\.(sig|att|sbom)$/;

export type CosignTagKind = 'sig' | 'att' | 'sbom';

/** The tag cosign uses for `digest`'s artifacts of one kind; undefined for a non-sha256 digest. */
export function cosignTag(digest: string, kind: CosignTagKind): string | undefined {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  return m ? `sha256-${m[1]}.${kind}` : undefined;
}

/** The digest a cosign tag attaches to (`sha256-<hex>.sig` -> `sha256:<hex>`), or undefined for other tags. */
export function cosignTagSubject(tag: string): string | undefined {
  const m = COSIGN_TAG.exec(tag);
  return m ? `sha256:${m[1]}` : undefined;
}

/** The digest an image's tags attach it to: when it has tags and every one is a cosign tag of one digest. */
export function taggedSubject(tags: readonly string[]): string | undefined {
  if (tags.length === 0) return undefined;
  const subjects = new Set(tags.map(cosignTagSubject));
  if (subjects.size !== 1) return undefined;
  return [...subjects][0];
}
