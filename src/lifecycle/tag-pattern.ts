/*
 * Tag patterns, as lifecycle policies and tag immutability rules use them.
 *
 * Wildcard patterns are Amazon ECR's: "*" matches any run of characters (none included), every
 * other character matches itself, and the whole tag must match. ECR's evaluation rules: "if a
 * filter of prod* is applied, it would match image-tags whose name begins with prod such as prod,
 * prod1, or production-team1", and "There is a maximum limit of four wildcards (*) per string"
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html#lp_evaluation_rules).
 * The characters allowed are ECR's for its wildcard tag filters, ^[0-9a-zA-Z._*-]{1,128}$
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageTagMutabilityExclusionFilter.html):
 * a tag is [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127} (distribution-spec), so any other character could
 * never match and is a mistake worth reporting.
 *
 * Regular expressions are a berth extension. They always match the whole tag (as if written
 * ^(?:...)$) and run on RE2 (re2js), whose matching time is linear in the tag's length: a
 * backtracking engine can take exponential time on patterns like (a+)+$, and a lifecycle run
 * must not hang on a policy. RE2 syntax: backreferences and lookaround are refused.
 */

import { RE2JS } from 're2js';

export type TagPatternType = 'wildcard' | 'regex';

/** ECR: "a maximum limit of four wildcards (*) per string". */
export const MAX_WILDCARDS = 4;
/** A tag has at most 128 characters (distribution-spec), and so has an ECR tag filter. */
export const MAX_WILDCARD_PATTERN_LENGTH = 128;
/** berth's limit for a regular expression's source. */
export const MAX_REGEX_PATTERN_LENGTH = 256;

/** A pattern was refused; the message says why, without naming where it came from. */
export class TagPatternError extends Error {
  override readonly name = 'TagPatternError';
  constructor(readonly pattern: string, message: string) {
    super(message);
  }
}

export interface TagPattern {
  readonly source: string;
  readonly type: TagPatternType;
  /** True when the whole tag matches. */
  matches(tag: string): boolean;
}

export function compileTagPattern(source: string, type: TagPatternType = 'wildcard'): TagPattern {
  return type === 'regex' ? compileRegex(source) : compileWildcard(source);
}

const WILDCARD_CHARS = /^[0-9A-Za-z._*-]*$/;

export function compileWildcard(source: string): TagPattern {
  if (source.length === 0) throw new TagPatternError(source, 'must not be empty');
  if (source.length > MAX_WILDCARD_PATTERN_LENGTH) {
    throw new TagPatternError(source, `is longer than ${MAX_WILDCARD_PATTERN_LENGTH} characters`);
  }
  if (!WILDCARD_CHARS.test(source)) {
    const bad = [...source].find((c) => !WILDCARD_CHARS.test(c)) ?? '';
    throw new TagPatternError(
      source,
      `contains ${JSON.stringify(bad)}, which cannot occur in a tag (allowed: letters, digits, ".", "_", "-" and the wildcard "*")`,
    );
  }
  const segments = source.split('*');
  const wildcards = segments.length - 1;
  if (wildcards > MAX_WILDCARDS) {
    throw new TagPatternError(source, `has ${wildcards} wildcards (*); at most ${MAX_WILDCARDS} are allowed per pattern`);
  }
  return { source, type: 'wildcard', matches: (tag) => wildcardMatches(segments, tag) };
}

/**
 * The text between the wildcards must appear in order; the first piece anchors the start and the
 * last the end. Taking each middle piece at its leftmost place is never worse than a later one,
 * so no backtracking is needed.
 */
function wildcardMatches(segments: readonly string[], tag: string): boolean {
  const first = segments[0] ?? '';
  if (segments.length === 1) return tag === first;
  const last = segments[segments.length - 1] ?? '';
  if (tag.length < first.length + last.length || !tag.startsWith(first) || !tag.endsWith(last)) return false;
  const end = tag.length - last.length;
  let pos = first.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const piece = segments[i] ?? '';
    const at = tag.indexOf(piece, pos);
    if (at < 0 || at + piece.length > end) return false;
    pos = at + piece.length;
  }
  return true;
}

// ---- regular expressions: parse to a tree, compile to a program, simulate all threads at once ----

/**
 * Regular expressions (a berth extension) run on RE2 (re2js): matching time is
 * linear in the tag's length whatever the pattern, so a policy cannot hang the
 * server with a pattern like `(a+)+$`. RE2 refuses backreferences and lookaround.
 * The whole tag must match; a leading `^` and a trailing `$` are allowed and redundant.
 */
export function compileRegex(source: string): TagPattern {
  if (source.length === 0) throw new TagPatternError(source, 'must not be empty');
  if (source.length > MAX_REGEX_PATTERN_LENGTH) {
    throw new TagPatternError(source, `is longer than ${MAX_REGEX_PATTERN_LENGTH} characters`);
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (e) {
    throw new TagPatternError(source, `is not a valid regular expression: ${(e as Error).message}`);
  }
  return { source, type: 'regex', matches: (tag) => re.matches(tag) };
}
