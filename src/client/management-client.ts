/**
 * A typed client of berth's management API (docs/management-api.md) over the global fetch.
 * Targets and names travel in the query string, never in the path, as the contract says.
 * Errors come back as ManagementApiError, parsed from the `{"errors": [...]}` body the server
 * shares with /v2/; a server that cannot be reached at all is a ManagementApiError too
 * (code UNAVAILABLE, status 0), so callers have one type to render.
 */

import type {
  AuditLog,
  AuditQuery,
  CreatedRobot,
  GcReport,
  ImmutabilityRecord,
  JsonValue,
  LifecyclePlan,
  LifecyclePolicyRecord,
  MemberRecord,
  NewRobot,
  NewUser,
  ProjectRecord,
  QuotaLimits,
  QuotaRecord,
  Role,
  RobotRecord,
  UsageReport,
  UserPatch,
  UserRecord,
} from './management-types.js';

export * from './management-types.js';

export interface ManagementErrorEntry {
  code: string;
  message: string;
  detail?: JsonValue;
}

export class ManagementApiError extends Error {
  /** The first error's code (NAME_INVALID, POLICY_INVALID, NOT_FOUND, ...), or UNAVAILABLE/UNKNOWN for transport trouble. */
  readonly code: string;
  /** HTTP status of the answer; 0 when no answer arrived (refused, reset, timed out). */
  readonly status: number;
  readonly detail: JsonValue | undefined;
  /** Every error of the body, in order (the first one is also code/message/detail). */
  readonly errors: ManagementErrorEntry[];
  /** Seconds the server asked to wait (Retry-After of a 429 or 503), when it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: string,
    message: string,
    opts: { status: number; detail?: JsonValue; errors?: ManagementErrorEntry[]; retryAfterSeconds?: number; cause?: unknown },
  ) {
    super(message, { cause: opts.cause });
    this.name = 'ManagementApiError';
    this.code = code;
    this.status = opts.status;
    this.detail = opts.detail;
    this.retryAfterSeconds = opts.retryAfterSeconds;
    this.errors = opts.errors ?? [{ code, message, ...(opts.detail === undefined ? {} : { detail: opts.detail }) }];
  }
}

/** A request body: a string is sent verbatim (e.g. a policy file as the user wrote it), anything else as JSON. */
export type JsonBody = string | { [k: string]: unknown };

export interface ManagementClientOptions {
  /** Base URL of the berth server, e.g. http://localhost:5000 (a path prefix is kept). */
  server: string;
  /** Milliseconds one request may take, answer included (default 30 s). */
  timeoutMs?: number;
  /** Aborts every request of this client (e.g. on Ctrl-C). */
  signal?: AbortSignal;
  /** Replaces the global fetch (tests, instrumentation). */
  fetch?: typeof fetch;
  /**
   * Sent as HTTP basic credentials (RFC 7617) on every request. A function is called once, before
   * the first request, so a command that fails earlier never reads the Docker config file.
   */
  credentials?: BasicCredentials | (() => Promise<BasicCredentials | undefined>);
}

export interface BasicCredentials {
  username: string;
  password: string;
}

/** The value of an `Authorization: Basic` header: base64 of `user:password` in UTF-8 (RFC 7617 section 2 and 2.1). */
export function basicAuthorization(c: BasicCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
}

type Query = Record<string, string | number | boolean | undefined>;

const DEFAULT_TIMEOUT_MS = 30_000;

export class ManagementClient {
  readonly server: string;
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly credentials: ManagementClientOptions['credentials'];
  private authorization: Promise<string | undefined> | undefined;

  constructor(opts: ManagementClientOptions) {
    let url: URL;
    try {
      url = new URL(opts.server);
    } catch {
      throw new Error(`invalid server URL ${JSON.stringify(opts.server)}: expected e.g. http://localhost:5000`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`invalid server URL ${JSON.stringify(opts.server)}: only http and https are supported`);
    }
    if (url.search || url.hash) throw new Error(`invalid server URL ${JSON.stringify(opts.server)}: no query or fragment, please`);
    this.server = opts.server;
    this.base = url.href.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.signal = opts.signal;
    this.fetchImpl = opts.fetch ?? fetch;
    this.credentials = opts.credentials;
  }

  /** host[:port] of the server as the Docker config file keys it (`localhost:5000`; no port when it is the scheme's default). */
  get host(): string {
    return new URL(this.base).host;
  }

  getLifecyclePolicy(target: string): Promise<LifecyclePolicyRecord> {
    return this.json('GET', '/lifecycle/policy', { target });
  }

