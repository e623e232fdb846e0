import { compareVersions, schemeForEcosystem, type VersionScheme } from '../versions/index.js';
import type { OsvAffected, OsvEvent, OsvRange } from './osv.js';

/** Whether one affected entry covers a version, and the lowest fix above it. */
export interface AffectedVerdict {
  affected: boolean;
  /** The lowest `fixed` event above the version in the ranges that matched; undefined when none. */
  fixed?: string;
}

type Compare = (a: string, b: string) => number;

/** The version scheme a range is ordered by: SEMVER ranges by SemVer 2.0, ECOSYSTEM ranges by the ecosystem's own rules. */
function rangeScheme(range: OsvRange, ecosystem: string): VersionScheme | undefined {
  if (range.type === 'SEMVER') return 'semver';
  if (range.type === 'ECOSYSTEM') return schemeForEcosystem(ecosystem);
  return undefined; // GIT ranges need the repository's history; not evaluated.
}

const eventVersion = (e: OsvEvent): string => e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? '';

/**
 * osv-schema "Evaluation", IncludedInRanges for one range: outside every
 * `limit` (an implicit `*` when there is none) is unaffected; otherwise walk
 * the events in version order, `introduced` (`0` sorts first) turning the
 * version affected, `fixed` (v >= fixed) and `last_affected` (v > last)
 * turning it unaffected. Throws InvalidVersionError for an event version the
 * scheme cannot read.
 */
function evaluateRange(events: readonly OsvEvent[], v: string, cmp: Compare): AffectedVerdict {
  const limits = events.filter((e) => e.limit !== undefined).map((e) => e.limit as string);
  if (limits.length > 0 && !limits.some((l) => l.includes('*') || cmp(v, l) < 0)) return { affected: false };
  const ordered = events
    .filter((e) => e.limit === undefined)
    .map((e, i) => ({ e, i }))
    .sort((a, b) => {
      const zeroA = a.e.introduced === '0';
      const zeroB = b.e.introduced === '0';
      if (zeroA || zeroB) return zeroA === zeroB ? a.i - b.i : zeroA ? -1 : 1;
      return cmp(eventVersion(a.e), eventVersion(b.e)) || a.i - b.i;
    });
  let affected = false;
  for (const { e } of ordered) {
    if (e.introduced !== undefined && (e.introduced === '0' || cmp(v, e.introduced) >= 0)) affected = true;
    else if (e.fixed !== undefined && cmp(v, e.fixed) >= 0) affected = false;
    else if (e.last_affected !== undefined && cmp(v, e.last_affected) > 0) affected = false;
  }
  return { affected, fixed: affected ? lowestFixAbove(events, v, cmp) : undefined };
}

function lowestFixAbove(events: readonly OsvEvent[], v: string, cmp: Compare): string | undefined {
  let best: string | undefined;
  for (const e of events) {
    if (e.fixed !== undefined && cmp(e.fixed, v) > 0 && (best === undefined || cmp(e.fixed, best) < 0)) best = e.fixed;
  }
  return best;
}

/**
 * osv-schema "Evaluation" for one affected entry of a package in `ecosystem`:
 * affected when `version` is listed in `versions` (equal as text or in the
 * ecosystem's ordering) or lies within a SEMVER/ECOSYSTEM range. GIT ranges
 * are skipped. A range whose versions the scheme cannot read is skipped and
 * reported through `warn`; never throws.
 */
export function evaluateAffected(entry: OsvAffected, ecosystem: string, version: string, warn: (message: string) => void): AffectedVerdict {
  let affected = false;
  let fixed: string | undefined;
  const evaluable: { range: OsvRange; cmp: Compare }[] = [];
  for (const range of entry.ranges ?? []) {
    const scheme = rangeScheme(range, ecosystem);
    if (!scheme) continue;
    const cmp: Compare = (a, b) => compareVersions(scheme, a, b);
    evaluable.push({ range, cmp });
    try {
      const verdict = evaluateRange(range.events, version, cmp);
      if (!verdict.affected) continue;
      affected = true;
      if (verdict.fixed !== undefined && (fixed === undefined || cmp(verdict.fixed, fixed) < 0)) fixed = verdict.fixed;
    } catch (e) {
      warn(`${ecosystem} range not evaluated for version ${version}: ${(e as Error).message}`);
    }
  }
  if (affected) return { affected, fixed };
  const scheme = schemeForEcosystem(ecosystem);
  const listed = (entry.versions ?? []).some((listedVersion) => {
    if (listedVersion === version) return true;
    if (!scheme) return false;
    try {
      return compareVersions(scheme, listedVersion, version) === 0;
    } catch {
      return false; // Lists hold upstream tags too (`v15.10.1`); those simply do not match.
    }
  });
  if (!listed) return { affected: false };
  // Listed explicitly: the fix is the lowest `fixed` above the version in any range.
  for (const { range, cmp } of evaluable) {
    try {
      const f = lowestFixAbove(range.events, version, cmp);
      if (f !== undefined && (fixed === undefined || cmp(f, fixed) < 0)) fixed = f;
    } catch {
      // Already reported when the range was evaluated.
    }
  }
  return { affected: true, fixed };
}
