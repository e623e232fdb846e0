/*
 * Maven versions, ordered as Maven's ComparableVersion (maven-artifact, the
 * current Maven 4 line; see "Version Order Specification" in the POM
 * reference, https://maven.apache.org/pom.html#version-order-specification).
 *
 * Parsing (case-insensitive) splits the version into items: numbers, strings
 * (qualifiers) and "combinations" (a qualifier directly followed by a number,
 * `rc1`, `alpha-1`). '.' separates items of one list; '-', a change from
 * digits to letters, and a qualifier after a number start a nested list, so
 * `1.0-alpha-1` is [1, [alpha1]] and `1.0.0.X1` sorts like `1.0.0-X1`. Each
 * list is then normalised: a zero (or empty qualifier) is dropped when it
 * ends the list or comes before a qualifier or before a nested list starting
 * with one (`1.0.0` is `1`, `1.0-alpha` is `1-alpha`), and a list holding
 * only a list is flattened.
 *
 * Ordering: numbers numerically (any length) above everything else; known
 * qualifiers alpha (a) < beta (b) < milestone (m) < rc (cr) < snapshot <
 * "" (ga, final, release) < sp, then unknown qualifiers in text order; a
 * missing item compares as "nothing", so `1-rc` < `1` < `1-sp` < `1.1`.
 *
 * Java reads some non-ASCII digits as numbers inside a combination (and
 * fails on others); those versions are refused rather than approximated.
 */

interface NumberItem {
  kind: 'number';
  /** Digits without leading zeros ("0" for zero). */
  digits: string;
}
interface StringItem {
  kind: 'string';
  value: string;
}
interface CombinationItem {
  kind: 'combination';
  text: StringItem;
  number: NumberItem;
}
interface ListItem {
  kind: 'list';
  items: Item[];
}
type Item = NumberItem | StringItem | CombinationItem | ListItem;

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const RELEASE_QUALIFIERS = ['ga', 'final', 'release'];
/** The rank of "" (a release): qualifiers ranking lower make a pre-release. */
const RELEASE_RANK = String(QUALIFIERS.indexOf(''));
const SHORTHANDS: ReadonlyMap<string, string> = new Map([
  ['a', 'alpha'],
  ['b', 'beta'],
  ['m', 'milestone'],
]);
/** Java's Character.isDigit on one UTF-16 unit. */
const UNICODE_DIGIT = /^\p{Nd}$/u;

const textOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function numberItem(digits: string): NumberItem {
  return { kind: 'number', digits: digits.replace(/^0+/, '') || '0' };
}

const ZERO = numberItem('0');

function stringItem(value: string, followedByDigit: boolean): StringItem {
  const v = followedByDigit && value.length === 1 ? (SHORTHANDS.get(value) ?? value) : value;
  return { kind: 'string', value: v === 'cr' ? 'rc' : v };
}

/** `alpha-1`, `rc1`: the text up to the first digit, then the number. */
function combinationItem(text: string): CombinationItem {
  const joined = text.replace(/-/g, '');
  let at = 0;
  while (at < joined.length && !UNICODE_DIGIT.test(joined[at] as string)) at++;
  const digits = joined.slice(at);
  if (!/^[0-9]+$/.test(digits)) throw new RangeError(`has a non-ASCII digit in ${JSON.stringify(joined)}`);
  return { kind: 'combination', text: stringItem(joined.slice(0, at), true), number: numberItem(digits) };
}

function parseItem(combination: boolean, digit: boolean, text: string): Item {
  if (combination) return combinationItem(text);
  return digit ? numberItem(text) : stringItem(text, false);
}

function isNull(item: Item): boolean {
  switch (item.kind) {
    case 'number':
      return item.digits === '0';
    case 'string':
      return item.value === '';
    case 'combination':
      return false;
    case 'list':
      return item.items.length === 0;
  }
}

function normalize(list: ListItem): void {
  const items = list.items;
  for (let i = items.length - 1; i >= 0; i--) {
    if (!isNull(items[i] as Item)) continue;
    const next = items[i + 1];
    const nextFirst = next?.kind === 'list' ? next.items[0] : undefined;
    if (next === undefined || next.kind === 'string' || nextFirst?.kind === 'combination' || nextFirst?.kind === 'string') {
      items.splice(i, 1);
    }
  }
  const only = items.length === 1 ? items[0] : undefined;
  if (only?.kind === 'list') list.items = only.items;
}