  /** `policy` as text is sent byte for byte, so the server's error positions match the user's file. */
  putLifecyclePolicy(target: string, policy: JsonBody): Promise<LifecyclePolicyRecord> {
    return this.json('PUT', '/lifecycle/policy', { target }, policy);
  }

  deleteLifecyclePolicy(target: string): Promise<void> {
    return this.empty('DELETE', '/lifecycle/policy', { target });
  }

  /** The plan a run would carry out now (or at `now`); nothing is deleted. */
  previewLifecycle(repository: string, opts: { now?: string } = {}): Promise<LifecyclePlan> {
    return this.json('GET', '/lifecycle/preview', { repository, now: opts.now });
  }

  /** Runs the policy: the `expire` entries of the answer were deleted. */
  applyLifecycle(repository: string): Promise<LifecyclePlan> {
    return this.json('POST', '/lifecycle/apply', { repository });
  }

  getImmutability(target: string): Promise<ImmutabilityRecord> {
    return this.json('GET', '/immutability', { target });
  }

  putImmutability(target: string, rules: JsonBody): Promise<ImmutabilityRecord> {
    return this.json('PUT', '/immutability', { target }, rules);
  }

  deleteImmutability(target: string): Promise<void> {
    return this.empty('DELETE', '/immutability', { target });
  }

  getQuota(project: string): Promise<QuotaRecord> {
    return this.json('GET', '/quota', { project });
  }

  putQuota(project: string, limits: QuotaLimits): Promise<QuotaRecord> {
    return this.json('PUT', '/quota', { project }, { bytes: limits.bytes, tags: limits.tags });
  }

  deleteQuota(project: string): Promise<void> {
    return this.empty('DELETE', '/quota', { project });
  }

  usage(opts: { project?: string } = {}): Promise<UsageReport> {
    return this.json('GET', '/usage', { project: opts.project });
  }

  gc(opts: { dryRun?: boolean } = {}): Promise<GcReport> {
    return this.json('POST', '/gc', { dryRun: opts.dryRun ? true : undefined });
  }

  /** One page of the audit log, newest first; `next` is the `before` of the following page. */
  audit(opts: AuditQuery = {}): Promise<AuditLog> {
    return this.json('GET', '/audit', { limit: opts.limit, since: opts.since, project: opts.project, before: opts.before });
  }

  listUsers(): Promise<{ users: UserRecord[] }> {
    return this.json('GET', '/users', {});
  }

  createUser(user: NewUser): Promise<UserRecord> {
    return this.json('POST', '/users', {}, { ...user });
  }

  updateUser(name: string, patch: UserPatch): Promise<UserRecord> {
    return this.json('PUT', '/users', { name }, { ...patch });
  }

  deleteUser(name: string): Promise<void> {
    return this.empty('DELETE', '/users', { name });
  }

  listProjects(): Promise<{ projects: ProjectRecord[] }> {
    return this.json('GET', '/projects', {});
  }

  createProject(name: string, opts: { public?: boolean } = {}): Promise<ProjectRecord> {
    return this.json('POST', '/projects', {}, { name, ...(opts.public === undefined ? {} : { public: opts.public }) });
  }

  updateProject(name: string, patch: { public: boolean }): Promise<ProjectRecord> {
    return this.json('PUT', '/projects', { name }, { public: patch.public });
  }

  deleteProject(name: string): Promise<void> {
    return this.empty('DELETE', '/projects', { name });
  }

  listMembers(project: string): Promise<{ members: MemberRecord[] }> {
    return this.json('GET', '/members', { project });
  }

  /** Adds the user to the project or changes their role (PUT is an upsert). */
  setMember(project: string, username: string, role: Role): Promise<MemberRecord> {
    return this.json('PUT', '/members', { project }, { username, role });
  }

  removeMember(project: string, username: string): Promise<void> {
    return this.empty('DELETE', '/members', { project, username });
  }

  listRobots(opts: { project?: string } = {}): Promise<{ robots: RobotRecord[] }> {
    return this.json('GET', '/robots', { project: opts.project });
  }

  /** The answer carries the robot's secret: the only time the server ever shows it. */
  createRobot(robot: NewRobot): Promise<CreatedRobot> {
    return this.json('POST', '/robots', {}, { ...robot });
  }

  setRobotDisabled(name: string, disabled: boolean): Promise<RobotRecord> {
    return this.json('PUT', '/robots', { name }, { disabled });
  }

  deleteRobot(name: string): Promise<void> {
    return this.empty('DELETE', '/robots', { name });
  }

