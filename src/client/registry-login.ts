/**
 * Checks a username and password against a registry the way `docker login` does, before they are
 * stored: ask `GET /v2/` anonymously, then answer the challenge it returns.
 * - 200: the registry takes no credentials (an open berth); nothing can be checked.
 * - 401 `Bearer realm=...,service=...`: ask the realm for a token with the credentials as HTTP basic
 *   (Docker token auth, https://distribution.github.io/distribution/spec/auth/token/), then `GET /v2/`
 *   with that token, which must answer 200.
 * - 401 `Basic`: `GET /v2/` again with the credentials as HTTP basic.
 * Asking anonymously first means a wrong password is tried once, not twice (the token endpoint and
 * /v2/ would both count it against the brute-force limit), and credentials are only ever sent to a
 * registry that asked for them.
 *
 * Failures are ManagementApiError, so the CLI renders them like every other server answer:
 * UNAUTHORIZED for refused credentials, TOOMANYREQUESTS when throttled, UNAVAILABLE when unreachable.
 */
import { parseChallenges, type Challenge } from './www-authenticate.js';
import { ManagementApiError, basicAuthorization, retryAfter, type BasicCredentials } from './management-client.js';

export interface RegistryLoginOptions {
  /** `http://HOST` or `https://HOST` (no path). */
  registry: string;
  credentials: BasicCredentials;
  /** Whether a token realm may be plain HTTP on a host that is not loopback. */
  insecure?: boolean;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export type LoginCheck =
  /** The registry accepted the credentials (by basic auth, or the token its realm issued for them). */
  | { verified: true; via: 'basic' | 'token' }
  /** GET /v2/ answered 200 without credentials: the registry is open and cannot check them. */
  | { verified: false; via: 'open' };


const DEFAULT_TIMEOUT_MS = 30_000;

export async function verifyRegistryLogin(opts: RegistryLoginOptions): Promise<LoginCheck> {
  const base = opts.registry.replace(/\/+$/, '');
  const http = new Probe(opts.fetch ?? fetch, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, base);
  const v2 = `${base}/v2/`;

  const anonymous = await http.get(v2, undefined);
  if (anonymous.ok) return { verified: false, via: 'open' };
  if (anonymous.status !== 401) throw await http.failure(anonymous, 'GET /v2/');

  const challenges = parseChallenges(anonymous.headers.get('www-authenticate') ?? '');
  const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
  if (bearer) {
    const token = await fetchToken(http, bearer, opts);
    const res = await http.get(v2, `Bearer ${token}`);
    if (res.ok) return { verified: true, via: 'token' };
    throw await http.failure(res, 'GET /v2/ with the token');
  }
  const res = await http.get(v2, basicAuthorization(opts.credentials));
  if (res.ok) return { verified: true, via: 'basic' };
  throw await http.failure(res, 'GET /v2/');
}

/** GET realm?service=...&account=USER with basic credentials; answers the token (`token`, or OAuth2's `access_token`). */
async function fetchToken(http: Probe, challenge: Challenge, opts: RegistryLoginOptions): Promise<string> {
  let realm: URL;
  try {
    realm = new URL(challenge.params.realm!);
  } catch {
    throw new ManagementApiError('UNKNOWN', `the registry named an invalid token realm ${JSON.stringify(challenge.params.realm)}`, { status: 401 });
  }
  if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
    throw new ManagementApiError('UNKNOWN', `the registry named a token realm that is not http(s): ${realm.href}`, { status: 401 });
  }
  // Credentials must not travel in clear text to a host the user never chose to trust with HTTP.
  const registry = new URL(http.base);
  if (realm.protocol === 'http:' && realm.origin !== registry.origin && !isLoopbackHost(realm.host) && !opts.insecure) {
    throw new ManagementApiError('UNKNOWN', `the token realm ${realm.href} is plain HTTP; pass --insecure to send credentials there`, { status: 401 });
  }
  if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
  realm.searchParams.set('account', opts.credentials.username);
  const res = await http.get(realm.href, basicAuthorization(opts.credentials));
  if (!res.ok) throw await http.failure(res, 'the token endpoint');
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new ManagementApiError('UNKNOWN', `the token endpoint ${realm.origin}${realm.pathname} answered ${res.status} without JSON`, { status: res.status });
  }
  const { token, access_token: accessToken } = (body ?? {}) as { token?: unknown; access_token?: unknown };
  const value = typeof token === 'string' && token !== '' ? token : accessToken;
  if (typeof value !== 'string' || value === '') {
    throw new ManagementApiError('UNKNOWN', `the token endpoint ${realm.origin}${realm.pathname} answered without a token`, { status: res.status });
  }
  return value;
}

/** One GET at a time with a timeout, no redirects, and errors in the shape the CLI renders. */
class Probe {
  constructor(
    private readonly fetchImpl: typeof fetch,
    private readonly timeoutMs: number,
    readonly base: string,
  ) {}

  async get(url: string, authorization: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (authorization) headers.Authorization = authorization;
    let res: Response;
    try {
      // A redirect could carry the credentials somewhere else: registries do not redirect these requests.
      res = await this.fetchImpl(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      const cause = (e as { cause?: unknown }).cause;
      const why = (e as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : causeMessage(cause) ?? (e as Error).message;
      throw new ManagementApiError('UNAVAILABLE', `cannot reach ${new URL(url).origin}: ${why}`, { status: 0, cause: e });
    }
    return res;
  }

  /** A non-2xx answer as an error: the body's own code and message when it has them (both berth and Distribution send them). */
  async failure(res: Response, what: string): Promise<ManagementApiError> {
    const text = await res.text().catch(() => '');
    const retryAfterSeconds = retryAfter(res.headers.get('retry-after'));
    const first = firstError(text);
    if (res.status >= 300 && res.status < 400) {
      return new ManagementApiError('UNKNOWN', `${what}: unexpected redirect (${res.status}) to ${res.headers.get('location') ?? '?'}`, { status: res.status });
    }
    const code = first?.code ?? (res.status === 401 ? 'UNAUTHORIZED' : res.status === 429 ? 'TOOMANYREQUESTS' : res.status === 403 ? 'DENIED' : 'UNKNOWN');
    const message = first?.message ?? (res.status === 401 ? 'invalid username or password' : `${what}: HTTP ${res.status}`);
    return new ManagementApiError(code, message, { status: res.status, retryAfterSeconds });
  }
}

function firstError(text: string): { code: string; message: string } | undefined {
  try {
    const body = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }>; details?: unknown };
    const e = body.errors?.[0];
    if (e && typeof e.code === 'string') return { code: e.code, message: typeof e.message === 'string' ? e.message : e.code };
  } catch {
    /* not JSON: the status says enough */
  }
  return undefined;
}

function causeMessage(cause: unknown): string | undefined {
  if (!(cause instanceof Error)) return undefined;
  if (cause.message) return cause.message;
  const inner = cause instanceof AggregateError ? (cause.errors as unknown[]).find((x): x is Error => x instanceof Error && x.message !== '') : undefined;
  return inner?.message ?? (cause as NodeJS.ErrnoException).code;
}

/** `localhost`, `127.0.0.1` and `[::1]`, any port: the hosts docker talks plain HTTP to without being told. */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/:\d+$/, '');
  return name === 'localhost' || name === '127.0.0.1' || name === '[::1]';
}
