/*
 * A scan as a SARIF 2.1.0 log (OASIS sarif-schema-2.1.0.json) that GitHub code
 * scanning accepts, following GitHub's "SARIF support for code scanning":
 * - one rule (reportingDescriptor) per vulnerability ID, with the required
 *   shortDescription.text, fullDescription.text (at most 1000 characters),
 *   help.text, plus help.markdown, helpUri and `properties`:
 *   `security-severity` as a string score between 0.0 and 10.0 (the CVSS base
 *   score; for a finding rated without one, the middle of its severity's band
 *   in GitHub's translation: over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium,
 *   3.9 or less low), `tags` including "security" (which is what makes GitHub
 *   read security-severity), and `precision`;
 * - one result per finding: ruleId, ruleIndex, level (CRITICAL and HIGH
 *   `error`, MEDIUM `warning`, LOW and UNKNOWN `note`), message.text, one
 *   location (GitHub uses only the first) whose artifactLocation.uri is the
 *   package's file, relative to the image root, with the region GitHub
 *   requires (line and column 1: a package has no place in a file), and
 *   partialFingerprints.primaryLocationLineHash, the only fingerprint GitHub
 *   uses, so uploads through the API do not duplicate alerts.
 */
import { createHash } from 'node:crypto';
import { severityRank, type Finding, type ScanResult, type Severity } from '../types.js';
import { advisoryUrl, relativePath, reportTargets } from './targets.js';

/** About the tool, for `runs[0].tool.driver`. */
export interface SarifOptions {
  /** berth's version, as `tool.driver.version`. */
  toolVersion: string;
  /** An absolute URI about berth, as `tool.driver.informationUri`; left out when not given. */
  informationUri?: string;
}

type Json = Record<string, unknown>;

/** The schema the log declares: the OASIS SARIF 2.1.0 schema with Errata 01 (its `id`). */
export const SARIF_SCHEMA_URI = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';
/** GitHub: "fullDescription.text ... The max number of characters is limited to 1000." */
const MAX_FULL_DESCRIPTION = 1000;

const LEVEL: Readonly<Record<Severity, 'error' | 'warning' | 'note'>> = {
  CRITICAL: 'error',
  HIGH: 'error',
  MEDIUM: 'warning',
  LOW: 'note',
  UNKNOWN: 'note',
};

/** Scores for a severity without a CVSS score: the middle of the band GitHub maps back to that severity. */
const SEVERITY_SCORE: Readonly<Record<Severity, number>> = { CRITICAL: 9.5, HIGH: 8.0, MEDIUM: 5.5, LOW: 2.0, UNKNOWN: 0.0 };

function securitySeverity(f: Finding): string {
  return (f.score ?? SEVERITY_SCORE[f.severity]).toFixed(1);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A path as a relative URI reference: each segment percent-encoded. */
function fileUri(path: string): string {
  return relativePath(path).split('/').map(encodeURIComponent).join('/');
}

function markdownCell(text: string): string {
  return text.replace(/[\\|]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
}

function rule(f: Finding): Json {
  const url = advisoryUrl(f.id);
  const summary = f.title ?? f.id;
  const fixed = f.fixedVersion ?? '';
  return {
    id: f.id,
    name: 'PackageVulnerability',
    shortDescription: { text: truncate(summary, MAX_FULL_DESCRIPTION) },
    fullDescription: { text: truncate(f.description ?? summary, MAX_FULL_DESCRIPTION) },
    defaultConfiguration: { level: LEVEL[f.severity] },
    helpUri: url,
    help: {
      text: `Vulnerability ${f.id}\nSeverity: ${f.severity}\nPackage: ${f.package.name}\nInstalled Version: ${f.installedVersion}\nFixed Version: ${fixed}\nLink: ${url}`,
      markdown:
        `**Vulnerability ${markdownCell(f.id)}**\n` +
        '| Severity | Package | Installed Version | Fixed Version | Link |\n| --- | --- | --- | --- | --- |\n' +
        `|${f.severity}|${markdownCell(f.package.name)}|${markdownCell(f.installedVersion)}|${markdownCell(fixed)}|[${markdownCell(f.id)}](${url})|\n`,
    },
    properties: {
      'security-severity': securitySeverity(f),
      tags: ['vulnerability', 'security', f.severity],
      precision: 'very-high',
    },
  };
}

function fingerprint(f: Finding): string {
  const h = createHash('sha256').update(`${f.id}\u0000${f.package.purl}\u0000${f.package.path}`).digest('hex');
  return `${h.slice(0, 16)}:1`;
}

function sarifResult(f: Finding, ruleIndex: number): Json {
  const uri = fileUri(f.package.path);
  const fixed = f.fixedVersion === undefined ? 'no fix published' : `fixed in ${f.fixedVersion}`;
  return {
    ruleId: f.id,
    ruleIndex,
    level: LEVEL[f.severity],
    message: {
      text: `Package: ${f.package.name}\nInstalled Version: ${f.installedVersion}\nVulnerability: ${f.id}\nSeverity: ${f.severity}\nFixed Version: ${f.fixedVersion ?? ''}\nLink: ${advisoryUrl(f.id)}`,
    },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri },
          region: { startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 },
        },
        message: { text: `${relativePath(f.package.path)}: ${f.package.name}@${f.installedVersion} (${fixed})` },
      },
    ],
    partialFingerprints: { primaryLocationLineHash: fingerprint(f) },
  };
}

/** The finding that describes a rule: the worst severity, then the highest score, then the first. */
function describes(a: Finding, b: Finding): boolean {
  return severityRank(a.severity) < severityRank(b.severity) || (a.severity === b.severity && (a.score ?? -1) > (b.score ?? -1));
}

/**
 * The SARIF log of one scan: one run, one rule per vulnerability ID (in the
 * order of first appearance, described by its worst finding), one result per
 * finding in report order. Pure; never throws.
 */
export function sarifReport(result: ScanResult, opts: SarifOptions): Json {
  const findings = reportTargets(result).flatMap((t) => t.findings);
  const describing = new Map<string, Finding>();
  for (const f of findings) {
    const current = describing.get(f.id);
    if (current === undefined || describes(f, current)) describing.set(f.id, f);
  }
  const ids = [...describing.keys()];
  const ruleIndex = new Map(ids.map((id, i) => [id, i]));
  const driver: Json = { name: 'berth', fullName: 'berth vulnerability scanner', version: opts.toolVersion };
  if (opts.informationUri !== undefined) driver['informationUri'] = opts.informationUri;
  driver['rules'] = ids.map((id) => rule(describing.get(id) as Finding));
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: { driver },
        results: findings.map((f) => sarifResult(f, ruleIndex.get(f.id) as number)),
        columnKind: 'utf16CodeUnits',
      },
    ],
  };
}
