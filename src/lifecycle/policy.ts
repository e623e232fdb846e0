/*
 * Lifecycle policy documents: Amazon ECR's format, accepted verbatim, plus a few berth extensions.
 *
 * Sources (Amazon ECR User Guide):
 *  - properties: https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
 *  - evaluation rules: https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html#lp_evaluation_rules
 *  - quotas ("Rules per lifecycle policy" 50, "Lifecycle policy length" 30,720 characters):
 *    https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html
 *
 * What is checked, and the ECR text behind it:
 *  - rulePriority: "you must give them each a unique value for rulePriority"; positive integers.
 *  - "A rule with a tagStatus value of any must have the highest value for rulePriority".
 *  - tagStatus "tagged", "untagged" or "any"; "If you specify tagged, then you must also specify a
 *    tagPrefixList value or a tagPatternList value. If you specify untagged, then you must omit both".
 *  - "A lifecycle policy rule may specify either tagPatternList or tagPrefixList, but not both."
 *  - "There is a maximum limit of four wildcards (*) per string" (see tag-pattern.ts).
 *  - countUnit "days" is required with sinceImagePushed, and "an error will occur if you specify a
 *    count unit when countType is any other value".
 *  - countNumber: "Acceptable values are positive integers (0 is not an accepted value)."
 *  - action.type: "The supported value is expire."
 *  - "Only one rule is allowed to select untagged images" (a rule with tagStatus "untagged").
 *  - "The set of rules must contain a unique set of tag prefixes": two rules may not select the
 *    same set of prefixes (or of patterns).
 *  - Unknown fields are refused, as ECR's schema refuses them. "storageClass": "standard" is
 *    accepted and dropped: ECR documents it as the only value for these count types, and berth has
 *    a single storage class. ECR's archive features ("transition", sinceImageTransitioned) are not.
 *
 * berth extensions (not in ECR's format; ECR would refuse them):
 *  - countType "sinceImagePulled" with action "expire": expire images whose last pull is more than
 *    countNumber days before the evaluation time; an image never pulled counts from its push.
 *    (ECR now has a countType of that name, but only for its "transition" to archive storage.)
 *  - orderBy "pushed" (default) | "pulled" for imageCountMoreThan: rank by last pull time, falling
 *    back to the push time for images never pulled.
 *  - tagPatternType "wildcard" (default) | "regex": tagPatternList entries are regular expressions,
 *    matched against the whole tag.
 */
import { PolicyDocumentError } from '../errors/document-error.js';
import { compileTagPattern, TagPatternError, type TagPatternType } from './tag-pattern.js';

export type TagStatus = 'tagged' | 'untagged' | 'any';
export type CountType = 'imageCountMoreThan' | 'sinceImagePushed' | 'sinceImagePulled';
export type RankOrder = 'pushed' | 'pulled';

export interface RuleSelection {
  tagStatus: TagStatus;
  tagPrefixList?: string[];
  tagPatternList?: string[];
  /** berth extension; absent means "wildcard". */
  tagPatternType?: TagPatternType;
  countType: CountType;
  /** Present exactly when countType counts days. */
  countUnit?: 'days';
  countNumber: number;
  /** berth extension, imageCountMoreThan only; absent means "pushed". */
  orderBy?: RankOrder;
}

export interface LifecycleRule {
  rulePriority: number;
  description?: string;
  selection: RuleSelection;
  action: { type: 'expire' };
}

export interface LifecyclePolicy {
  rules: LifecycleRule[];
}

/** A policy (or immutability rules) document was refused. */
export class LifecyclePolicyError extends PolicyDocumentError {
  override name = 'LifecyclePolicyError';
  /**
   * @param field path of the offending value, e.g. "rules[1].selection.countUnit" ("" for the document)
   * @param rulePriority the rule's rulePriority when it was readable
   */
  constructor(message: string, field: string, readonly rulePriority?: number) {
    super(message, field);
  }
}

export const MAX_RULES = 50;
export const MAX_POLICY_LENGTH = 30720;

