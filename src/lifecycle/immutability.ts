/*
 * Tag immutability rules: which tags of a repository may not be moved to another manifest once set.
 *
 * Document: {"rules": [{"description"?: string, "tagPatternList": string[], "excludeTagPatternList"?: string[]}]}
 * A tag is immutable when some rule's tagPatternList matches it and none of that same rule's
 * excludeTagPatternList does. Patterns are Amazon ECR wildcard patterns (tag-pattern.ts). This is
 * berth's generalisation of ECR's IMMUTABLE_WITH_EXCLUSION setting, where every tag is immutable
 * except those matching a list of wildcard filters
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageTagMutabilityExclusionFilter.html):
 * that setting is the single rule {"tagPatternList": ["*"], "excludeTagPatternList": [...filters]}.
 */
import { LifecyclePolicyError } from './policy.js';
import { compileWildcard, TagPatternError, type TagPattern } from './tag-pattern.js';

export interface ImmutabilityRule {
  description?: string;
  tagPatternList: string[];
  excludeTagPatternList?: string[];
}

export interface ImmutabilityRules {
  rules: ImmutabilityRule[];
}

export interface ImmutableRuleMatch {
  /** index of the rule in `rules` */
  index: number;
  description: string | null;
  /** the entry of its tagPatternList that matched */
  pattern: string;
}

const RULE_FIELDS: readonly string[] = ['description', 'tagPatternList', 'excludeTagPatternList'];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(field: string, problem: string, index?: number): never {
  const where = index === undefined ? 'immutability rules' : `immutability rule rules[${index}]`;
  throw new LifecyclePolicyError(`${where}: ${field === '' ? 'the document' : field} ${problem}`, field);
}

/** Validates an immutability rules document; throws LifecyclePolicyError naming the rule index and field. */
export function parseImmutabilityRules(input: unknown): ImmutabilityRules {
  if (!isObject(input)) fail('', 'must be a JSON object with "rules"');
  for (const key of Object.keys(input)) if (key !== 'rules') fail(key, 'is not a field of immutability rules (only "rules" is)');
  if (!Array.isArray(input.rules)) fail('rules', 'must be an array of rules');
  return { rules: input.rules.map((raw: unknown, index) => parseRule(raw, index)) };
}

function parseRule(raw: unknown, index: number): ImmutabilityRule {
  const at = `rules[${index}]`;
  if (!isObject(raw)) fail(at, 'must be an object with tagPatternList', index);
  for (const key of Object.keys(raw)) {
    if (!RULE_FIELDS.includes(key)) fail(`${at}.${key}`, `is not a rule field (known: ${RULE_FIELDS.join(', ')})`, index);
  }
  const { description, tagPatternList, excludeTagPatternList } = raw;
  if (description !== undefined && typeof description !== 'string') fail(`${at}.description`, 'must be a string', index);
  if (tagPatternList === undefined) fail(`${at}.tagPatternList`, 'is required', index);
  const rule: ImmutabilityRule = { tagPatternList: patternList(tagPatternList, `${at}.tagPatternList`, index) };
  if (description !== undefined) rule.description = description;
  if (excludeTagPatternList !== undefined) {
    rule.excludeTagPatternList = patternList(excludeTagPatternList, `${at}.excludeTagPatternList`, index, true);
  }
  return rule;
}

function patternList(value: unknown, field: string, index: number, mayBeEmpty = false): string[] {
  if (!Array.isArray(value)) fail(field, 'must be an array of strings', index);
  if (value.length === 0 && !mayBeEmpty) fail(field, 'must not be empty', index);
  return value.map((item: unknown, i) => {
    if (typeof item !== 'string') fail(`${field}[${i}]`, 'must be a string', index);
    try {
      compileWildcard(item);
    } catch (err) {
      if (err instanceof TagPatternError) fail(`${field}[${i}]`, `${JSON.stringify(item)} ${err.message}`, index);
      throw err;
    }
    return item;
  });
}

/** Compiled patterns per rule object; rules are plain data, so they are compiled on first use. */
const compiled = new WeakMap<ImmutabilityRule, { include: TagPattern[]; exclude: TagPattern[] }>();

function patternsOf(rule: ImmutabilityRule): { include: TagPattern[]; exclude: TagPattern[] } {
  let entry = compiled.get(rule);
  if (entry === undefined) {
    entry = { include: rule.tagPatternList.map(compileWildcard), exclude: (rule.excludeTagPatternList ?? []).map(compileWildcard) };
    compiled.set(rule, entry);
  }
  return entry;
}

/** The first rule that makes `tag` immutable, or undefined when the tag may be moved. */
export function immutableRule(rules: ImmutabilityRules, tag: string): ImmutableRuleMatch | undefined {
  for (const [index, rule] of rules.rules.entries()) {
    const { include, exclude } = patternsOf(rule);
    const hit = include.find((p) => p.matches(tag));
    if (hit === undefined || exclude.some((p) => p.matches(tag))) continue;
    return { index, description: rule.description ?? null, pattern: hit.source };
  }
  return undefined;
}
