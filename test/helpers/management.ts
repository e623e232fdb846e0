/**
 * Small clients for the management API (docs/management-api.md) and registry calls the lifecycle,
 * immutability and quota process tests share. Everything goes over HTTP to 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { blob, pushBlob, putManifest, type Blob, type Image } from './oci.js';
import { getManifest } from './e2e-http.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Config for management tests: `version: 1` plus the periodic lifecycle and GC runs switched off
 * (their defaults are daily cron times; a test that happened to run at 03:00 UTC would otherwise
 * see images expire or blobs vanish under it). `graceSeconds` sets gc.graceSeconds.
 */
export function managementConfig(opts: { graceSeconds?: number } = {}): string {
  const lines = ['version: 1', 'lifecycle:', '  schedule: ""', 'gc:', '  schedule: ""'];
  if (opts.graceSeconds !== undefined) lines.push(`  graceSeconds: ${opts.graceSeconds}`);
  return lines.join('\n') + '\n';
}

export interface ApiError {
  code: string;
  message: string;
  detail?: unknown;
}

export interface ApiResponse<T = unknown> {
  status: number;
  text: string;
  /** The parsed body when it is JSON. */
  json: T | undefined;
  /** The first error of a `{"errors": [...]}` body. */
  error: ApiError | undefined;
}

/** Reads a fetch Response into an ApiResponse (body text, JSON, first error). */
export async function toApiResponse<T>(r: Response): Promise<ApiResponse<T>> {
  const text = await r.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    json = undefined;
  }
  const error = (json as { errors?: ApiError[] } | undefined)?.errors?.[0];
  return { status: r.status, text, json: json as T | undefined, error };
}

/** One management API call; `body` is sent as JSON unless it is already a string or Buffer. */
export async function api<T = unknown>(base: string, method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    init.body = new Uint8Array(bytes);
    init.headers = { 'Content-Type': 'application/json' };
  }
  return toApiResponse<T>(await fetch(`${base}${path}`, init));
}

/** `?name=value` with the value percent-encoded. */
export const q = (name: string, value: string): string => `?${name}=${encodeURIComponent(value)}`;

/** Asserts an error answer: status and code, and returns the message. */
export function expectError(r: ApiResponse, status: number, code: string, what: string): string {
  assert.equal(r.status, status, `${what}: status ${r.status}, body ${r.text.slice(0, 500)}`);
  assert.equal(r.error?.code, code, `${what}: ${r.text.slice(0, 500)}`);
  assert.equal(typeof r.error?.message, 'string', `${what}: error without a message`);
  return r.error!.message;
}

// --- lifecycle plans ------------------------------------------------------------------------------

export interface PlanEntry {
  digest: string;
  tags: string[];
  rule: number | null;
  reason: string;
}

export interface Plan {
  repository: string;
  now: string;
  policyTarget: string | null;
  applied: boolean;
  expire: PlanEntry[];
  keep: PlanEntry[];
}

export async function preview(base: string, repository: string, now?: Date): Promise<Plan> {
  const at = now === undefined ? '' : `&now=${encodeURIComponent(now.toISOString())}`;
  const r = await api<Plan>(base, 'GET', `/api/v1/lifecycle/preview${q('repository', repository)}${at}`);
  assert.equal(r.status, 200, `preview ${repository}: ${r.text.slice(0, 500)}`);
  return r.json!;
}

export const digestsOf = (entries: PlanEntry[]): string[] => entries.map((e) => e.digest).sort();

export const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

// --- lifecycle policies ---------------------------------------------------------------------------

/** The seed's policy: keep the last 10 tagged images, expire untagged images older than 7 days. */
export const SEED_POLICY = {
  rules: [
    {
      rulePriority: 1,
      description: 'keep last 10 tagged',
      selection: { tagStatus: 'tagged', tagPatternList: ['*'], countType: 'imageCountMoreThan', countNumber: 10 },
      action: { type: 'expire' },
    },
    {
      rulePriority: 2,
      description: 'expire untagged older than 7 days',
      selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 },
      action: { type: 'expire' },
    },
  ],
};

