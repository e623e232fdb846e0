/*
 * Which findings a report shows: by severity, fixed only, and minus the
 * vulnerabilities an ignore file accepts.
 *
 * Ignore files come in two forms, both Trivy's
 * (docs/docs/configuration/filtering.md, "By Finding IDs"):
 *
 * `.berthignore` (Trivy's `.trivyignore`): one vulnerability ID per line, an
 * optional `exp:YYYY-MM-DD` after it, `#` comments. A comment (the lines
 * right above an entry, or the text after `#` on its line) is kept as the
 * entry's reason; an empty line ends a comment block.
 *
 *     # Accept the risk until 2023-01-01
 *     CVE-2019-14697 exp:2023-01-01
 *     GHSA-p6mc-m468-83gw   # only reachable from the build stage
 *
 * `.trivyignore.yaml`: `vulnerabilities:` a list of `{id, statement,
 * expired_at, paths, purls}`; the other sections (misconfigurations,
 * secrets, licenses) are accepted and have no effect on vulnerability
 * findings. Recognised by a first line that is a top-level key such as
 * `vulnerabilities:`.
 *
 * An entry matches a finding whose ID or any of whose aliases is the entry's
 * ID, in one of the entry's `paths` (relative to the image root, as Trivy
 * writes them, or absolute) and one of its `purls` when those are given. A
 * purl without a version matches every version, one without qualifiers any
 * qualifiers. An entry applies until its expiry date begins (00:00 UTC), as
 * in Trivy.
 */
import { PackageURL } from 'packageurl-js';
import { parseDocument } from 'yaml';
import type { Finding, Severity } from '../types.js';

/** One accepted vulnerability. */
export interface IgnoreRule {
  /** A vulnerability ID; matches a finding's ID or any of its aliases. */
  id: string;
  /** `YYYY-MM-DD`: the rule applies until this day begins (00:00 UTC). */
  expiresAt?: string;
  /** Why it is accepted. Not used for filtering. */
  statement?: string;
  /** Only in these files (relative to the image root, or absolute). */
  paths?: string[];
  /** Only in these packages. */
  purls?: string[];
}

/** Which findings to keep. */
export interface FilterOptions {
  /** Keep only these severities; undefined or empty keeps every severity. */
  severities?: Severity[];
  /** Drop findings without a published fix. */
  ignoreUnfixed?: boolean;
  ignore?: IgnoreRule[];
  /** The time expiry dates are compared with. */
  now: Date;
}