const TAG_STATUSES: readonly string[] = ['tagged', 'untagged', 'any'];
const COUNT_TYPES: readonly string[] = ['imageCountMoreThan', 'sinceImagePushed', 'sinceImagePulled'];
const RULE_FIELDS: readonly string[] = ['rulePriority', 'description', 'selection', 'action'];
const SELECTION_FIELDS: readonly string[] = [
  'tagStatus', 'tagPrefixList', 'tagPatternList', 'tagPatternType', 'countType', 'countUnit', 'countNumber', 'orderBy', 'storageClass',
];
const PREFIX_CHARS = /^[0-9A-Za-z._-]+$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const q = (v: unknown): string => JSON.stringify(v) ?? String(v);

/** Where a problem is, for messages: the rule's index and, once known, its rulePriority. */
class RuleContext {
  rulePriority: number | undefined;
  constructor(readonly index: number) {}

  path(field: string): string {
    return field === '' ? `rules[${this.index}]` : `rules[${this.index}].${field}`;
  }

  fail(field: string, problem: string): never {
    const path = this.path(field);
    const which = this.rulePriority === undefined ? `rules[${this.index}]` : `rules[${this.index}] (rulePriority ${this.rulePriority})`;
    throw new LifecyclePolicyError(`lifecycle policy rule ${which}: ${path} ${problem}`, path, this.rulePriority);
  }
}

function failDocument(field: string, problem: string): never {
  throw new LifecyclePolicyError(`lifecycle policy: ${field === '' ? 'the document' : field} ${problem}`, field);
}

/**
 * Validates an Amazon ECR lifecycle policy (an object, or its JSON text) and returns it with only
 * the fields berth knows. Throws LifecyclePolicyError naming the rule and field of the first problem.
 */
export function parseLifecyclePolicy(input: unknown): LifecyclePolicy {
  const doc = typeof input === 'string' ? parseText(input) : input;
  if (!isObject(doc)) failDocument('', 'must be a JSON object with "rules"');
  if (typeof input !== 'string' && (JSON.stringify(doc)?.length ?? 0) > MAX_POLICY_LENGTH) {
    failDocument('', `is longer than ${MAX_POLICY_LENGTH} characters`);
  }
  for (const key of Object.keys(doc)) if (key !== 'rules') failDocument(key, 'is not a lifecycle policy field (only "rules" is)');
  const rules = doc.rules;
  if (!Array.isArray(rules)) failDocument('rules', 'must be an array of rules');
  if (rules.length === 0) failDocument('rules', 'must contain at least one rule');
  if (rules.length > MAX_RULES) failDocument('rules', `has ${rules.length} rules; at most ${MAX_RULES} are allowed`);
  const parsed = rules.map((raw: unknown, index) => parseRule(raw, new RuleContext(index)));
  checkAcrossRules(parsed);
  return { rules: parsed };
}

function parseText(text: string): unknown {
  if (text.length > MAX_POLICY_LENGTH) failDocument('', `is longer than ${MAX_POLICY_LENGTH} characters`);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    return failDocument('', `is not valid JSON (${(err as Error).message})`);
  }
}

function parseRule(raw: unknown, ctx: RuleContext): LifecycleRule {
  if (!isObject(raw)) ctx.fail('', 'must be an object with rulePriority, selection and action');
  const priority = raw.rulePriority;
  if (priority === undefined) ctx.fail('rulePriority', 'is required');
  if (typeof priority !== 'number' || !Number.isSafeInteger(priority) || priority < 1) {
    ctx.fail('rulePriority', `must be a positive integer, not ${q(priority)}`);
  }
  ctx.rulePriority = priority;
  for (const key of Object.keys(raw)) {
    if (!RULE_FIELDS.includes(key)) ctx.fail(key, `is not a rule field (known: ${RULE_FIELDS.join(', ')})`);
  }
  const description = raw.description;
  if (description !== undefined && typeof description !== 'string') ctx.fail('description', `must be a string, not ${q(description)}`);
  const selection = parseSelection(raw.selection, ctx);
  const action = parseAction(raw.action, ctx);
  return { rulePriority: priority, ...(description === undefined ? {} : { description }), selection, action };
}

