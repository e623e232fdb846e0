import type {
  AuditEntry,
  AuditQuery,
  AuditStore,
  ProjectUsage,
  RepositoryUsage,
  SettingKind,
  SettingRecord,
  SettingsStore,
  UsageStore,
} from '../settings-store.js';
import { projectOf } from '../settings-store.js';
import type { SqlDatabase } from './sql-database.js';
import { countedLink, projectFilter, projectTags } from './sql-project-usage.js';

/** Settings documents, the audit log and usage over a SqlDatabase. */
export class SqlSettingsStore implements SettingsStore, AuditStore, UsageStore {
  constructor(private readonly db: SqlDatabase) {}

  async getSetting(kind: SettingKind, target: string): Promise<SettingRecord | undefined> {
    const row = await this.db.get<{ target: string; document: string; updated_at: number | string }>(
      'SELECT target, document, updated_at FROM settings WHERE kind = ? AND target = ?',
      [kind, target],
    );
    return row ? { target: row.target, document: row.document, updatedAt: Number(row.updated_at) } : undefined;
  }

  async putSetting(kind: SettingKind, target: string, document: string, now: number): Promise<void> {
    await this.db.run(
      `INSERT INTO settings (kind, target, document, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (kind, target) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at`,
      [kind, target, document, now],
    );
  }

  async deleteSetting(kind: SettingKind, target: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM settings WHERE kind = ? AND target = ?', [kind, target])) > 0;
  }

  async listSettings(kind: SettingKind): Promise<SettingRecord[]> {
    const rows = await this.db.all<{ target: string; document: string; updated_at: number | string }>(
      'SELECT target, document, updated_at FROM settings WHERE kind = ? ORDER BY target',
      [kind],
    );
    return rows.map((r) => ({ target: r.target, document: r.document, updatedAt: Number(r.updated_at) }));
  }

  async appendAudit(entries: Omit<AuditEntry, 'id'>[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db.transaction(async (q) => {
      for (const e of entries) {
        await q.run('INSERT INTO audit_log (at, actor, action, target, detail, address, outcome, project) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
          e.at,
          e.actor,
          e.action,
          e.target,
          e.detail === undefined ? null : JSON.stringify(e.detail),
          e.address ?? null,
          e.outcome ?? null,
          e.project ?? null,
        ]);
      }
    });
  }

  async listAudit(limit: number, query: AuditQuery = {}): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.since !== undefined) {
      where.push('at >= ?');
      params.push(query.since);
    }
    if (query.project !== undefined) {
      where.push('project = ?');
      params.push(query.project);
    }
    if (query.beforeId !== undefined) {
      where.push('id < ?');
      params.push(query.beforeId);
    }
    type Row = {
      id: number | string;
      at: number | string;
      actor: string;
      action: string;
      target: string;
      detail: string | null;
      address: string | null;
      outcome: string | null;
      project: string | null;
    };
    const rows = await this.db.all<Row>(
      `SELECT id, at, actor, action, target, detail, address, outcome, project FROM audit_log
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      [...params, Math.max(1, Math.min(limit, 10_000))],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      at: Number(r.at),
      actor: r.actor,
      action: r.action,
      target: r.target,
      detail: r.detail === null ? null : (JSON.parse(r.detail) as unknown),
      address: r.address,
      outcome: r.outcome,
      project: r.project,
    }));
  }

  async projectTags(project: string): Promise<number> {
    return projectTags(this.db, project);
  }

  async usage(since: number, project?: string): Promise<ProjectUsage[]> {
    const f = project === undefined ? { sql: '1 = 1', params: [] } : projectFilter('r.name', project);
    const c = countedLink(since);
    // One row per (repository, unique digest): blob links and manifests' own bytes.
    const rows = await this.db.all<{ name: string; digest: string; size: number | string }>(
      `SELECT x.name, x.digest, b.size FROM (
         SELECT r.name, rb.digest FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id WHERE ${f.sql} AND ${c.sql}
         UNION SELECT r.name, m.digest FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE ${f.sql}
       ) x JOIN blobs b ON b.digest = x.digest ORDER BY x.name`,
      [...f.params, ...c.params, ...f.params],
    );
    const counts = await this.db.all<{ name: string; tags: number | string; manifests: number | string }>(
      `SELECT r.name,
              (SELECT COUNT(*) FROM tags t WHERE t.repository_id = r.id) AS tags,
              (SELECT COUNT(*) FROM manifests m WHERE m.repository_id = r.id) AS manifests
       FROM repositories r WHERE ${f.sql} ORDER BY r.name`,
      f.params,
    );
    const repos = new Map<string, RepositoryUsage>();
    for (const c of counts) {
      repos.set(c.name, { repository: c.name, blobs: 0, bytes: 0, tags: Number(c.tags), manifests: Number(c.manifests) });
    }
    const projects = new Map<string, { usage: ProjectUsage; seen: Set<string> }>();
    const projectEntry = (name: string) => {
      const p = projectOf(name);
      let e = projects.get(p);
      if (!e) {
        e = { usage: { project: p, blobs: 0, bytes: 0, tags: 0, manifests: 0, repositories: [] }, seen: new Set() };
        projects.set(p, e);
      }
      return e;
    };
    for (const r of rows) {
      const repo = repos.get(r.name);
      if (repo) {
        repo.blobs++;
        repo.bytes += Number(r.size);
      }
      const p = projectEntry(r.name);
      if (!p.seen.has(r.digest)) {
        p.seen.add(r.digest);
        p.usage.blobs++;
        p.usage.bytes += Number(r.size);
      }
    }
    for (const repo of repos.values()) {
      const p = projectEntry(repo.repository).usage;
      p.repositories.push(repo);
      p.tags += repo.tags;
      p.manifests += repo.manifests;
    }
    return [...projects.values()].map((e) => e.usage).sort((a, b) => (a.project < b.project ? -1 : a.project > b.project ? 1 : 0));
  }
}
