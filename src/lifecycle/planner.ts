/*
 * The lifecycle planner: which images a policy expires, and why each one is expired or kept. Pure:
 * no I/O, and every age is measured from the `now` it is given.
 *
 * Amazon ECR's evaluation rules, as implemented here
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html#lp_evaluation_rules):
 *  - "All rules are evaluated at the same time, regardless of rule priority. After all rules are
 *    evaluated, they are then applied based on rule priority." Each rule first selects the images
 *    matching its tag requirements and decides, on that whole selection, which it would expire.
 *  - "An image is expired by exactly one or zero rules." / "An image that matches the tagging
 *    requirements of a rule cannot be expired by a rule with a lower priority." An image belongs to
 *    the first rule, by rulePriority, that selects it; that rule alone expires or keeps it.
 *  - "Rules can never mark images that are marked by higher priority rules, but can still identify
 *    them as if they haven't been expired." A rule's selection (and so its ranking) includes images
 *    that belong to earlier rules; it just cannot decide them.
 *  - "With countType = imageCountMoreThan, images are sorted from youngest to oldest based on
 *    pushed_at_time and then all images greater than the specified count are expired."
 *  - "With countType = sinceImagePushed, all images whose pushed_at_time is older than the specified
 *    number of days based on countNumber are expired." A day is 24 hours, and "older than" is
 *    strict: an image pushed exactly countNumber × 24 h ago is kept, a millisecond more expires it.
 *    The ECR example "Filtering on all images", example B, agrees: its untagged image E, "Pushed:
 *    1 day ago", is not expired by a rule expiring untagged images "older than one day".
 *  - "When using the tagPrefixList, an image is successfully matched if all of the tags in the
 *    tagPrefixList value are matched against any of the image's tags"; the same for tagPatternList.
 *    Each entry needs some tag of the image; one tag may satisfy several entries.
 *  - "Expiration is always ordered by pushed_at_time, and always expires older images before newer
 *    ones": the plan lists expired images oldest push first.
 *
 * berth additions:
 *  - Referrers (subject !== null, or tagged only with cosign's `sha256-<hex>.sig|att|sbom` tags of
 *    one digest, which then counts as the subject) are never evaluated by rules (nor counted in rankings): a referrer
 *    follows its subject, transitively. One whose subject is not among the images is kept (rule
 *    null); garbage collection deals with orphans.
 *  - A manifest listed by an index among the images is not evaluated on its own (ECR: "If an image
 *    is referenced by a manifest list, it cannot be expired without the manifest list being deleted
 *    first"): it is kept when any parent index is kept and expired when all are.
 *  - A manifest that is both (a referrer listed by an index) is kept if any of them is kept. A
 *    reference cycle (malformed metadata) keeps its members.
 *  - Extensions of policy.ts: sinceImagePulled (last pull, else push, more than countNumber days
 *    ago) and orderBy "pulled" (rank by last pull, else push).
 *  Ties in a ranking (equal times) are broken by digest, so a plan is deterministic.
 */
import { taggedSubject } from '../oci/cosign-tags.js';
import type { LifecyclePolicy, LifecycleRule } from './policy.js';
import { compileTagPattern, type TagPattern } from './tag-pattern.js';

export interface ImageInfo {
  digest: string;
  tags: string[];
  /** ms since the epoch */
  pushedAt: number;
  /** ms since the epoch; null when never pulled */
  lastPulledAt: number | null;
  /** digest of the subject when this manifest is a referrer */
  subject: string | null;
  /** digests of the manifests an index references */
  children: string[];
}

export interface PlanEntry {
  digest: string;
  tags: string[];
  /** rulePriority of the rule that decided, directly or through a subject or parent index; null when none did */
  rule: number | null;
  reason: string;
}

export interface LifecyclePlan {
  expire: PlanEntry[];
  keep: PlanEntry[];
}

export const DAY_MS = 24 * 60 * 60 * 1000;

interface Decision {
  expire: boolean;
  rule: number | null;
  reason: string;
}