  private async json<T>(method: string, path: string, query: Query, body?: JsonBody): Promise<T> {
    const res = await this.send(method, path, query, body);
    const text = await this.readText(res);
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
      return parsed as T;
    } catch (e) {
      throw new ManagementApiError('UNKNOWN', `${method} ${path}: the server answered ${res.status} with a body that is not a JSON object`, {
        status: res.status,
        cause: e,
      });
    }
  }

  private async empty(method: string, path: string, query: Query): Promise<void> {
    const res = await this.send(method, path, query);
    await this.readText(res);
  }

  /** Sends one request and returns a 2xx response; anything else becomes a ManagementApiError. */
  private async send(method: string, path: string, query: Query, body?: JsonBody): Promise<Response> {
    const url = this.url(path, query);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const authorization = await this.authorizationHeader();
    if (authorization) headers.Authorization = authorization;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = this.signal ? AbortSignal.any([this.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        signal,
      });
    } catch (e) {
      throw this.transportError(e, timeout);
    }
    if (res.ok) return res;
    throw await errorFromResponse(res, method, path);
  }

  private authorizationHeader(): Promise<string | undefined> {
    const c = this.credentials;
    this.authorization ??= (typeof c === 'function' ? c() : Promise.resolve(c)).then((v) => (v ? basicAuthorization(v) : undefined));
    return this.authorization;
  }

  private async readText(res: Response): Promise<string> {
    try {
      return await res.text();
    } catch (e) {
      throw new ManagementApiError('UNAVAILABLE', `berth at ${this.server} stopped answering mid-reply: ${messageOf(e)}`, {
        status: 0,
        cause: e,
      });
    }
  }

  private url(path: string, query: Query): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return `${this.base}/api/v1${path}${qs ? `?${qs}` : ''}`;
  }

  private transportError(e: unknown, timeout: AbortSignal): ManagementApiError {
    if (timeout.aborted) {
      return new ManagementApiError('UNAVAILABLE', `berth at ${this.server} did not answer within ${this.timeoutMs} ms`, {
        status: 0,
        cause: e,
      });
    }
    if (this.signal?.aborted) return new ManagementApiError('UNAVAILABLE', 'request cancelled', { status: 0, cause: e });
    // undici reports connection problems as TypeError('fetch failed') with the system error as cause.
    // For a name with several addresses (localhost: ::1 and 127.0.0.1) the cause is an AggregateError
    // whose own message is empty; its code and inner errors still say what happened.
    const cause = (e as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? describeSystemError(cause) : messageOf(e);
    return new ManagementApiError('UNAVAILABLE', `cannot reach berth at ${this.server}: ${detail}`, { status: 0, cause: e });
  }
}

/** Turns a non-2xx answer into a ManagementApiError, from its `{"errors": [...]}` body when it has one. */
async function errorFromResponse(res: Response, method: string, path: string): Promise<ManagementApiError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    /* the status alone still says something */
  }
  const errors = parseErrors(text);
  const first = errors[0];
  const retryAfterSeconds = retryAfter(res.headers.get('retry-after'));
  if (first) return new ManagementApiError(first.code, first.message, { status: res.status, detail: first.detail, errors, retryAfterSeconds });
  const snippet = text.trim().slice(0, 200);
  const code = res.status === 503 ? 'UNAVAILABLE' : res.status === 429 ? 'TOOMANYREQUESTS' : res.status === 401 ? 'UNAUTHORIZED' : 'UNKNOWN';
  const message = `${method} ${path}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${snippet ? `: ${snippet}` : ''}`;
  return new ManagementApiError(code, message, { status: res.status, retryAfterSeconds });
}

/** Retry-After in seconds (RFC 9110 section 10.2.3: delay-seconds or an HTTP-date); undefined when absent or unreadable. */
export function retryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

function parseErrors(text: string): ManagementErrorEntry[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [];
  }
  const list = (body as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(list)) return [];
  const out: ManagementErrorEntry[] = [];
  for (const item of list as unknown[]) {
    if (item === null || typeof item !== 'object') continue;
    const { code, message, detail } = item as { code?: unknown; message?: unknown; detail?: JsonValue };
    if (typeof code !== 'string') continue;
    out.push({ code, message: typeof message === 'string' ? message : code, ...(detail === undefined ? {} : { detail }) });
  }
  return out;
}

function describeSystemError(e: Error): string {
  if (e.message) return e.message;
  const inner = e instanceof AggregateError ? (e.errors as unknown[]).find((x): x is Error => x instanceof Error && x.message !== '') : undefined;
  return inner?.message ?? (e as NodeJS.ErrnoException).code ?? e.name;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
