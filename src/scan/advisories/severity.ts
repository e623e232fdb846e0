import cvss from 'ae-cvss-calculator';
import { severityRank, type Severity } from '../types.js';
import type { OsvAffected, OsvRecord, OsvSeverity } from './osv.js';

/** A CVSS base score computed from a vector. */
export interface CvssScore {
  vector: string;
  score: number;
  severity: Severity;
}

/** What a record says about severity: scored vectors first, vendor ratings as the fallback. */
export interface SeverityEvidence {
  vectors: CvssScore[];
  ratings: Severity[];
}

/**
 * The CVSS v3.x/v4.0 qualitative rating of a base score (v3.1 spec section 5,
 * v4.0 spec section 6): 0.1-3.9 LOW, 4.0-6.9 MEDIUM, 7.0-8.9 HIGH,
 * 9.0-10.0 CRITICAL. A 0.0 ("None") is reported as LOW: the record still
 * calls it a vulnerability.
 */
export function cvssSeverity(score: number): Severity {
  if (score >= 9) return 'CRITICAL';
  if (score >= 7) return 'HIGH';
  if (score >= 4) return 'MEDIUM';
  return 'LOW';
}

/**
 * The base score of a CVSS 3.0, 3.1 or 4.0 vector, computed with
 * ae-cvss-calculator. Undefined for other versions (v2 is not used), for
 * malformed vectors and for vectors missing a base metric; never throws.
 */
export function scoreCvss(vector: string): CvssScore | undefined {
  const v = vector.trim();
  if (v.length > 512) return undefined;
  try {
    const calc = v.startsWith('CVSS:3.1/')
      ? new cvss.Cvss3P1(v)
      : v.startsWith('CVSS:3.0/')
        ? new cvss.Cvss3P0(v)
        : v.startsWith('CVSS:4.0/')
          ? new cvss.Cvss4P0(v)
          : undefined;
    if (!calc || !calc.isBaseFullyDefined()) return undefined;
    const score = calc.calculateScores().base;
    if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 10) return undefined;
    return { vector: v, score, severity: cvssSeverity(score) };
  } catch {
    // The calculator throws plain errors (or TypeErrors) on unknown metrics and values.
    return undefined;
  }
}

/**
 * A vendor's word rating as severity: GHSA's CRITICAL/HIGH/MODERATE/LOW, Ubuntu
 * priorities (negligible..critical), Debian urgencies (unimportant..high), Red
 * Hat's Important/Moderate. Undefined for anything else ("untriaged", "not yet
 * assigned", ...).
 */
export function ratingSeverity(rating: unknown): Severity | undefined {
  if (typeof rating !== 'string') return undefined;
  switch (rating.trim().toLowerCase()) {
    case 'critical':
      return 'CRITICAL';
    case 'high':
    case 'important':
      return 'HIGH';
    case 'moderate':
    case 'medium':
      return 'MEDIUM';
    case 'low':
    case 'negligible':
    case 'unimportant':
      return 'LOW';
    default:
      return undefined;
  }
}

/** Adds one `severity[]` list to the evidence: CVSS_V3/CVSS_V4 vectors scored, `Ubuntu` priorities rated. */
function addSeverityList(out: SeverityEvidence, list: readonly OsvSeverity[] | undefined): void {
  for (const s of list ?? []) {
    if (s.type === 'CVSS_V3' || s.type === 'CVSS_V4') {
      const scored = scoreCvss(s.score);
      if (scored) out.vectors.push(scored);
    } else if (s.type === 'Ubuntu') {
      const r = ratingSeverity(s.score);
      if (r) out.ratings.push(r);
    }
  }
}

/**
 * Everything a record says about the severity of its vulnerability for the
 * matched affected entries: the record's and the entries' `severity[]`, GHSA's
 * `database_specific.severity`, Debian's `ecosystem_specific.urgency`, and
 * (for one CVE of a multi-CVE notice) the severities Ubuntu lists for that CVE
 * under `database_specific.cves_map`.
 */
export function severityEvidence(record: OsvRecord, entries: readonly OsvAffected[], cve?: string): SeverityEvidence {
  const out: SeverityEvidence = { vectors: [], ratings: [] };
  addSeverityList(out, record.severity);
  const recordRating = ratingSeverity(record.database_specific?.['severity']);
  if (recordRating) out.ratings.push(recordRating);
  for (const entry of entries) {
    addSeverityList(out, entry.severity);
    for (const extra of [entry.ecosystem_specific, entry.database_specific]) {
      const r = ratingSeverity(extra?.['urgency']) ?? ratingSeverity(extra?.['severity']);
      if (r) out.ratings.push(r);
    }
    if (cve) addSeverityList(out, cvesMapEntry(entry, cve)?.severity);
  }
  return out;
}

/** The `database_specific.cves_map.cves[]` entry Ubuntu notices give for one CVE, if any. */
function cvesMapEntry(entry: OsvAffected, cve: string): { id: string; severity?: OsvSeverity[] } | undefined {
  return cvesMapIds(entry)?.find((c) => c.id === cve);
}

/**
 * The CVEs an Ubuntu notice's affected entry says it fixes for that release
 * (`database_specific.cves_map.cves[].id`); undefined when the entry has no
 * such map. Malformed items are skipped.
 */
export function cvesMapIds(entry: OsvAffected): { id: string; severity?: OsvSeverity[] }[] | undefined {
  const map = entry.database_specific?.['cves_map'];
  if (typeof map !== 'object' || map === null) return undefined;
  const cves = (map as { cves?: unknown }).cves;
  if (!Array.isArray(cves)) return undefined;
  const out: { id: string; severity?: OsvSeverity[] }[] = [];
  for (const c of cves.slice(0, 10_000)) {
    if (typeof c !== 'object' || c === null || typeof (c as { id?: unknown }).id !== 'string') continue;
    const sev = (c as { severity?: unknown }).severity;
    const severity = Array.isArray(sev)
      ? sev.filter((s): s is OsvSeverity => typeof s?.type === 'string' && typeof s?.score === 'string')
      : undefined;
    out.push({ id: (c as { id: string }).id, severity });
  }
  return out;
}

/**
 * The severity a finding reports: the highest-scoring CVSS vector when there
 * is one (the worst case when sources disagree), otherwise the highest vendor
 * rating, otherwise UNKNOWN.
 */
export function decideSeverity(evidence: readonly SeverityEvidence[]): { severity: Severity; score?: number; cvssVector?: string } {
  let best: CvssScore | undefined;
  for (const e of evidence) {
    for (const v of e.vectors) {
      // Ties keep the first vector met, so the choice is deterministic for a given record order.
      if (!best || v.score > best.score) best = v;
    }
  }
  if (best) return { severity: best.severity, score: best.score, cvssVector: best.vector };
  let rating: Severity = 'UNKNOWN';
  for (const e of evidence) for (const r of e.ratings) if (severityRank(r) < severityRank(rating)) rating = r;
  return { severity: rating };
}
