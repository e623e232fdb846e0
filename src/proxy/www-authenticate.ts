/**
 * `WWW-Authenticate` challenges as registries send them (RFC 9110 §11.6.1 and
 * the Docker token authentication spec): `Bearer realm="...",service="...",scope="..."`
 * or `Basic realm="..."`. Several challenges may share one header.
 */
export interface AuthChallenge {
  /** Lower-cased scheme: "bearer", "basic", ... */
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses every challenge of a header value. Parameter names are lower-cased;
 * quoted values may contain commas and backslash escapes (RFC 9110 §5.6.4).
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let i = 0;
  const s = header;
  const skipSpace = (): void => {
    while (i < s.length && /[\s,]/.test(s[i]!)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  // Bounded: every iteration consumes at least one character or stops.
  while (i < s.length) {
    skipSpace();
    const scheme = token();
    if (!scheme) break;
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      while (i < s.length && s[i] === ' ') i++;
      const save = i;
      const name = token();
      while (i < s.length && s[i] === ' ') i++;
      if (!name || s[i] !== '=') {
        // Not a parameter: the next challenge's scheme starts here (or a token68, ignored).
        if (name) i = save;
        break;
      }
      i++; // '='
      while (i < s.length && s[i] === ' ') i++;
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++; // closing quote
      } else {
        const start = i;
        while (i < s.length && s[i] !== ',' && s[i] !== ' ') i++;
        value = s.slice(start, i);
      }
      challenge.params[name.toLowerCase()] = value;
      while (i < s.length && s[i] === ' ') i++;
      if (s[i] !== ',') break;
      i++;
      // After a comma comes either another parameter or the next challenge: peek.
      const peek = i;
      while (i < s.length && s[i] === ' ') i++;
      token();
      while (i < s.length && s[i] === ' ') i++;
      const isParam = s[i] === '=';
      i = peek;
      if (!isParam) break;
    }
  }
  return out;
}