function parseAction(raw: unknown, ctx: RuleContext): { type: 'expire' } {
  if (raw === undefined) ctx.fail('action', 'is required ({"type": "expire"})');
  if (!isObject(raw)) ctx.fail('action', 'must be an object ({"type": "expire"})');
  for (const key of Object.keys(raw)) if (key !== 'type') ctx.fail(`action.${key}`, 'is not supported (only "type": "expire" is)');
  if (raw.type !== 'expire') ctx.fail('action.type', `must be "expire", not ${q(raw.type)}`);
  return { type: 'expire' };
}

function parseSelection(raw: unknown, ctx: RuleContext): RuleSelection {
  if (raw === undefined) ctx.fail('selection', 'is required');
  if (!isObject(raw)) ctx.fail('selection', 'must be an object');
  for (const key of Object.keys(raw)) {
    if (!SELECTION_FIELDS.includes(key)) ctx.fail(`selection.${key}`, `is not a selection field (known: ${SELECTION_FIELDS.join(', ')})`);
  }
  const tagStatus = raw.tagStatus;
  if (typeof tagStatus !== 'string' || !TAG_STATUSES.includes(tagStatus)) {
    ctx.fail('selection.tagStatus', tagStatus === undefined ? 'is required ("tagged", "untagged" or "any")' : `must be "tagged", "untagged" or "any", not ${q(tagStatus)}`);
  }
  const selection = { tagStatus } as RuleSelection;
  parseTagLists(raw, selection, ctx);
  parseCount(raw, selection, ctx);
  if (raw.storageClass !== undefined && raw.storageClass !== 'standard') {
    ctx.fail('selection.storageClass', `must be "standard" (berth has no archive storage), not ${q(raw.storageClass)}`);
  }
  return selection;
}

function parseTagLists(raw: Json, selection: RuleSelection, ctx: RuleContext): void {
  const { tagPrefixList: prefixes, tagPatternList: patterns, tagPatternType: patternType } = raw;
  if (selection.tagStatus !== 'tagged') {
    if (prefixes !== undefined) ctx.fail('selection.tagPrefixList', `is only allowed with tagStatus "tagged", not ${q(selection.tagStatus)}`);
    if (patterns !== undefined) ctx.fail('selection.tagPatternList', `is only allowed with tagStatus "tagged", not ${q(selection.tagStatus)}`);
  } else if (prefixes !== undefined && patterns !== undefined) {
    ctx.fail('selection.tagPatternList', 'cannot be used together with tagPrefixList; a rule specifies one or the other');
  } else if (prefixes === undefined && patterns === undefined) {
    ctx.fail('selection.tagPatternList', 'or tagPrefixList is required when tagStatus is "tagged"');
  }
  if (patternType !== undefined) {
    if (patterns === undefined) ctx.fail('selection.tagPatternType', 'is only allowed together with tagPatternList');
    if (patternType !== 'wildcard' && patternType !== 'regex') ctx.fail('selection.tagPatternType', `must be "wildcard" or "regex", not ${q(patternType)}`);
    selection.tagPatternType = patternType;
  }
  if (prefixes !== undefined) {
    selection.tagPrefixList = stringList(prefixes, 'selection.tagPrefixList', ctx, (prefix, field) => {
      if (!PREFIX_CHARS.test(prefix) || prefix.length > 128) {
        ctx.fail(field, `${q(prefix)} is not a tag prefix (1 to 128 letters, digits, ".", "_" or "-"; use tagPatternList for wildcards)`);
      }
    });
  }
  if (patterns !== undefined) {
    const type = selection.tagPatternType ?? 'wildcard';
    selection.tagPatternList = stringList(patterns, 'selection.tagPatternList', ctx, (pattern, field) => {
      try {
        compileTagPattern(pattern, type);
      } catch (err) {
        if (err instanceof TagPatternError) ctx.fail(field, `${q(pattern)} ${err.message}`);
        throw err;
      }
    });
  }
}

function stringList(value: unknown, field: string, ctx: RuleContext, check: (item: string, field: string) => void): string[] {
  if (!Array.isArray(value)) ctx.fail(field, 'must be an array of strings');
  if (value.length === 0) ctx.fail(field, 'must not be empty');
  return value.map((item: unknown, i) => {
    if (typeof item !== 'string') ctx.fail(`${field}[${i}]`, `must be a string, not ${q(item)}`);
    check(item, `${field}[${i}]`);
    return item;
  });
}

