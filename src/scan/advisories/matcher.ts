import { severityRank, type Finding, type OsInfo, type Package } from '../types.js';
import { compareVersions, schemeForEcosystem } from '../versions/index.js';
import type { AdvisoryLookup, CandidateRecord } from './advisory-db.js';
import { advisoryQuery, type AdvisoryQuery } from './ecosystem.js';
import { isLater, isWithdrawn, normalizePackageName, type OsvAffected, type OsvRecord } from './osv.js';
import { evaluateAffected } from './ranges.js';
import { cvesMapIds, decideSeverity, severityEvidence, type SeverityEvidence } from './severity.js';

export interface MatchOptions {
  /** Told about ranges that could not be evaluated (each message once). */
  warn?: (message: string) => void;
  /** Clock for `withdrawn` (tests). */
  now?: number;
}

/** One record's statement about one vulnerability of one package; claims that share an ID become one finding. */
interface Claim {
  /** IDs that identify the vulnerability: claims sharing one are merged. */
  keys: string[];
  /** Every ID to report (keys plus the record's own ID and aliases). */
  ids: string[];
  record: OsvRecord;
  fixed?: string;
  evidence: SeverityEvidence;
}

const CVE = /^CVE-(\d{4})-(\d+)$/;
const MAX_REFERENCES = 100;

/**
 * Matches installed packages against the advisory database. For each package:
 * its OSV ecosystem and names (ecosystem.ts), the records indexed under them,
 * each record's affected entries evaluated as osv-schema's "Evaluation"
 * says, withdrawn records dropped; then the records' statements are grouped
 * into one finding per vulnerability (records whose IDs or aliases overlap,
 * and distribution notices with the CVEs they name as `upstream`), reported
 * under its CVE when it has one. Deterministic order: severity, ID, package.
 * Never throws for bad advisory data; unreadable ranges go to `warn`.
 */
export function matchPackages(db: AdvisoryLookup, packages: readonly Package[], os: OsInfo | undefined, opts: MatchOptions = {}): Finding[] {
  const warned = new Set<string>();
  const warn = (m: string) => {
    if (warned.has(m) || warned.size >= 1000) return;
    warned.add(m);
    opts.warn?.(m);
  };
  const cache = new Map<string, CandidateRecord[]>();
  const findings: Finding[] = [];
  for (const pkg of packages) {
    const query = advisoryQuery(pkg, os);
    if (!query) continue;
    const key = JSON.stringify([query.ecosystems, query.prefixes, query.names]);
    let candidates = cache.get(key);
    if (!candidates) {
      candidates = db.candidates(query);
      cache.set(key, candidates);
    }
    const claims = candidateClaims(candidates, query, warn, opts.now ?? Date.now());
    for (const group of mergeClaims(claims)) findings.push(toFinding(pkg, query, group));
  }
  return findings.sort(compareFindings);
}

/** The claims of every non-withdrawn record that affects the query's version. */
function candidateClaims(candidates: readonly CandidateRecord[], query: AdvisoryQuery, warn: (m: string) => void, now: number): Claim[] {
  const byRecord = new Map<string, { record: OsvRecord; ecosystems: Set<string> }>();
  for (const c of candidates) {
    const entry = byRecord.get(c.record.id) ?? { record: c.record, ecosystems: new Set<string>() };
    entry.ecosystems.add(c.ecosystem);
    byRecord.set(c.record.id, entry);
  }
  const claims: Claim[] = [];
  for (const { record, ecosystems } of byRecord.values()) {
    if (isWithdrawn(record, now)) continue;
    const affected: OsvAffected[] = [];
    const fixes: string[] = [];
    for (const entry of record.affected ?? []) {
      const p = entry.package;
      if (!p || !ecosystems.has(p.ecosystem) || !query.names.includes(normalizePackageName(p.ecosystem, p.name))) continue;
      const verdict = evaluateAffected(entry, p.ecosystem, query.version, (m) => warn(`${record.id}: ${m}`));
      if (!verdict.affected) continue;
      affected.push(entry);
      if (verdict.fixed !== undefined) fixes.push(verdict.fixed);
    }
    if (affected.length === 0) continue;
    // Every matched entry must be fixed, so the record's fix is the highest of theirs.
    const fixed = fixes.length === affected.length ? highest(fixes, query) : undefined;
    claims.push(...recordClaims(record, affected, fixed));
  }
  return claims;
}

/**
 * What a record claims. A record that is, or aliases, a CVE is one claim
 * keyed by all its IDs. A distribution record naming CVEs only as `upstream`
 * (DSA/DLA, USN, DEBIAN-CVE-..., ALPINE-CVE-...) claims each of those CVEs
 * (restricted to the CVEs Ubuntu lists for the release in `cves_map`), keyed
 * by the CVE and the `upstream` IDs that wrap it (`DEBIAN-CVE-2022-1292`); a
 * notice about several CVEs is not itself a key, so it cannot merge them.
 */
