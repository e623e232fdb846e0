import { z } from 'zod';
import { OsvRecordError } from './errors.js';

/**
 * The parts of an OSV record (https://ossf.github.io/osv-schema/, schema
 * 1.7) the database and the matcher read. Unknown fields are kept in the
 * stored JSON and ignored here.
 */

// Generous bounds: real records reach thousands of versions (Ubuntu kernels)
// and hundreds of affected entries; a record is also capped in bytes on import.
const MAX_LIST = 100_000;
const text = z.string().max(1_000_000);
const shortText = z.string().min(1).max(1024);
const idList = z.array(shortText).max(10_000);
const extra = z.record(z.string(), z.unknown());

/** RFC 3339 timestamps as OSV writes them (`2023-05-01T19:22:20Z`, with optional fraction or offset). */
const timestamp = z
  .string()
  .max(64)
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i, 'not an RFC 3339 timestamp');

const severitySchema = z.looseObject({ type: shortText, score: shortText });

const eventSchema = z
  .looseObject({
    introduced: shortText.optional(),
    fixed: shortText.optional(),
    last_affected: shortText.optional(),
    limit: shortText.optional(),
  })
  .refine(
    (e) => [e.introduced, e.fixed, e.last_affected, e.limit].filter((v) => v !== undefined).length === 1,
    'each event must have exactly one of introduced, fixed, last_affected, limit',
  );

const rangeSchema = z.looseObject({
  type: shortText,
  repo: z.string().max(4096).optional(),
  events: z.array(eventSchema).min(1).max(10_000),
  database_specific: extra.optional(),
});

const affectedSchema = z.looseObject({
  package: z
    .looseObject({ ecosystem: shortText, name: shortText, purl: z.string().max(4096).optional() })
    .optional(),
  severity: z.array(severitySchema).max(100).optional(),
  ranges: z.array(rangeSchema).max(10_000).optional(),
  versions: z.array(shortText).max(MAX_LIST).optional(),
  ecosystem_specific: extra.optional(),
  database_specific: extra.optional(),
});

const recordSchema = z.looseObject({
  schema_version: z.string().max(64).optional(),
  id: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:+-]*$/, 'not an OSV identifier'),
  modified: timestamp,
  published: timestamp.optional(),
  withdrawn: timestamp.optional(),
  aliases: idList.optional(),
  upstream: idList.optional(),
  related: idList.optional(),
  summary: text.optional(),
  details: text.optional(),
  severity: z.array(severitySchema).max(100).optional(),
  affected: z.array(affectedSchema).max(MAX_LIST).optional(),
  references: z.array(z.looseObject({ type: z.string().max(64).optional(), url: z.string().max(8192) })).max(MAX_LIST).optional(),
  database_specific: extra.optional(),
});

export type OsvRecord = z.infer<typeof recordSchema>;
export type OsvAffected = z.infer<typeof affectedSchema>;
export type OsvRange = z.infer<typeof rangeSchema>;
export type OsvEvent = z.infer<typeof eventSchema>;
export type OsvSeverity = z.infer<typeof severitySchema>;

/**
 * Validates one parsed JSON value as an OSV record. Returns it with its
 * unknown fields kept; throws OsvRecordError naming the first problems.
 */
export function parseOsvRecord(value: unknown): OsvRecord {
  const result = recordSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`)
    .join('; ');
  const id = typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string' ? `${(value as { id: string }).id}: ` : '';
  throw new OsvRecordError(`${id}not a valid OSV record: ${problems}`);
}

/** Parses the bytes of one OSV JSON file; throws OsvRecordError for bad JSON or a bad record. */
export function parseOsvJson(bytes: Buffer | string): OsvRecord {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (e) {
    throw new OsvRecordError(`not JSON: ${(e as Error).message}`);
  }
  return parseOsvRecord(value);
}

/**
 * A sortable key for an RFC 3339 timestamp: milliseconds since the epoch and
 * the sub-millisecond digits, so records modified within the same millisecond
 * (OSV writes nanoseconds) still order correctly.
 */
export function timestampKey(ts: string): [number, string] {
  const ms = Date.parse(ts);
  const fraction = /\.(\d+)/.exec(ts)?.[1] ?? '';
  return [Number.isNaN(ms) ? 0 : ms, fraction.padEnd(9, '0').slice(3, 9)];
}

/** True when timestamp `a` is strictly later than `b`. */
export function isLater(a: string, b: string): boolean {
  const [am, af] = timestampKey(a);
  const [bm, bf] = timestampKey(b);
  return am !== bm ? am > bm : af > bf;
}

/** The ecosystem without its release suffix: `Debian:12` -> `Debian`, `Ubuntu:Pro:22.04:LTS` -> `Ubuntu`. */
export function baseEcosystem(ecosystem: string): string {
  const i = ecosystem.indexOf(':');
  return i < 0 ? ecosystem : ecosystem.slice(0, i);
}

/** PEP 503 normalised name, as OSV's PyPI ecosystem keys packages. */
export function normalizePackageName(ecosystem: string, name: string): string {
  return baseEcosystem(ecosystem) === 'PyPI' ? name.toLowerCase().replace(/[-_.]+/g, '-') : name;
}

/**
 * Whether the record is withdrawn at `now`. A zero or pre-epoch timestamp
 * (converters write `0001-01-01T00:00:00Z` for "unknown") and a time still to
 * come do not withdraw it.
 */
export function isWithdrawn(record: Pick<OsvRecord, 'withdrawn'>, now: number = Date.now()): boolean {
  if (record.withdrawn === undefined) return false;
  const at = Date.parse(record.withdrawn);
  return at > 0 && at <= now;
}