/** An ignore file or rule cannot be used; `line` (1-based) says where, when known. */
export class IgnoreFileError extends Error {
  override readonly name = 'IgnoreFileError';
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`);
  }
}

/** Larger ignore files are refused: nobody accepts that many vulnerabilities by hand. */
export const MAX_IGNORE_FILE_LENGTH = 1024 * 1024;
/** At most this many entries, and this many paths or purls per entry. */
export const MAX_IGNORE_ENTRIES = 10_000;

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The start (00:00 UTC) of a `YYYY-MM-DD` day; throws IgnoreFileError for anything else, 2023-02-30 included. */
function dayStart(date: string, line?: number): number {
  const m = DATE.exec(date);
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || new Date(t).toISOString().slice(0, 10) !== date) {
    throw new IgnoreFileError(`expiry ${JSON.stringify(date)} is not a date (YYYY-MM-DD)`, line);
  }
  return t;
}

function checkId(id: string, line?: number): string {
  if (!ID.test(id)) throw new IgnoreFileError(`${JSON.stringify(id)} is not a vulnerability ID`, line);
  return id;
}

interface CompiledRule {
  expires?: number;
  paths?: Set<string>;
  purls?: PackageURL[];
}

const relative = (path: string): string => path.replace(/^\/+/, '');

function parsePurl(purl: string, line?: number): PackageURL {
  try {
    return PackageURL.fromString(purl);
  } catch (err) {
    throw new IgnoreFileError(`${JSON.stringify(purl)} is not a package URL: ${(err as Error).message}`, line);
  }
}

function compile(rule: IgnoreRule, line?: number): CompiledRule {
  checkId(rule.id, line);
  return {
    expires: rule.expiresAt === undefined ? undefined : dayStart(rule.expiresAt, line),
    paths: rule.paths === undefined ? undefined : new Set(rule.paths.map(relative)),
    purls: rule.purls?.map((p) => parsePurl(p, line)),
  };
}

/** Whether package URL `pattern` names `actual`: same type, namespace and name; version, qualifiers and subpath when given. */
function purlMatches(pattern: PackageURL, actual: PackageURL): boolean {
  if (pattern.type !== actual.type || pattern.namespace !== actual.namespace || pattern.name !== actual.name) return false;
  if (pattern.version && pattern.version !== actual.version) return false;
  if (pattern.subpath && pattern.subpath !== actual.subpath) return false;
  return Object.entries(pattern.qualifiers ?? {}).every(([k, v]) => actual.qualifiers?.[k] === v);
}

function applies(rule: CompiledRule, f: Finding, now: number): boolean {
  if (rule.expires !== undefined && now > rule.expires) return false;
  if (rule.paths && !rule.paths.has(relative(f.package.path))) return false;
  if (rule.purls) {
    let actual: PackageURL;
    try {
      actual = PackageURL.fromString(f.package.purl);
    } catch {
      return false;
    }
    if (!rule.purls.some((p) => purlMatches(p, actual))) return false;
  }
  return true;
}

/**
 * The findings to report, in their order. Throws IgnoreFileError when a rule
 * has an invalid ID, expiry date or purl.
 */
export function filterFindings(findings: readonly Finding[], opts: FilterOptions): Finding[] {
  const rulesById = new Map<string, CompiledRule[]>();
  for (const rule of opts.ignore ?? []) rulesById.set(rule.id, [...(rulesById.get(rule.id) ?? []), compile(rule)]);
  const severities = opts.severities && opts.severities.length > 0 ? new Set(opts.severities) : undefined;
  const now = opts.now.getTime();
  return findings.filter((f) => {
    if (severities && !severities.has(f.severity)) return false;
    if (opts.ignoreUnfixed && f.fixedVersion === undefined) return false;
    const rules = [f.id, ...f.aliases].flatMap((id) => rulesById.get(id) ?? []);
    return !rules.some((r) => applies(r, f, now));
  });
}

/** The `.berthignore` form; see the top of this file. */
function parsePlain(lines: readonly string[]): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  let comment: string[] = [];
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    const hash = raw.indexOf('#');
    const body = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    const note = hash < 0 ? '' : raw.slice(hash + 1).trim();
    if (body === '') {
      if (hash < 0) comment = [];
      else if (note !== '') comment.push(note);
      continue;
    }
    const [id = '', ...rest] = body.split(/\s+/);
    const rule: IgnoreRule = { id: checkId(id, line) };
    for (const token of rest) {
      if (!token.startsWith('exp:') || rule.expiresAt !== undefined) {
        throw new IgnoreFileError(`unexpected ${JSON.stringify(token)} after the ID (only one exp:YYYY-MM-DD may follow it)`, line);
      }
      rule.expiresAt = token.slice('exp:'.length);
      dayStart(rule.expiresAt, line);
    }
    const statement = note !== '' ? note : comment.join(' ');
    if (statement !== '') rule.statement = statement;
    comment = [];
    if (rules.push(rule) > MAX_IGNORE_ENTRIES) throw new IgnoreFileError(`more than ${MAX_IGNORE_ENTRIES} entries`, line);
  }
  return rules;
}

const YAML_SECTIONS = new Set(['vulnerabilities', 'misconfigurations', 'secrets', 'licenses']);
const YAML_ENTRY_KEYS = new Set(['id', 'statement', 'expired_at', 'paths', 'purls']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_IGNORE_ENTRIES || !value.every((v) => typeof v === 'string')) {
    throw new IgnoreFileError(`${what} must be a list of strings`);
  }
  return value as string[];
}

function yamlEntry(entry: unknown, index: number): IgnoreRule {
  const where = `vulnerabilities[${index}]`;
  if (!isRecord(entry)) throw new IgnoreFileError(`${where} must be a mapping`);
  const unknown = Object.keys(entry).find((k) => !YAML_ENTRY_KEYS.has(k));
  if (unknown !== undefined) throw new IgnoreFileError(`${where} has an unknown key ${JSON.stringify(unknown)}`);
  const { id, statement, expired_at: expiredAt, paths, purls } = entry;
  if (typeof id !== 'string') throw new IgnoreFileError(`${where}.id must be a string`);
  const rule: IgnoreRule = { id: checkId(id) };
  if (statement !== undefined && statement !== null) {
    if (typeof statement !== 'string') throw new IgnoreFileError(`${where}.statement must be a string`);
    rule.statement = statement;
  }
  if (expiredAt !== undefined && expiredAt !== null) {
    if (typeof expiredAt !== 'string') throw new IgnoreFileError(`${where}.expired_at must be a date (YYYY-MM-DD)`);
    dayStart(expiredAt);
    rule.expiresAt = expiredAt;
  }
  if (paths !== undefined && paths !== null) rule.paths = stringList(paths, `${where}.paths`);
  if (purls !== undefined && purls !== null) {
    rule.purls = stringList(purls, `${where}.purls`);
    rule.purls.forEach((p) => parsePurl(p));
  }
  return rule;
}

/** The `.trivyignore.yaml` form; see the top of this file. */
function parseYaml(text: string): IgnoreRule[] {
  const doc = parseDocument(text, { uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:$/, '');
    throw new IgnoreFileError(`not valid YAML: ${message}`, error.linePos?.[0].line);
  }
  let root: unknown;
  try {
    // Bounded alias expansion: a "billion laughs" document is refused, not expanded.
    root = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new IgnoreFileError(`not usable YAML: ${(err as Error).message}`);
  }
  if (root === null || root === undefined) return [];
  if (!isRecord(root)) throw new IgnoreFileError('the file must be a mapping with a "vulnerabilities" list');
  const unknown = Object.keys(root).find((k) => !YAML_SECTIONS.has(k));
  if (unknown !== undefined) throw new IgnoreFileError(`unknown section ${JSON.stringify(unknown)}`);
  const list = root['vulnerabilities'] ?? [];
  if (!Array.isArray(list)) throw new IgnoreFileError('"vulnerabilities" must be a list');
  if (list.length > MAX_IGNORE_ENTRIES) throw new IgnoreFileError(`more than ${MAX_IGNORE_ENTRIES} entries`);
  return list.map(yamlEntry);
}

/**
 * The rules of an ignore file, in either form. Throws IgnoreFileError,
 * naming the line where it can, for a file over MAX_IGNORE_FILE_LENGTH,
 * invalid YAML, an unknown key, an ID that is not one, an invalid date or
 * purl, or anything but `exp:` after an ID.
 */
export function parseIgnoreFile(text: string): IgnoreRule[] {
  if (text.length > MAX_IGNORE_FILE_LENGTH) throw new IgnoreFileError(`the file is larger than ${MAX_IGNORE_FILE_LENGTH} characters`);
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const first = lines.find((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  return first !== undefined && /^[A-Za-z_]+\s*:(\s|$)/.test(first) ? parseYaml(text) : parsePlain(lines);
}
