/**
 * Terminal rendering for the management commands: aligned text tables, byte sizes both ways,
 * flag parsing that refuses garbage before any request is made, and `fail`, which turns an
 * error into `berth: CODE: message` plus one line of advice on stderr.
 */
import { ManagementApiError } from '../client/management-client.js';

export interface Column {
  header: string;
  /** Numbers read best right-aligned; default left. */
  align?: 'left' | 'right';
}

/** Width in terminal cells, counted per code point (good enough for names, tags and digests). */
function width(s: string): number {
  return [...s].length;
}

/**
 * A plain table: a header row, then one line per row, columns separated by two spaces.
 * No line ends in spaces; missing cells are empty.
 */
export function renderTable(columns: Column[], rows: string[][]): string {
  const widths = columns.map((c, i) => Math.max(width(c.header), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const pad = ' '.repeat((widths[i] ?? 0) - width(cell));
        return c.align === 'right' ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n') + '\n';
}

const BINARY_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** `1610612736` → `1.5 GiB`: IEC binary prefixes (powers of 1024), one decimal; under 1 KiB in bytes. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) < 1024) return `${n} B`;
  let value = n / 1024;
  let unit = 0;
  // Move up while the rounded figure would show 1024.0 or more (1048575 B is "1.0 MiB", not "1024.0 KiB").
  while (Math.abs(Math.round(value * 10) / 10) >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${BINARY_UNITS[unit]}`;
}

/**
 * Byte-size units accepted on flags: SI prefixes are powers of 1000 and IEC prefixes powers of
 * 1024 (IEC 80000-13). Bare K/M/G are refused: docker reads `500m` as MiB, Kubernetes `500M` as
 * 10^6, and a quota should not depend on which one the user had in mind.
 */
const SIZE_UNITS: Record<string, bigint> = {
  '': 1n,
  b: 1n,
  kb: 1000n,
  mb: 1000n ** 2n,
  gb: 1000n ** 3n,
  tb: 1000n ** 4n,
  pb: 1000n ** 5n,
  kib: 1024n,
  mib: 1024n ** 2n,
  gib: 1024n ** 3n,
  tib: 1024n ** 4n,
  pib: 1024n ** 5n,
};

/** `10GiB`, `500MB`, `1.5 GiB`, `1048576` → bytes. Throws an Error saying what is accepted otherwise. */
export function parseByteSize(text: string): number {
  const m = /^(\d+)(?:\.(\d+))?\s?([A-Za-z]*)$/.exec(text.trim());
  const scale = m ? SIZE_UNITS[(m[3] ?? '').toLowerCase()] : undefined;
  if (!m || scale === undefined) {
    throw new Error(`"${text}" is not a byte size: use a whole number of bytes or a number with B, KB, MB, GB, TB, KiB, MiB, GiB or TiB (e.g. 10GiB, 500MB)`);
  }
  // Exact decimal arithmetic: 1.1 GB is 1100000000 bytes, not whatever a float makes of it.
  const fraction = m[2] ?? '';
  const numerator = BigInt((m[1] ?? '') + fraction) * scale;
  const denominator = 10n ** BigInt(fraction.length);
  if (numerator % denominator !== 0n) throw new Error(`"${text}" is not a whole number of bytes`);
  const bytes = numerator / denominator;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`"${text}" is too large`);
  return Number(bytes);
}

/** A non-negative integer flag value (`--tags 100`, `--limit 20`). */
export function parseCount(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new Error(`"${text}" is not a whole number`);
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n)) throw new Error(`"${text}" is too large`);
  return n;
}

/**
 * An ISO-8601 instant for `--now`: a date (`2026-11-27`, midnight UTC) or a date and time with
 * `Z` or an offset (`2026-11-27T10:00:00Z`, `2026-11-27T11:00:00.5+01:00`). A time without a zone
 * is refused because it would mean a different instant on every machine. Returns the instant in
 * the form the API uses (Date#toISOString, UTC).
 */
export function parseInstant(text: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/.exec(text.trim());
  const bad = (why: string) => new Error(`"${text}" is not an ISO-8601 instant (${why}); e.g. 2026-11-27T10:00:00Z`);
  if (!m) {
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text.trim())) throw bad('add Z or an offset such as +01:00');
    throw bad('expected YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]] with Z or an offset');
  }
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) => Number(v ?? 0)) as number[];
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  if (month! < 1 || month! > 12 || day! < 1 || day! > daysInMonth) throw bad('no such date');
  if (hour! > 23 || minute! > 59 || second! > 59) throw bad('no such time of day');
  const zone = m[7];
  if (zone && zone !== 'Z') {
    const [zh, zm] = [Number(zone.slice(1, 3)), Number(zone.slice(-2))];
    if (zh > 23 || zm > 59) throw bad('no such offset');
  }
  // JavaScript's Date reads exactly this subset of ISO 8601 (ECMA-262 "Date Time String Format"),
  // once the offset has its colon.
  const normalized = zone && zone !== 'Z' && !zone.includes(':') ? text.trim().replace(/(\d{2})(\d{2})$/, '$1:$2') : text.trim();
  const ms = Date.parse(normalized);
  if (Number.isNaN(ms)) throw bad('out of range');
  return new Date(ms).toISOString();
}

/** `sha256:0123456789ab…` → `sha256:0123456789ab`: 12 hex digits are plenty to tell images apart on screen. */
export function shortDigest(digest: string): string {
  const i = digest.indexOf(':');
  return i < 0 ? digest.slice(0, 12) : digest.slice(0, i + 1 + 12);
}

/** Writes one JSON document (and nothing else) to stdout. */
export function printJson(doc: unknown): void {
  process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
}

/** What to do about each code, one line each (docs/management-api.md lists the codes). */
const ADVICE: Record<string, string> = {
  POLICY_INVALID: 'fix the field named above and run again',
  NAME_INVALID:
    'a repository is lowercase path components (team/app), a project its first component (team), a target a repository or PROJECT/*',
  NOT_FOUND: 'nothing is set for that name; check the spelling, or set it first with put/set',
  DENIED: 'your account lacks the rights for this: ask a system admin (or the project\'s admin)',
  UNAUTHORIZED: 'run berth login HOST, or pass --username and --password',
  UNAVAILABLE: 'berth is running but not ready (storage or database); check its log and try again shortly',
  UNSUPPORTED: 'this server does not offer that endpoint; is --server an older berth or another registry?',
  TOOMANYREQUESTS: 'too many failed logins or requests: wait and retry',
  UNKNOWN: "the server failed unexpectedly; its log has the details under the request's id",
};

const UNREACHABLE_ADVICE = 'check that `berth serve` runs there, or pass --server URL (or set BERTH_SERVER)';

/** The lines `fail` prints for an error: the error itself, then advice when there is any. */
export function describeFailure(err: unknown): string[] {
  if (err instanceof ManagementApiError) {
    const lines = [`berth: ${err.code}: ${err.message}`];
    for (const extra of err.errors.slice(1)) lines.push(`berth: ${extra.code}: ${extra.message}`);
    const advice = err.status === 0 && err.code === 'UNAVAILABLE' ? UNREACHABLE_ADVICE : ADVICE[err.code];
    if (advice) lines.push(advice);
    return lines;
  }
  return [`berth: ${err instanceof Error ? err.message : String(err)}`];
}

/** Reports a failed command on stderr and makes the process exit with 1 (without cutting stdout short). */
export function fail(err: unknown, stream: NodeJS.WritableStream = process.stderr): void {
  stream.write(describeFailure(err).join('\n') + '\n');
  process.exitCode = 1;
}