/** One rule: keep the newest `n` tagged images (any tag), expire the rest. */
export const keepTagged = (n: number, description = `keep last ${n} tagged`) => ({
  rules: [
    {
      rulePriority: 1,
      description,
      selection: { tagStatus: 'tagged', tagPatternList: ['*'], countType: 'imageCountMoreThan', countNumber: n },
      action: { type: 'expire' },
    },
  ],
});

export interface PolicyView {
  target: string;
  policy: unknown;
  updatedAt: string;
}

export interface AuditEntry {
  id: unknown;
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: unknown;
}

export const policyPath = (target: string): string => `/api/v1/lifecycle/policy${q('target', target)}`;

export async function putPolicy(base: string, target: string, policy: unknown): Promise<PolicyView> {
  const r = await api<PolicyView>(base, 'PUT', policyPath(target), policy);
  assert.equal(r.status, 200, `PUT policy ${target}: ${r.text.slice(0, 500)}`);
  return r.json!;
}

export async function getPolicy(base: string, target: string): Promise<PolicyView> {
  const r = await api<PolicyView>(base, 'GET', policyPath(target));
  assert.equal(r.status, 200, `GET policy ${target}: ${r.text.slice(0, 500)}`);
  return r.json!;
}

export async function audit(base: string): Promise<AuditEntry[]> {
  const r = await api<{ entries: AuditEntry[] }>(base, 'GET', '/api/v1/audit?limit=10000');
  assert.equal(r.status, 200, r.text);
  return r.json!.entries;
}

/** Asserts the plan covers exactly `all` (each image once) and expires exactly `expected`. */
export function assertPlan(plan: Plan, all: string[], expected: string[], what: string): void {
  assert.deepEqual(digestsOf(plan.expire), sorted(expected), `${what}: expired set`);
  assert.deepEqual(sorted([...digestsOf(plan.expire), ...digestsOf(plan.keep)]), sorted(all), `${what}: every image exactly once`);
  for (const e of [...plan.expire, ...plan.keep]) {
    assert.equal(typeof e.reason, 'string', `${what}: reason of ${e.digest}`);
    assert.ok(e.reason.length > 0, `${what}: empty reason for ${e.digest}`);
  }
}

/** A moment `days` from now (for preview's `now`). */
export const inDays = (days: number): Date => new Date(Date.now() + days * DAY_MS);

// --- quotas and usage ----------------------------------------------------------------------------

export interface RepositoryUsage {
  repository: string;
  bytes: number;
  blobs: number;
  tags: number;
  manifests: number;
}
export interface ProjectUsage extends Omit<RepositoryUsage, 'repository'> {
  project: string;
  quota: { bytes: number | null; tags: number | null } | null;
  repositories: RepositoryUsage[];
}

export const quotaPath = (project: string): string => `/api/v1/quota${q('project', project)}`;

export async function putQuota(base: string, project: string, doc: unknown): Promise<{ project: string; bytes: number | null; tags: number | null }> {
  const r = await api<{ project: string; bytes: number | null; tags: number | null }>(base, 'PUT', quotaPath(project), doc);
  assert.equal(r.status, 200, `PUT quota ${project}: ${r.text.slice(0, 500)}`);
  return r.json!;
}

/** The usage line of one project; a zero line when the project has nothing. */
export async function usage(base: string, project: string): Promise<ProjectUsage> {
  const r = await api<{ projects: ProjectUsage[] }>(base, 'GET', `/api/v1/usage${q('project', project)}`);
  assert.equal(r.status, 200, r.text);
  const lines = r.json!.projects.filter((p) => p.project === project);
  assert.ok(lines.length <= 1, `project ${project} listed ${lines.length} times`);
  assert.ok(
    r.json!.projects.every((p) => p.project === project),
    `usage?project=${project} lists other projects: ${r.json!.projects.map((p) => p.project).join(', ')}`,
  );
  return lines[0] ?? { project, bytes: 0, blobs: 0, tags: 0, manifests: 0, quota: null, repositories: [] };
}

