/*
 * License strings as packages declare them, sorted into what an SBOM may say:
 * one SPDX license identifier, a valid SPDX license expression, or neither.
 *
 * The grammar is SPDX 2.3 Annex D ("SPDX License Expressions"):
 *   idstring            = 1*(ALPHA / DIGIT / "-" / "." )
 *   license-ref         = ["DocumentRef-" idstring ":"] "LicenseRef-" idstring
 *   simple-expression   = license-id / license-id "+" / license-ref
 *   compound-expression = simple-expression / simple-expression "WITH" license-exception-id
 *                       / compound "AND" compound / compound "OR" compound / "(" compound ")"
 * with WITH binding tighter than AND, and AND tighter than OR. Identifiers
 * are matched without regard to case ("License identifiers ... should be
 * matched in a case-insensitive manner") and written in the list's case;
 * the operators must be upper case. An identifier must be on the SPDX
 * License List (spdx-license-list.ts), so Debian's "GPL-2+" or a name like
 * "Apache License, Version 2.0" is not an expression.
 */
import { SPDX_EXCEPTION_IDS, SPDX_LICENSE_IDS } from './spdx-license-list.js';

/** What a declared license string is, for an SBOM. */
export type LicenseChoice =
  /** One identifier of the SPDX License List, in the list's case. */
  | { kind: 'id'; id: string }
  /** Any other valid expression (a `+`, a LicenseRef, WITH, AND, OR), rewritten in canonical form. */
  | { kind: 'expression'; expression: string }
  /** Not a valid SPDX expression over listed identifiers: the text as declared. */
  | { kind: 'unknown'; text: string };

/** Longer strings are not license expressions a package declares; they are treated as unknown. */
export const MAX_EXPRESSION_LENGTH = 1024;
/** Parentheses nested deeper than this are refused, so recursion stays bounded. */
const MAX_DEPTH = 32;

const byLowerCase = (ids: readonly string[]): Map<string, string> => new Map(ids.map((id) => [id.toLowerCase(), id]));
const LICENSES = byLowerCase(SPDX_LICENSE_IDS);
const EXCEPTIONS = byLowerCase(SPDX_EXCEPTION_IDS);

const IDSTRING = /^[A-Za-z0-9.-]+$/;
const LICENSE_REF = /^(?:DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$/;

class NotAnExpression extends Error {}

/** A recursive-descent parser over the tokens of one expression; rebuilds it in canonical form. */
class ExpressionParser {
  private at = 0;

  constructor(private readonly tokens: readonly string[]) {}

  /** The whole input as one expression; throws NotAnExpression otherwise. */
  parse(): string {
    const out = this.or(0);
    if (this.at !== this.tokens.length) throw new NotAnExpression();
    return out;
  }

  private peek(): string | undefined {
    return this.tokens[this.at];
  }

  private next(): string {
    const t = this.tokens[this.at++];
    if (t === undefined) throw new NotAnExpression();
    return t;
  }

  private or(depth: number): string {
    let out = this.and(depth);
    while (this.peek() === 'OR') {
      this.at++;
      out = `${out} OR ${this.and(depth)}`;
    }
    return out;
  }

  private and(depth: number): string {
    let out = this.with(depth);
    while (this.peek() === 'AND') {
      this.at++;
      out = `${out} AND ${this.with(depth)}`;
    }
    return out;
  }

  private with(depth: number): string {
    const left = this.primary(depth);
    if (this.peek() !== 'WITH') return left;
    this.at++;
    const exception = EXCEPTIONS.get(this.next().toLowerCase());
    if (exception === undefined || left.startsWith('(')) throw new NotAnExpression();
    return `${left} WITH ${exception}`;
  }

  private primary(depth: number): string {
    const t = this.next();
    if (t === '(') {
      if (depth >= MAX_DEPTH) throw new NotAnExpression();
      const inner = this.or(depth + 1);
      if (this.next() !== ')') throw new NotAnExpression();
      return `(${inner})`;
    }
    return simpleExpression(t);
  }
}

/** A license ID (with its `+`) or a LicenseRef, in canonical case; throws NotAnExpression otherwise. */
function simpleExpression(token: string): string {
  if (LICENSE_REF.test(token)) return token;
  const listed = LICENSES.get(token.toLowerCase());
  if (listed !== undefined) return listed;
  if (token.endsWith('+') && IDSTRING.test(token.slice(0, -1))) {
    const base = LICENSES.get(token.slice(0, -1).toLowerCase());
    if (base !== undefined) return `${base}+`;
  }
  throw new NotAnExpression();
}

function tokenize(text: string): string[] {
  return text
    .replace(/[()]/g, (p) => ` ${p} `)
    .split(/\s+/)
    .filter((t) => t.length > 0);
}

/** What `raw` is as an SPDX license expression. Never throws. */
export function classifyLicense(raw: string): LicenseChoice {
  const text = raw.trim();
  if (text.length === 0 || text.length > MAX_EXPRESSION_LENGTH) return { kind: 'unknown', text: raw };
  try {
    const expression = new ExpressionParser(tokenize(text)).parse();
    const single = LICENSES.get(expression.toLowerCase());
    return single === expression ? { kind: 'id', id: single } : { kind: 'expression', expression };
  } catch (err) {
    if (err instanceof NotAnExpression) return { kind: 'unknown', text: raw };
    throw err;
  }
}

/** `expression` as one operand of AND: parenthesised when it has operators of its own. */
export function asOperand(expression: string): string {
  return /\s/.test(expression) && !isParenthesised(expression) ? `(${expression})` : expression;
}

function isParenthesised(expression: string): boolean {
  if (!expression.startsWith('(') || !expression.endsWith(')')) return false;
  let depth = 0;
  for (let i = 0; i < expression.length; i++) {
    if (expression[i] === '(') depth++;
    else if (expression[i] === ')') depth--;
    if (depth === 0 && i < expression.length - 1) return false;
  }
  return true;
}
