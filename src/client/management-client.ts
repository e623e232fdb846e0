/**
 * A typed client of berth's management API (docs/management-api.md) over the global fetch.
 * Targets and names travel in the query string, never in the path, as the contract says.
 * Errors come back as ManagementApiError, parsed from the `{"errors": [...]}` body the server
 * shares with /v2/; a server that cannot be reached at all is a ManagementApiError too
 * (code UNAVAILABLE, status 0), so callers have one type to render.
 */

/** Any JSON value, as parsed by JSON.parse. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

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

  constructor(code: string, message: string, opts: { status: number; detail?: JsonValue; errors?: ManagementErrorEntry[]; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = 'ManagementApiError';
    this.code = code;
    this.status = opts.status;
    this.detail = opts.detail;
    this.errors = opts.errors ?? [{ code, message, ...(opts.detail === undefined ? {} : { detail: opts.detail }) }];
  }
}

export interface LifecyclePolicyRecord {
  target: string;
  policy: JsonValue;
  updatedAt: string;
}

export interface PlanEntry {
  digest: string;
  tags: string[];
  /** The rulePriority that decided, or null when no rule selected the image. */
  rule: number | null;
  reason: string;
}

export interface LifecyclePlan {
  repository: string;
  now: string;
  /** The target whose policy applied; null when none did (nothing expires). */
  policyTarget: string | null;
  applied: boolean;
  expire: PlanEntry[];
  keep: PlanEntry[];
}

export interface ImmutabilityRule {
  description?: string;
  tagPatternList: string[];
  excludeTagPatternList?: string[];
}

export interface ImmutabilityRecord {
  target: string;
  rules: ImmutabilityRule[];
  updatedAt: string;
}

export interface QuotaLimits {
  bytes: number | null;
  tags: number | null;
}

export interface QuotaRecord extends QuotaLimits {
  project: string;
}

export interface UsageCounts {
  bytes: number;
  blobs: number;
  tags: number;
  manifests: number;
}

export interface RepositoryUsage extends UsageCounts {
  repository: string;
}

export interface ProjectUsage extends UsageCounts {
  project: string;
  quota: QuotaLimits | null;
  repositories: RepositoryUsage[];
}

export interface UsageReport {
  projects: ProjectUsage[];
}

export interface GcReport {
  dryRun: boolean;
  graceSeconds: number;
  startedAt: string;
  durationMs: number;
  referrersDeleted: number;
  linksRemoved: number;
  blobsDeleted: number;
  bytesReclaimed: number;
  orphanObjectsDeleted: number;
  uploadsReaped: number;
}

export interface AuditEntry {
  id: number | string;
  at: string;
  actor: string | null;
  action: string;
  target: string | null;
  detail: JsonValue;
}

export interface AuditLog {
  /** Newest first. */
  entries: AuditEntry[];
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
}

type Query = Record<string, string | number | boolean | undefined>;

const DEFAULT_TIMEOUT_MS = 30_000;

export class ManagementClient {
  readonly server: string;
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly fetchImpl: typeof fetch;

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

  audit(opts: { limit?: number } = {}): Promise<AuditLog> {
    return this.json('GET', '/audit', { limit: opts.limit });
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
  if (first) return new ManagementApiError(first.code, first.message, { status: res.status, detail: first.detail, errors });
  const snippet = text.trim().slice(0, 200);
  const code = res.status === 503 ? 'UNAVAILABLE' : 'UNKNOWN';
  const message = `${method} ${path}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${snippet ? `: ${snippet}` : ''}`;
  return new ManagementApiError(code, message, { status: res.status });
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