/** Asserts a quota refusal: 403 DENIED, "quota exceeded: used ..." naming the used and limit numbers. */
export function assertQuotaDenied(r: ApiResponse, what: string, used: number, limit: number): void {
  const message = expectError(r, 403, 'DENIED', what);
  assert.ok(message.startsWith('quota exceeded: used '), `${what}: message ${JSON.stringify(message)}`);
  assert.match(message, new RegExp(`\\b${used}\\b`), `${what}: message does not give the used amount ${used}: ${message}`);
  assert.match(message, new RegExp(`\\b${limit}\\b`), `${what}: message does not give the limit ${limit}: ${message}`);
}

// --- registry -------------------------------------------------------------------------------------

/** The sum of the bytes of an image: config, layers and the manifest itself. */
export function imageBytes(img: Image): number {
  return img.config.size + img.layers.reduce((n, l) => n + l.size, 0) + img.manifest.size;
}

/** Sum of sizes of distinct blobs (by digest). */
export function uniqueBytes(blobs: Blob[]): number {
  const seen = new Map<string, number>();
  for (const b of blobs) seen.set(b.digest, b.size);
  return [...seen.values()].reduce((a, b) => a + b, 0);
}

export const blobsOf = (img: Image): Blob[] => [img.config, ...img.layers, img.manifest];

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/**
 * An image index over `children` as an Image whose blobs are not pushed (an index has no config or
 * layers; its manifests are pushed on their own). The config field is an unused empty blob.
 */
export function makeIndex(children: Array<{ img: Image; platform: { os: string; architecture: string } }>): Image {
  const manifest = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map(({ img, platform }) => ({ mediaType: img.mediaType, digest: img.manifest.digest, size: img.manifest.size, platform })),
    }),
  );
  return { config: blob(''), layers: [], manifest, mediaType: OCI_INDEX };
}

/**
 * Pushes an image like pushImage, but returns the first answer that is not a success (a blob
 * push or the manifest PUT) instead of throwing, or the manifest's 201. An index pushes no blobs.
 */
export async function tryPushImage(base: string, repo: string, reference: string, img: Image): Promise<{ step: string; r: ApiResponse }> {
  const blobs = img.mediaType === OCI_INDEX ? [] : [img.config, ...img.layers];
  for (const b of blobs) {
    const r = await toApiResponse(await pushBlob(base, repo, b));
    if (r.status !== 201) return { step: `blob ${b.digest}`, r };
  }
  const r = await toApiResponse(await putManifest(base, repo, reference, img.manifest.bytes, img.mediaType));
  return { step: 'manifest', r };
}

/**
 * Pushes images one after another, a few milliseconds apart: berth records push times in
 * milliseconds, and the lifecycle tests need the push order to be the age order without ties.
 */
export async function pushInOrder(base: string, repo: string, items: Array<{ ref: string; img: Image }>): Promise<void> {
  for (const { ref, img } of items) {
    const { step, r } = await tryPushImage(base, repo, ref, img);
    assert.equal(r.status, 201, `push ${repo}:${ref} (${step}): ${r.text.slice(0, 300)}`);
    await sleep(5);
  }
}

/** The tags of a repository (one page is plenty for these tests); [] when the repository is unknown. */
export async function tagsList(base: string, repo: string): Promise<string[]> {
  const r = await fetch(`${base}/v2/${repo}/tags/list?n=1000`);
  const body = (await r.json()) as { tags?: string[] | null };
  if (r.status === 404) return [];
  assert.equal(r.status, 200, `tags/list ${repo}`);
  return [...(body.tags ?? [])].sort();
}

/** The digest a tag resolves to (Docker-Content-Digest), or the status when it does not resolve. */
export async function resolve(base: string, repo: string, reference: string): Promise<string> {
  const m = await getManifest(base, repo, reference);
  return m.status === 200 ? (m.digestHeader ?? 'no digest header') : `status ${m.status}`;
}

export async function deleteManifest(base: string, repo: string, reference: string): Promise<ApiResponse> {
  return toApiResponse(await fetch(`${base}/v2/${repo}/manifests/${reference}`, { method: 'DELETE' }));
}

/** `GET /v2/` answers: the server is up and serving. */
export async function assertServing(base: string): Promise<void> {
  const r = await fetch(`${base}/v2/`);
  await r.arrayBuffer();
  assert.equal(r.status, 200, 'GET /v2/ after hostile input');
}
