/*
 * A scan as the human table Trivy prints (`trivy image`, table format): per
 * target, its name underlined with `=`, a summary line
 * "Total: N (CRITICAL: a, HIGH: b, MEDIUM: c, LOW: d, UNKNOWN: e)" (worst
 * first; Trivy lists the same counts from UNKNOWN up), and a box-drawn table
 * Library | Vulnerability | Severity | Status | Installed Version |
 * Fixed Version | Title, one row per finding in Trivy's order. The OS target
 * is always shown, language targets only when they have findings.
 *
 * Deterministic: the same result and options give the same text. No escape
 * codes unless `color` (then only the severity cell is coloured). Text from
 * the image (package names, versions, titles) is printed with control and
 * bidirectional-override characters replaced by spaces, so a hostile package
 * cannot drive the terminal. With `width`, columns wider than needed to fit
 * are shrunk (Title first, then Library, then the widest) down to their
 * header's width (Title: 10), and their cells wrapped at spaces (long words
 * are cut).
 */
import { SEVERITIES, type Finding, type ScanResult, type Severity } from '../types.js';
import { reportTargets, type ReportTarget } from './targets.js';

/** How to render the table. */
export interface TableOptions {
  /** Colour the severity cells with ANSI escape codes. */
  color: boolean;
  /** The terminal's width in columns; no limit when absent. */
  width?: number;
}

/** The options cannot be used: the message says which and why. */
export class ReportOptionsError extends Error {
  override readonly name = 'ReportOptionsError';
}

const HEADERS = ['Library', 'Vulnerability', 'Severity', 'Status', 'Installed Version', 'Fixed Version', 'Title'] as const;
const TITLE = HEADERS.length - 1;
const MIN_TITLE_WIDTH = 10;
const MAX_WIDTH = 100_000;

/** SGR colours: red, bright red, yellow, blue, cyan. */
const COLOR: Readonly<Record<Severity, string>> = {
  CRITICAL: '\u001b[31m',
  HIGH: '\u001b[91m',
  MEDIUM: '\u001b[33m',
  LOW: '\u001b[34m',
  UNKNOWN: '\u001b[36m',
};
const RESET = '\u001b[0m';

// C0 and C1 controls, DEL, and the bidirectional embedding, override and isolate characters.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function printable(text: string): string {
  return text.replace(UNPRINTABLE, ' ');
}

/** Trivy's title when an advisory has none: the description's first 12 words. */
function title(f: Finding): string {
  if (f.title !== undefined) return f.title;
  const words = (f.description ?? '').split(/\s+/).filter((w) => w !== '');
  return words.length > 12 ? `${words.slice(0, 12).join(' ')}...` : words.join(' ');
}

function row(f: Finding): string[] {
  return [
    f.package.name,
    f.id,
    f.severity,
    f.fixedVersion === undefined ? 'affected' : 'fixed',
    f.installedVersion,
    f.fixedVersion ?? '',
    title(f),
  ].map(printable);
}

/** `text` in lines of at most `width` characters, broken at spaces where it can be. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ').filter((w) => w !== '')) {
    let rest = word;
    if (line !== '' && line.length + 1 + rest.length <= width) {
      line += ` ${rest}`;
      continue;
    }
    if (line !== '') lines.push(line);
    while (rest.length > width) {
      lines.push(rest.slice(0, width));
      rest = rest.slice(width);
    }
    line = rest;
  }
  lines.push(line);
  return lines;
}

/**
 * Column widths: as wide as the widest cell; then, to fit `limit`, the Title
 * column shrunk first, then Library, then the widest of the others, each no
 * narrower than its header (Title: MIN_TITLE_WIDTH). Each step brings one
 * column to its minimum or the table to the limit, so the loop ends.
 */