/** Every input image appears exactly once, in `expire` or in `keep`, both ordered oldest push first. */
export function planLifecycle(policy: LifecyclePolicy, listed: ImageInfo[], now: number): LifecyclePlan {
  // Cosign's tag-scheme signatures, attestations and SBOMs follow the image they name, as referrers do.
  const images = listed.map((i) => (i.subject === null ? { ...i, subject: taggedSubject(i.tags) ?? null } : i));
  const byDigest = new Map<string, ImageInfo>();
  for (const image of images) {
    if (byDigest.has(image.digest)) throw new TypeError(`planLifecycle: image ${image.digest} is listed twice`);
    byDigest.set(image.digest, image);
  }
  const parents = parentIndexes(images, byDigest);
  const dependent = (image: ImageInfo): boolean => image.subject !== null || (parents.get(image.digest)?.length ?? 0) > 0;
  const decisions = decideByRules(policy, images.filter((image) => !dependent(image)), now);
  for (const image of images) if (dependent(image)) decideDependent(image, byDigest, parents, decisions);

  const plan: LifecyclePlan = { expire: [], keep: [] };
  for (const image of [...images].sort(oldestFirst)) {
    const d = decisions.get(image.digest) as Decision;
    (d.expire ? plan.expire : plan.keep).push({ digest: image.digest, tags: [...image.tags], rule: d.rule, reason: d.reason });
  }
  return plan;
}

const oldestFirst = (a: ImageInfo, b: ImageInfo): number => a.pushedAt - b.pushedAt || compareDigests(a.digest, b.digest);
const compareDigests = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** child digest -> digests of the indexes among the images that list it (an index never parents itself). */
function parentIndexes(images: ImageInfo[], byDigest: Map<string, ImageInfo>): Map<string, string[]> {
  const parents = new Map<string, string[]>();
  for (const index of images) {
    for (const child of new Set(index.children)) {
      if (child === index.digest || !byDigest.has(child)) continue;
      parents.set(child, [...(parents.get(child) ?? []), index.digest]);
    }
  }
  return parents;
}

/** What one rule would do to each image it selects, considering its whole selection. */
interface RuleVerdicts {
  rule: LifecycleRule;
  verdicts: Map<string, { expire: boolean; why: string }>;
}

function decideByRules(policy: LifecyclePolicy, evaluated: ImageInfo[], now: number): Map<string, Decision> {
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  const all = rules.map((rule) => evaluateRule(rule, evaluated.filter(selector(rule)), now));
  const decisions = new Map<string, Decision>();
  for (const image of evaluated) {
    const owner = all.find((r) => r.verdicts.has(image.digest));
    const verdict = owner?.verdicts.get(image.digest);
    if (owner === undefined || verdict === undefined) {
      decisions.set(image.digest, { expire: false, rule: null, reason: 'no rule selects this image' });
      continue;
    }
    const priority = owner.rule.rulePriority;
    decisions.set(image.digest, {
      expire: verdict.expire,
      rule: priority,
      reason: verdict.expire ? verdict.why : `kept by rule ${priority}: ${verdict.why}`,
    });
  }
  return decisions;
}

/** The tagging requirements of a rule, as a predicate. */
function selector(rule: LifecycleRule): (image: ImageInfo) => boolean {
  const { tagStatus, tagPrefixList, tagPatternList, tagPatternType } = rule.selection;
  if (tagStatus === 'any') return () => true;
  if (tagStatus === 'untagged') return (image) => image.tags.length === 0;
  const patterns: TagPattern[] = tagPatternList?.map((p) => compileTagPattern(p, tagPatternType ?? 'wildcard')) ?? [];
  const prefixes = tagPrefixList ?? [];
  return (image) =>
    image.tags.length > 0 &&
    prefixes.every((prefix) => image.tags.some((tag) => tag.startsWith(prefix))) &&
    patterns.every((pattern) => image.tags.some((tag) => pattern.matches(tag)));
}