/** ComparableVersion.parseVersion. Throws RangeError for the non-ASCII digits Java would misread. */
function parse(version: string): ListItem {
  const v = version.toLowerCase();
  const root: ListItem = { kind: 'list', items: [] };
  const lists = [root];
  let list = root;
  const open = (): void => {
    const child: ListItem = { kind: 'list', items: [] };
    list.items.push(child);
    lists.push(child);
    list = child;
  };
  let digit = false;
  let combination = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i] as string;
    if (c === '.') {
      list.items.push(i === start ? ZERO : parseItem(combination, digit, v.slice(start, i)));
      combination = false;
      start = i + 1;
    } else if (c === '-') {
      if (i === start) {
        list.items.push(ZERO);
      } else if (!digit && i !== v.length - 1 && UNICODE_DIGIT.test(v[i + 1] as string)) {
        combination = true; // `X-1` reads as `X1`
        continue;
      } else {
        list.items.push(parseItem(combination, digit, v.slice(start, i)));
      }
      start = i + 1;
      if (list.items.length > 0) open();
      combination = false;
    } else if (c >= '0' && c <= '9') {
      if (!digit && i > start) {
        combination = true;
        if (list.items.length > 0) open();
      }
      digit = true;
    } else {
      if (digit && i > start) {
        list.items.push(parseItem(combination, true, v.slice(start, i)));
        start = i;
        open();
        combination = false;
      }
      digit = false;
    }
  }
  if (v.length > start) {
    if (!digit && list.items.length > 0) open(); // `.X` reads as `-X`
    list.items.push(parseItem(combination, digit, v.slice(start)));
  }
  for (let k = lists.length - 1; k >= 0; k--) normalize(lists[k] as ListItem);
  return root;
}

function rank(qualifier: string): string {
  if (RELEASE_QUALIFIERS.includes(qualifier)) return RELEASE_RANK;
  const i = QUALIFIERS.indexOf(qualifier);
  return i < 0 ? `${QUALIFIERS.length}-${qualifier}` : String(i);
}

function compareNumber(a: NumberItem, b: Item | undefined): number {
  if (b === undefined) return a.digits === '0' ? 0 : 1;
  if (b.kind !== 'number') return 1;
  return a.digits.length !== b.digits.length ? Math.sign(a.digits.length - b.digits.length) : textOrder(a.digits, b.digits);
}

function compareString(a: StringItem, b: Item | undefined): number {
  if (b === undefined) return textOrder(rank(a.value), RELEASE_RANK);
  switch (b.kind) {
    case 'number':
      return -1;
    case 'string':
      return textOrder(rank(a.value), rank(b.value));
    case 'combination': {
      const r = compareString(a, b.text);
      if (r !== 0) return r;
      return compareString(a, undefined) === 0 ? -compareNumber(b.number, undefined) : -1;
    }
    case 'list':
      return -compareList(b, a);
  }
}

function compareCombination(a: CombinationItem, b: Item | undefined): number {
  if (b === undefined) return compareString(a.text, undefined) || compareNumber(a.number, undefined);
  switch (b.kind) {
    case 'number':
      return -1;
    case 'string': {
      const r = compareString(a.text, b);
      if (r !== 0) return r;
      return compareString(a.text, undefined) === 0 ? compareNumber(a.number, undefined) : 1;
    }
    case 'combination':
      return compareString(a.text, b.text) || compareNumber(a.number, b.number);
    case 'list':
      return -compareList(b, a);
  }
}

function compareList(a: ListItem, b: Item | undefined): number {
  if (b === undefined) {
    for (const item of a.items) {
      const r = compareItem(item, undefined);
      if (r !== 0) return r;
    }
    return 0;
  }
  switch (b.kind) {
    case 'number':
      return -1;
    case 'string':
    case 'combination': {
      const first = a.items[0];
      let r = first === undefined ? -compareItem(b, undefined) : compareItem(first, b);
      for (let i = 1; r === 0 && i < a.items.length; i++) r = compareItem(a.items[i] as Item, undefined);
      return r;
    }
    case 'list':
      for (let i = 0; i < a.items.length || i < b.items.length; i++) {
        const l = a.items[i];
        const r = b.items[i];
        const result = l === undefined ? (r === undefined ? 0 : -compareItem(r, undefined)) : compareItem(l, r);
        if (result !== 0) return result;
      }
      return 0;
  }
}

function compareItem(a: Item, b: Item | undefined): number {
  switch (a.kind) {
    case 'number':
      return compareNumber(a, b);
    case 'string':
      return compareString(a, b);
    case 'combination':
      return compareCombination(a, b);
    case 'list':
      return compareList(a, b);
  }
}

/** Orders two Maven versions as ComparableVersion.compareTo. Throws RangeError for versions mavenVersionProblem refuses. */
export function compareMavenVersions(a: string, b: string): number {
  return compareList(parse(a), parse(b));
}

/** Why `v` cannot be compared like Maven does, or undefined. Every other string is a Maven version. Never throws. */
export function mavenVersionProblem(v: string): string | undefined {
  try {
    parse(v);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
