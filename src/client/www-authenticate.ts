/**
 * `WWW-Authenticate` challenges as registries send them (RFC 9110 section 11.6.1 and the Docker
 * token authentication spec): `Bearer realm="...",service="...",scope="..."` or `Basic realm="..."`.
 * One parser for every client: `berth login` and the pull-through cache's upstream client.
 */
export interface Challenge {
  /** Lower-cased scheme: "bearer", "basic", ... */
  scheme: string;
  params: Record<string, string>;
}

/**
 * The challenges of a WWW-Authenticate value (RFC 9110 section 11.6.1):
 * `challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`, `auth-param = token BWS "=" BWS
 * ( token / quoted-string )`, and several challenges may share one header, separated by commas like
 * their parameters. Scheme and parameter names are case-insensitive: both are answered lower-case.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let current: Challenge | undefined;
  for (const part of splitOutsideQuotes(header)) {
    const item = part.trim();
    if (item === '') continue;
    const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)([\s\S]*)$/.exec(item);
    if (!m) continue; // not a token: nothing a client could use
    const [, word, rest] = m as unknown as [string, string, string];
    if (/^\s*=/.test(rest)) {
      // name=value: a parameter of the challenge being read.
      if (current) current.params[word.toLowerCase()] = unquote(rest.replace(/^\s*=\s*/, ''));
      continue;
    }
    current = { scheme: word.toLowerCase(), params: {} };
    out.push(current);
    const first = rest.trim();
    if (first === '' || /^[A-Za-z0-9\-._~+/]+=*$/.test(first)) continue; // no parameters, or a token68
    const p = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*([\s\S]*)$/.exec(first);
    if (p) current.params[p[1]!.toLowerCase()] = unquote(p[2]!);
  }
  return out;
}

/** Splits at commas that are not inside a quoted string (a scope such as `repository:a:pull,push` is quoted). */
function splitOutsideQuotes(text: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** A token as is; a quoted string without its quotes and with `\x` read as `x` (quoted-pair). */
function unquote(value: string): string {
  const v = value.trim();
  if (!v.startsWith('"')) return v;
  let out = '';
  for (let i = 1; i < v.length; i++) {
    const c = v[i]!;
    if (c === '"') break;
    if (c === '\\' && i + 1 < v.length) {
      i++;
      out += v[i];
    } else out += c;
  }
  return out;
}
