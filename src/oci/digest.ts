import { createHash, type Hash } from 'node:crypto';

/**
 * A content digest, `algorithm:encoded` (OCI image-spec "Digests").
 * Only sha256 and sha512 are accepted: they are the registered algorithms, and
 * a registry must be able to verify what it stores.
 */
export type DigestAlgorithm = 'sha256' | 'sha512';

const ENCODED_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
/** The spec's grammar for any digest: algorithm-component(s) ':' encoded. */
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export class DigestParseError extends Error {}

export class Digest {
  private constructor(
    readonly algorithm: DigestAlgorithm,
    readonly hex: string,
  ) {}

  /** Parses and validates; throws DigestParseError with the reason. */
  static parse(s: string): Digest {
    if (typeof s !== 'string' || s.length > 7 + 1 + 128 || !DIGEST_GRAMMAR.test(s)) {
      throw new DigestParseError(`not a digest: ${JSON.stringify(String(s).slice(0, 80))}`);
    }
    const i = s.indexOf(':');
    const algorithm = s.slice(0, i);
    const hex = s.slice(i + 1);
    if (algorithm !== 'sha256' && algorithm !== 'sha512') {
      throw new DigestParseError(`unsupported digest algorithm ${algorithm}`);
    }
    if (hex.length !== ENCODED_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
      throw new DigestParseError(`${algorithm} digest must be ${ENCODED_LENGTH[algorithm]} lowercase hex characters`);
    }
    return new Digest(algorithm, hex);
  }

  static tryParse(s: string): Digest | undefined {
    try {
      return Digest.parse(s);
    } catch {
      return undefined;
    }
  }

  /** Is this string shaped like a digest at all (contains ':' and matches the grammar)? */
  /** Does the string match the image-spec digest grammar (any algorithm)? */
  static matchesGrammar(s: string): boolean {
    return typeof s === 'string' && s.length <= 1024 && DIGEST_GRAMMAR.test(s);
  }

  static looksLike(s: string): boolean {
    return s.includes(':') && DIGEST_GRAMMAR.test(s);
  }

  static fromBytes(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Digest {
    return new Digest(algorithm, createHash(algorithm).update(bytes).digest('hex'));
  }

  static fromHash(algorithm: DigestAlgorithm, hash: Hash): Digest {
    return new Digest(algorithm, hash.digest('hex'));
  }

  toString(): string {
    return `${this.algorithm}:${this.hex}`;
  }

  equals(other: Digest): boolean {
    return this.algorithm === other.algorithm && this.hex === other.hex;
  }
}