function recordClaims(record: OsvRecord, entries: readonly OsvAffected[], fixed: string | undefined): Claim[] {
  const own = [record.id, ...(record.aliases ?? [])];
  const single = (): Claim[] => [{ keys: own, ids: own, record, fixed, evidence: severityEvidence(record, entries) }];
  if (own.some((id) => CVE.test(id))) return single();
  const upstream = record.upstream ?? [];
  let cves = [...new Set(upstream.filter((id) => CVE.test(id)))];
  const maps = entries.map(cvesMapIds);
  if (maps.some((m) => m !== undefined)) {
    const listed = new Set(maps.flatMap((m) => (m ?? []).map((c) => c.id)));
    const restricted = cves.filter((c) => listed.has(c));
    if (restricted.length > 0) cves = restricted;
  }
  if (cves.length === 0) return single();
  return cves.map((cve) => {
    const wrappers = upstream.filter((id) => id !== cve && id.endsWith(`-${cve}`));
    const keys = cves.length === 1 ? [cve, ...wrappers, ...own] : [cve, ...wrappers];
    return { keys, ids: [cve, ...wrappers, ...own], record, fixed, evidence: severityEvidence(record, entries, cve) };
  });
}

/** Groups claims that share a key (union-find). Groups come out in the order of their first claim. */
function mergeClaims(claims: readonly Claim[]): Claim[][] {
  const parent = claims.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const owner = new Map<string, number>();
  claims.forEach((claim, i) => {
    for (const k of claim.keys) {
      const j = owner.get(k);
      if (j === undefined) owner.set(k, i);
      else parent[find(i)] = find(j);
    }
  });
  const groups = new Map<number, Claim[]>();
  claims.forEach((claim, i) => {
    const root = find(i);
    groups.set(root, [...(groups.get(root) ?? []), claim]);
  });
  return [...groups.values()];
}

function cveOrder(a: string, b: string): number {
  const ma = CVE.exec(a)!;
  const mb = CVE.exec(b)!;
  return Number(ma[1]) - Number(mb[1]) || Number(ma[2]) - Number(mb[2]);
}

/** The ID a vulnerability is reported under: its (lowest) CVE, else a GHSA, else the first ID in order. */
function preferredId(ids: readonly string[]): string {
  const cves = ids.filter((id) => CVE.test(id)).sort(cveOrder);
  if (cves[0]) return cves[0];
  const sorted = [...ids].sort(byText);
  return sorted.find((id) => id.startsWith('GHSA-')) ?? sorted[0]!;
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The highest version by the query's scheme; unreadable versions keep the earlier pick. */
function highest(versions: readonly string[], query: AdvisoryQuery): string | undefined {
  const scheme = schemeForEcosystem(query.ecosystems[0] ?? query.prefixes[0] ?? '');
  let best: string | undefined;
  for (const v of versions) {
    if (best === undefined) best = v;
    else if (scheme) {
      try {
        if (compareVersions(scheme, v, best) > 0) best = v;
      } catch {
        // Keep the earlier pick.
      }
    }
  }
  return best;
}

function toFinding(pkg: Package, query: AdvisoryQuery, group: readonly Claim[]): Finding {
  const ids = [...new Set(group.flatMap((c) => c.ids))];
  const id = preferredId(ids);
  const records = [...new Map(group.map((c) => [c.record.id, c.record])).values()].sort((a, b) =>
    a.id === id ? -1 : b.id === id ? 1 : byText(a.id, b.id),
  );
  // Fixed only when every claim names a fix: the highest of them fixes all.
  const fixes = group.map((c) => c.fixed);
  const fixedVersion = fixes.every((f) => f !== undefined) ? highest(fixes as string[], query) : undefined;
  const references: string[] = [];
  for (const r of records) {
    for (const ref of r.references ?? []) {
      if (/^https?:\/\//i.test(ref.url) && !references.includes(ref.url) && references.length < MAX_REFERENCES) references.push(ref.url);
    }
  }
  const published = records.map((r) => r.published).filter((p): p is string => p !== undefined);
  const modified = records.map((r) => r.modified);
  const finding: Finding = {
    id,
    aliases: ids.filter((i) => i !== id).sort(byText),
    package: pkg,
    installedVersion: query.version,
    fixedVersion,
    ...decideSeverity(group.map((c) => c.evidence)),
    title: records.find((r) => r.summary)?.summary,
    description: records.find((r) => r.details)?.details,
    references,
    published: published.reduce<string | undefined>((a, b) => (a === undefined || isLater(a, b) ? b : a), undefined),
    modified: modified.reduce<string | undefined>((a, b) => (a === undefined || isLater(b, a) ? b : a), undefined),
    sources: records.map((r) => r.id).sort(byText),
  };
  // Absent rather than undefined, so findings compare and serialise cleanly.
  return Object.fromEntries(Object.entries(finding).filter(([, v]) => v !== undefined)) as unknown as Finding;
}

function compareFindings(a: Finding, b: Finding): number {
  return (
    severityRank(a.severity) - severityRank(b.severity) ||
    byText(a.id, b.id) ||
    byText(a.package.name, b.package.name) ||
    byText(a.package.version, b.package.version) ||
    byText(a.package.path, b.package.path)
  );
}