function parseCount(raw: Json, selection: RuleSelection, ctx: RuleContext): void {
  const { countType, countUnit, countNumber, orderBy } = raw;
  if (typeof countType !== 'string' || !COUNT_TYPES.includes(countType)) {
    const known = 'imageCountMoreThan, sinceImagePushed or sinceImagePulled (berth extension)';
    ctx.fail('selection.countType', countType === undefined ? `is required (${known})` : `must be ${known}, not ${q(countType)}`);
  }
  selection.countType = countType as CountType;
  if (countType === 'imageCountMoreThan') {
    if (countUnit !== undefined) ctx.fail('selection.countUnit', 'must be omitted when countType is "imageCountMoreThan"');
  } else {
    if (countUnit === undefined) ctx.fail('selection.countUnit', `is required ("days") when countType is ${q(countType)}`);
    if (countUnit !== 'days') ctx.fail('selection.countUnit', `must be "days", not ${q(countUnit)}`);
    selection.countUnit = 'days';
  }
  if (countNumber === undefined) ctx.fail('selection.countNumber', 'is required');
  if (typeof countNumber !== 'number' || !Number.isSafeInteger(countNumber) || countNumber < 1) {
    ctx.fail('selection.countNumber', `must be a positive integer (0 is not accepted), not ${q(countNumber)}`);
  }
  selection.countNumber = countNumber;
  if (orderBy !== undefined) {
    if (countType !== 'imageCountMoreThan') ctx.fail('selection.orderBy', 'is only allowed when countType is "imageCountMoreThan"');
    if (orderBy !== 'pushed' && orderBy !== 'pulled') ctx.fail('selection.orderBy', `must be "pushed" or "pulled", not ${q(orderBy)}`);
    selection.orderBy = orderBy;
  }
}

/** The checks that need every rule: unique priorities, "any" last, one untagged rule, unique tag sets. */
function checkAcrossRules(rules: LifecycleRule[]): void {
  const contextOf = (i: number): RuleContext => {
    const ctx = new RuleContext(i);
    ctx.rulePriority = rules[i]?.rulePriority;
    return ctx;
  };
  const firstWithPriority = new Map<number, number>();
  const firstWithTags = new Map<string, number>();
  let untagged: number | undefined;
  const highest = Math.max(...rules.map((r) => r.rulePriority));
  rules.forEach((rule, i) => {
    const { selection } = rule;
    const earlier = firstWithPriority.get(rule.rulePriority);
    if (earlier !== undefined) contextOf(i).fail('rulePriority', `${rule.rulePriority} is already used by rules[${earlier}]; each rule needs a unique rulePriority`);
    firstWithPriority.set(rule.rulePriority, i);
    if (selection.tagStatus === 'any' && rule.rulePriority !== highest) {
      contextOf(i).fail('selection.tagStatus', `"any" requires the highest rulePriority in the policy; another rule has rulePriority ${highest}`);
    }
    if (selection.tagStatus === 'untagged') {
      if (untagged !== undefined) {
        contextOf(i).fail('selection.tagStatus', `"untagged" is already selected by rules[${untagged}] (rulePriority ${rules[untagged]?.rulePriority}); only one rule may select untagged images`);
      }
      untagged = i;
    }
    const list = selection.tagPrefixList ?? selection.tagPatternList;
    if (list !== undefined) {
      const kind = selection.tagPrefixList !== undefined ? 'tagPrefixList' : `tagPatternList:${selection.tagPatternType ?? 'wildcard'}`;
      const key = `${kind}\n${[...new Set(list)].sort().join('\n')}`;
      const same = firstWithTags.get(key);
      const field = selection.tagPrefixList !== undefined ? 'selection.tagPrefixList' : 'selection.tagPatternList';
      if (same !== undefined) contextOf(i).fail(field, `selects the same set of tags as rules[${same}]; the rules of a policy must have unique tag sets`);
      firstWithTags.set(key, i);
    }
  });
}