function columnWidths(rows: readonly string[][], limit: number | undefined): number[] {
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  if (limit === undefined) return widths;
  const minimum = HEADERS.map((h, i) => (i === TITLE ? MIN_TITLE_WIDTH : h.length));
  const shrinkable = (i: number): boolean => (widths[i] as number) > (minimum[i] as number);
  let total = widths.reduce((sum, w) => sum + w + 3, 1);
  while (total > limit) {
    const others = widths.map((_, i) => i).filter((i) => i !== TITLE && i !== 0 && shrinkable(i));
    const widest = others.sort((a, b) => (widths[b] as number) - (widths[a] as number))[0];
    const col = [TITLE, 0].find(shrinkable) ?? widest;
    if (col === undefined) break; // every column at its minimum: the table stays wider than the limit
    const shrinkTo = Math.max(minimum[col] as number, (widths[col] as number) - (total - limit));
    total -= (widths[col] as number) - shrinkTo;
    widths[col] = shrinkTo;
  }
  return widths;
}

function border(widths: readonly number[], left: string, middle: string, right: string): string {
  return left + widths.map((w) => '─'.repeat(w + 2)).join(middle) + right;
}

function center(text: string, width: number): string {
  const left = Math.floor((width - text.length) / 2);
  return ' '.repeat(left) + text + ' '.repeat(width - text.length - left);
}

/** One table row: each cell wrapped to its column, the row as tall as its tallest cell. */
function rowLines(cells: readonly string[], widths: readonly number[], severity: Severity | undefined, color: boolean): string[] {
  const wrapped = cells.map((c, i) => wrap(c, widths[i] as number));
  const height = Math.max(...wrapped.map((w) => w.length));
  const lines: string[] = [];
  for (let l = 0; l < height; l++) {
    const parts = wrapped.map((w, i) => {
      const text = w[l] ?? '';
      const padded = text + ' '.repeat((widths[i] as number) - text.length);
      return color && severity !== undefined && i === 2 && text !== '' ? COLOR[severity] + padded + RESET : padded;
    });
    lines.push(`│ ${parts.join(' │ ')} │`);
  }
  return lines;
}

function findingsTable(findings: readonly Finding[], opts: TableOptions): string[] {
  const rows = findings.map(row);
  const widths = columnWidths(rows, opts.width);
  const lines = [border(widths, '┌', '┬', '┐'), `│ ${HEADERS.map((h, i) => center(h, widths[i] as number)).join(' │ ')} │`];
  for (const [i, cells] of rows.entries()) {
    lines.push(border(widths, '├', '┼', '┤'));
    lines.push(...rowLines(cells, widths, (findings[i] as Finding).severity, opts.color));
  }
  lines.push(border(widths, '└', '┴', '┘'));
  return lines;
}

function summary(findings: readonly Finding[]): string {
  const counts = SEVERITIES.map((s) => `${s}: ${findings.filter((f) => f.severity === s).length}`);
  return `Total: ${findings.length} (${counts.join(', ')})`;
}

function targetBlock(t: ReportTarget, opts: TableOptions): string {
  const name = printable(t.target);
  const lines = [name, '='.repeat(name.length), summary(t.findings)];
  if (t.findings.length > 0) lines.push('', ...findingsTable(t.findings, opts));
  return `${lines.join('\n')}\n`;
}

/**
 * The table report of one scan: one block per shown target, blocks separated
 * by an empty line, each ending with a newline; empty when no target is
 * shown. Throws
 * ReportOptionsError when `width` is not a whole number between 1 and 100000.
 */
export function tableReport(result: ScanResult, opts: TableOptions): string {
  if (opts.width !== undefined && (!Number.isInteger(opts.width) || opts.width < 1 || opts.width > MAX_WIDTH)) {
    throw new ReportOptionsError(`table width ${String(opts.width)} is not a whole number between 1 and ${MAX_WIDTH}`);
  }
  const targets = reportTargets(result).filter((t) => t.class === 'os-pkgs' || t.findings.length > 0);
  return targets.map((t) => targetBlock(t, opts)).join('\n');
}
