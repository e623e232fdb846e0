import { z } from 'zod';
import { PolicyDocumentError } from '../errors/document-error.js';
import { severityRank, type Severity } from './types.js';


/**
 * A scanning policy (settings kind `scanning`, per repository or `project/*`):
 * ```json
 * { "scanOnPush": true,
 *   "preventVulnerable": { "severity": "HIGH", "unscanned": "allow" },
 *   "allowlist": [{ "id": "CVE-2023-44487", "expires": "2027-01-31", "reason": "not reachable" }] }
 * ```
 */
export interface ScanPolicy {
  /** Scan each image pushed (every platform of an index) in the background. */
  scanOnPush: boolean;
  /** Refuse pulls of images with findings at or above `severity` (after the allowlist). */
  preventVulnerable?: { severity: Exclude<Severity, 'UNKNOWN'>; unscanned: 'allow' | 'deny' };
  /** Vulnerability IDs (or aliases) that do not count; an entry stops counting after `expires` (UTC day). */
  allowlist: { id: string; expires?: string; reason?: string }[];
}

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like 2027-01-31');

const schema = z
  .object({
    scanOnPush: z.boolean().default(true),
    preventVulnerable: z
      .object({
        severity: z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']),
        unscanned: z.enum(['allow', 'deny']).default('allow'),
      })
      .strict()
      .optional(),
    allowlist: z
      .array(
        z
          .object({ id: z.string().min(1).max(128), expires: day.optional(), reason: z.string().max(1000).optional() })
          .strict(),
      )
      .max(10_000)
      .default([]),
  })
  .strict();

/** Validates a scanning policy; PolicyDocumentError names the field. */
export function parseScanPolicy(input: unknown): ScanPolicy {
  const r = schema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    throw new PolicyDocumentError(`${field || 'document'}: ${issue.message}`, field);
  }
  return r.data;
}

/** True when an allowlist entry covers the vulnerability `ids` (its ID and aliases) at `now`. */
export function allowlisted(policy: Pick<ScanPolicy, 'allowlist'>, ids: readonly string[], now: number): boolean {
  return policy.allowlist.some((a) => ids.includes(a.id) && (a.expires === undefined || now < Date.parse(`${a.expires}T00:00:00Z`) + 86_400_000));
}

/** True when `s` is at or above `threshold`. */
export function atLeast(s: Severity, threshold: Severity): boolean {
  return severityRank(s) <= severityRank(threshold);
}
