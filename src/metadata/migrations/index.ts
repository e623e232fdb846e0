import type { Migration } from '../sql/sql-database.js';

/**
 * Schema migrations, oldest first. Times are milliseconds since the epoch.
 * A blob row is the registry's knowledge that bytes exist in storage; a
 * repository_blobs row is what makes a blob visible in one repository.
 */
const v1Tables = (bigint: string, serial: string, text: string): string[] => [
  `CREATE TABLE repositories (id ${serial} PRIMARY KEY, name ${text} NOT NULL UNIQUE, created_at ${bigint} NOT NULL)`,
  `CREATE TABLE blobs (digest TEXT PRIMARY KEY, size ${bigint} NOT NULL, created_at ${bigint} NOT NULL)`,
  `CREATE TABLE repository_blobs (
     repository_id ${bigint} NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
     digest TEXT NOT NULL REFERENCES blobs(digest),
     created_at ${bigint} NOT NULL,
     PRIMARY KEY (repository_id, digest))`,
  `CREATE INDEX repository_blobs_digest ON repository_blobs(digest)`,
  `CREATE TABLE manifests (
     repository_id ${bigint} NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
     digest TEXT NOT NULL,
     media_type TEXT NOT NULL,
     size ${bigint} NOT NULL,
     artifact_type TEXT,
     subject_digest TEXT,
     annotations TEXT,
     pushed_at ${bigint} NOT NULL,
     last_pulled_at ${bigint},
     PRIMARY KEY (repository_id, digest))`,
  `CREATE INDEX manifests_subject ON manifests(repository_id, subject_digest)`,
  `CREATE TABLE manifest_references (
     repository_id ${bigint} NOT NULL,
     manifest_digest TEXT NOT NULL,
     child_digest TEXT NOT NULL,
     PRIMARY KEY (repository_id, manifest_digest, child_digest),
     FOREIGN KEY (repository_id, manifest_digest) REFERENCES manifests(repository_id, digest) ON DELETE CASCADE)`,
  `CREATE INDEX manifest_references_child ON manifest_references(repository_id, child_digest)`,
  `CREATE TABLE tags (
     repository_id ${bigint} NOT NULL,
     name ${text} NOT NULL,
     manifest_digest TEXT NOT NULL,
     pushed_at ${bigint} NOT NULL,
     last_pulled_at ${bigint},
     PRIMARY KEY (repository_id, name),
     FOREIGN KEY (repository_id, manifest_digest) REFERENCES manifests(repository_id, digest) ON DELETE CASCADE)`,
  `CREATE INDEX tags_manifest ON tags(repository_id, manifest_digest)`,
  `CREATE TABLE uploads (
     id TEXT PRIMARY KEY,
     repository TEXT NOT NULL,
     size ${bigint} NOT NULL,
     started_at ${bigint} NOT NULL,
     updated_at ${bigint} NOT NULL)`,
  `CREATE INDEX uploads_updated ON uploads(updated_at)`,
];

/**
 * The job queue shared by all nodes (src/jobs/). `key` is a dedupe key,
 * unique while the row exists (NULLs do not collide). The partial unique
 * index keeps at most one exclusive job of a kind queued or running.
 * `lease_token` names the current claim; only its holder may finish the job.
 */
const v2Jobs = (bigint: string, serialPk: string): string[] => [
  `CREATE TABLE jobs (
     id ${serialPk},
     kind TEXT NOT NULL,
     key TEXT UNIQUE,
     payload TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
     exclusive INTEGER NOT NULL DEFAULT 0,
     attempts INTEGER NOT NULL DEFAULT 0,
     max_attempts INTEGER NOT NULL,
     run_at ${bigint} NOT NULL,
     lease_owner TEXT,
     lease_token TEXT,
     lease_until ${bigint},
     last_error TEXT,
     created_at ${bigint} NOT NULL,
     updated_at ${bigint} NOT NULL)`,
  `CREATE INDEX jobs_due ON jobs(state, run_at)`,
  `CREATE INDEX jobs_lease ON jobs(state, lease_until)`,
  `CREATE INDEX jobs_finished ON jobs(state, updated_at)`,
  `CREATE UNIQUE INDEX jobs_exclusive_active ON jobs(kind) WHERE exclusive = 1 AND (state = 'queued' OR state = 'running')`,
];

/**
 * Garbage collection, lifecycle, quotas and audit. `blobs.claimed_at` is the
 * last time a writer claimed the blob (before writing its bytes) or something
 * started referencing it; GC never deletes a blob claimed within its grace
 * period (src/gc/garbage-collector.ts has the protocol). `settings` holds one
 * JSON document per (kind, target): lifecycle policies, immutability rules,
 * quotas. `audit_log` records who did what.
 */
const v3Gc = (bigint: string, serialPk: string, text: string): string[] => [
  `ALTER TABLE blobs ADD COLUMN claimed_at ${bigint} NOT NULL DEFAULT 0`,
  `UPDATE blobs SET claimed_at = created_at`,
  `CREATE INDEX blobs_claimed ON blobs(claimed_at)`,
  `CREATE INDEX manifests_digest ON manifests(digest)`,
  `CREATE INDEX manifests_subject_any ON manifests(subject_digest)`,
  `CREATE INDEX manifest_references_child_any ON manifest_references(child_digest)`,
  `CREATE INDEX repository_blobs_created ON repository_blobs(created_at)`,
  `CREATE TABLE settings (
     kind TEXT NOT NULL,
     target ${text} NOT NULL,
     document TEXT NOT NULL,
     updated_at ${bigint} NOT NULL,
     PRIMARY KEY (kind, target))`,
  `CREATE TABLE audit_log (
     id ${serialPk},
     at ${bigint} NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     detail TEXT)`,
  `CREATE INDEX audit_log_at ON audit_log(at)`,
];