function evaluateRule(rule: LifecycleRule, selected: ImageInfo[], now: number): RuleVerdicts {
  const { countType, countNumber, orderBy } = rule.selection;
  const p = rule.rulePriority;
  const verdicts = new Map<string, { expire: boolean; why: string }>();
  if (countType === 'imageCountMoreThan') {
    const byPull = orderBy === 'pulled';
    const time = (image: ImageInfo): number => (byPull ? (image.lastPulledAt ?? image.pushedAt) : image.pushedAt);
    const ranked = [...selected].sort((a, b) => time(b) - time(a) || b.pushedAt - a.pushedAt || compareDigests(a.digest, b.digest));
    ranked.forEach((image, i) => {
      const rank = `rank ${i + 1} by ${byPull ? 'last pull' : 'push time'} among ${ranked.length} images matching; rule ${p} keeps ${countNumber}`;
      verdicts.set(image.digest, { expire: i + 1 > countNumber, why: rank });
    });
    return { rule, verdicts };
  }
  const limit = countNumber * DAY_MS;
  for (const image of selected) {
    let expire: boolean;
    let age: string;
    if (countType === 'sinceImagePushed') {
      expire = now - image.pushedAt > limit;
      age = `pushed ${formatAge(now - image.pushedAt)}`;
    } else {
      const last = image.lastPulledAt ?? image.pushedAt;
      expire = now - last > limit;
      age = image.lastPulledAt === null ? `never pulled, pushed ${formatAge(now - last)}` : `last pulled ${formatAge(now - last)}`;
    }
    const unit = `${countNumber} day${countNumber === 1 ? '' : 's'}`;
    const withoutPull = countType === 'sinceImagePulled' ? ' without a pull' : '';
    verdicts.set(image.digest, {
      expire,
      why: expire ? `${age}; rule ${p} expires after ${unit}${withoutPull}` : `${age}, within its ${unit}${withoutPull}`,
    });
  }
  return { rule, verdicts };
}

/** "12 days ago", "1 day ago", "7.5 days ago", "more than 7 days ago": rounded down to a tenth of a day. */
function formatAge(ms: number): string {
  if (ms < 0) return 'in the future (clock skew)';
  const days = ms / DAY_MS;
  const shown = Math.floor(days * 10) / 10;
  const more = !Number.isInteger(days) && Number.isInteger(shown) ? 'more than ' : '';
  return `${more}${shown} day${shown === 1 ? '' : 's'} ago`;
}

const short = (digest: string): string => {
  const colon = digest.indexOf(':');
  return digest.slice(0, colon + 1 + 12);
};

/**
 * Decides a referrer or index child from its owners (its subject, its parent indexes), owners
 * first, without recursion so that long chains cannot overflow the stack. An owner still being
 * decided higher up the stack closes a cycle; it counts as kept, so a cycle keeps its members.
 */
function decideDependent(start: ImageInfo, byDigest: Map<string, ImageInfo>, parents: Map<string, string[]>, decisions: Map<string, Decision>): void {
  const ownersOf = (image: ImageInfo): Array<{ digest: string; as: 'subject' | 'index' }> => [
    ...(image.subject !== null && byDigest.has(image.subject) ? [{ digest: image.subject, as: 'subject' as const }] : []),
    ...(parents.get(image.digest) ?? []).map((digest) => ({ digest, as: 'index' as const })),
  ];
  const visiting = new Set<string>();
  const stack = [start];
  while (stack.length > 0) {
    const image = stack[stack.length - 1] as ImageInfo;
    if (decisions.has(image.digest)) {
      stack.pop();
      continue;
    }
    const owners = ownersOf(image);
    if (!visiting.has(image.digest)) {
      visiting.add(image.digest);
      const pending = owners.filter((o) => !decisions.has(o.digest) && !visiting.has(o.digest));
      if (pending.length > 0) {
        stack.push(...pending.map((o) => byDigest.get(o.digest) as ImageInfo));
        continue;
      }
    }
    stack.pop();
    decisions.set(image.digest, combine(image, owners, decisions));
  }
}

function combine(image: ImageInfo, owners: Array<{ digest: string; as: 'subject' | 'index' }>, decisions: Map<string, Decision>): Decision {
  const describe = (o: { digest: string; as: 'subject' | 'index' }): string =>
    o.as === 'subject' ? `referrer of ${short(o.digest)}` : `child of index ${short(o.digest)}`;
  if (image.subject !== null && !owners.some((o) => o.as === 'subject')) {
    return { expire: false, rule: null, reason: `referrer of ${short(image.subject)}, which is not among the images; left to garbage collection` };
  }
  for (const owner of owners) {
    const d = decisions.get(owner.digest);
    if (d === undefined) return { expire: false, rule: null, reason: `${describe(owner)}, in a reference cycle; kept` };
    if (!d.expire) return { expire: false, rule: d.rule, reason: `${describe(owner)}, which is kept` };
  }
  const first = owners[0] as { digest: string; as: 'subject' | 'index' };
  const others = owners.length > 1 ? ` (and ${owners.length - 1} more, all expired)` : '';
  return { expire: true, rule: (decisions.get(first.digest) as Decision).rule, reason: `${describe(first)}, which is expired${others}` };
}
