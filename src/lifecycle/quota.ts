import { LifecyclePolicyError } from './policy.js';

/** A project's quota: bytes (each unique blob of the project counted once) and tags; null is unlimited. */
export interface Quota {
  bytes: number | null;
  tags: number | null;
}

/** Validates `{"bytes": number|null, "tags": number|null}` (each optional); errors name the field. */
export function parseQuota(input: unknown): Quota {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new LifecyclePolicyError('a quota must be a JSON object like {"bytes": 10737418240, "tags": 1000}', '');
  }
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k !== 'bytes' && k !== 'tags') throw new LifecyclePolicyError(`unknown field "${k}" (allowed: bytes, tags)`, k);
  }
  const limit = (k: 'bytes' | 'tags'): number | null => {
    const v = o[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new LifecyclePolicyError(`${k} must be a whole number of at least 0, or null for unlimited`, k);
    }
    return v;
  };
  const q = { bytes: limit('bytes'), tags: limit('tags') };
  if (q.bytes === null && q.tags === null) throw new LifecyclePolicyError('a quota needs bytes or tags (or delete it)', 'bytes');
  return q;
}