/**
 * Access control (issue 3): users, projects and their members, robot accounts,
 * the token signing key shared by all nodes, and who/where/outcome in the audit log.
 * Secrets are stored only as scrypt hashes (src/auth/passwords.ts).
 */
const v4Auth = (bigint: string, text: string): string[] => [
  `CREATE TABLE users (
     name ${text} PRIMARY KEY,
     password_hash TEXT NOT NULL,
     system_admin INTEGER NOT NULL DEFAULT 0,
     disabled INTEGER NOT NULL DEFAULT 0,
     created_at ${bigint} NOT NULL,
     updated_at ${bigint} NOT NULL)`,
  `CREATE TABLE projects (
     name ${text} PRIMARY KEY,
     public INTEGER NOT NULL DEFAULT 0,
     created_at ${bigint} NOT NULL,
     created_by TEXT)`,
  `CREATE TABLE project_members (
     project ${text} NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
     username ${text} NOT NULL REFERENCES users(name) ON DELETE CASCADE,
     role TEXT NOT NULL CHECK (role IN ('guest', 'developer', 'maintainer', 'admin')),
     PRIMARY KEY (project, username))`,
  `CREATE INDEX project_members_user ON project_members(username)`,
  `CREATE TABLE robots (
     name ${text} PRIMARY KEY,
     project ${text} NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
     secret_hash TEXT NOT NULL,
     actions TEXT NOT NULL,
     repository_pattern TEXT,
     expires_at ${bigint},
     disabled INTEGER NOT NULL DEFAULT 0,
     description TEXT,
     created_at ${bigint} NOT NULL,
     created_by TEXT)`,
  `CREATE INDEX robots_project ON robots(project)`,
  `CREATE TABLE auth_keys (
     id TEXT PRIMARY KEY,
     private_pem TEXT NOT NULL,
     created_at ${bigint} NOT NULL)`,
  `ALTER TABLE audit_log ADD COLUMN address TEXT`,
  `ALTER TABLE audit_log ADD COLUMN outcome TEXT`,
  `ALTER TABLE audit_log ADD COLUMN project ${text}`,
  `CREATE INDEX audit_log_project ON audit_log(project, at)`,
];

/**
 * Scanning and signatures. A scan report belongs to a manifest digest (the same bytes scan alike in
 * any repository); `generation` is the advisory database's generation its findings were matched
 * against, so a newer database finds the reports to match again. A signature check belongs to a
 * repository's manifest and the trust settings (`trust_version`) it was checked under.
 */
const v5ScanSign = (bigint: string, text: string): string[] => [
  `CREATE TABLE scan_reports (
     digest TEXT PRIMARY KEY,
     status TEXT NOT NULL,
     generation ${bigint} NOT NULL,
     scanned_at ${bigint} NOT NULL,
     critical INTEGER NOT NULL,
     high INTEGER NOT NULL,
     medium INTEGER NOT NULL,
     low INTEGER NOT NULL,
     unknown INTEGER NOT NULL,
     report TEXT NOT NULL)`,
  `CREATE INDEX scan_reports_generation ON scan_reports(generation, digest)`,
  `CREATE TABLE signature_checks (
     repository ${text} NOT NULL,
     digest TEXT NOT NULL,
     trust_version TEXT NOT NULL,
     checked_at ${bigint} NOT NULL,
     verified INTEGER NOT NULL,
     result TEXT NOT NULL,
     PRIMARY KEY (repository, digest))`,
];

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'registry core',
    // Names sort by bytes in both (the spec's "lexical" order): SQLite's BINARY collation, PostgreSQL's "C".
    sql: { sqlite: v1Tables('INTEGER', 'INTEGER', 'TEXT'), postgres: v1Tables('BIGINT', 'BIGSERIAL', 'TEXT COLLATE "C"') },
  },
  {
    version: 2,
    name: 'jobs',
    // AUTOINCREMENT on SQLite: a purged id is never handed out again, so an id in a log names one job.
    sql: { sqlite: v2Jobs('INTEGER', 'INTEGER PRIMARY KEY AUTOINCREMENT'), postgres: v2Jobs('BIGINT', 'BIGSERIAL PRIMARY KEY') },
  },
  {
    version: 3,
    name: 'garbage collection, settings and audit',
    sql: {
      sqlite: v3Gc('INTEGER', 'INTEGER PRIMARY KEY AUTOINCREMENT', 'TEXT'),
      postgres: v3Gc('BIGINT', 'BIGSERIAL PRIMARY KEY', 'TEXT COLLATE "C"'),
    },
  },
  {
    version: 4,
    name: 'access control',
    sql: { sqlite: v4Auth('INTEGER', 'TEXT'), postgres: v4Auth('BIGINT', 'TEXT COLLATE "C"') },
  },
  {
    version: 5,
    name: 'scanning and signatures',
    sql: { sqlite: v5ScanSign('INTEGER', 'TEXT'), postgres: v5ScanSign('BIGINT', 'TEXT COLLATE "C"') },
  },
];
