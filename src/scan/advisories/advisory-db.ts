import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AdvisoryDbError, OsvRecordError } from './errors.js';
import { downloadResumable } from './osv-download.js';
import { DEFAULT_SOURCE_LIMITS, readOsvSource, type SourceLimits } from './osv-source.js';
import { baseEcosystem, isLater, isWithdrawn, normalizePackageName, parseOsvRecord, type OsvRecord } from './osv.js';

export const DEFAULT_OSV_BASE_URL = 'https://osv-vulnerabilities.storage.googleapis.com';

/** What one import did. `problems` lists the first skipped files with their reasons. */
export interface ImportSummary {
  /** Valid records read. */
  records: number;
  added: number;
  /** Replaced by a copy with a newer `modified`. */
  updated: number;
  /** Already stored with the same or a newer `modified`. */
  unchanged: number;
  skipped: number;
  problems: { source: string; reason: string }[];
}

export interface UpdateProgress {
  ecosystem: string;
  phase: 'download' | 'import';
  done: number;
  total?: number;
}

export interface UpdateSummary {
  ecosystems: { name: string; status: 'updated' | 'unchanged'; bytes: number; import?: ImportSummary }[];
}

export interface AdvisoryDbStatus {
  ecosystems: { name: string; records: number; updatedAt: string }[];
  records: number;
  /** Latest import or update of any ecosystem. */
  updatedAt?: string;
  /** Increases with every import or update that changed a record; re-scan when it moved. */
  generation: number;
  /** When the generation last moved. */
  changedAt?: string;
}

/** An OSV record that lists the looked-up package, with the ecosystem string it was found under. */
export interface CandidateRecord {
  ecosystem: string;
  record: OsvRecord;
}

/** The read side the matcher needs: records indexed by (ecosystem, normalised package name). */
export interface AdvisoryLookup {
  /**
   * Records with an affected entry for one of `names` under one of
   * `ecosystems` (exact) or an ecosystem starting with one of `prefixes`.
   * Each record at most once per ecosystem; never throws for bad stored rows
   * (they are left out).
   */
  candidates(query: { ecosystems: readonly string[]; prefixes: readonly string[]; names: readonly string[] }): CandidateRecord[];
}

const MAX_PROBLEMS = 100;
const MAX_ECOSYSTEM_NAME = 100;
const PROGRESS_EVERY = 500;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS records (
  id TEXT PRIMARY KEY,
  modified TEXT NOT NULL,
  withdrawn TEXT,
  aliases TEXT NOT NULL,
  ecosystem TEXT NOT NULL,
  json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_ecosystem ON records (ecosystem);
CREATE TABLE IF NOT EXISTS affected (
  name TEXT NOT NULL,
  ecosystem TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (name, ecosystem, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS affected_id ON affected (id);
CREATE TABLE IF NOT EXISTS sources (
  ecosystem TEXT PRIMARY KEY,
  updated_at TEXT NOT NULL,
  etag TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/**
 * The OSV advisory database: one SQLite file (`advisories.db`, WAL) holding
 * each record once as JSON, and an index of (ecosystem with release suffix,
 * normalised package name) -> record so a scan reads only the records of the
 * packages it has. Writes (import, update) run one at a time per instance,
 * each in one transaction; scans should use their own read-only instance so
 * they never see an import half done.
 */
export class AdvisoryDb implements AdvisoryLookup {
  private busy = false;
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(
    private readonly db: Database.Database,
    private readonly dir: string,
    private readonly readonly: boolean,
  ) {}

  /**
   * Opens (creating unless `readonly`) `<dir>/advisories.db`. Throws
   * AdvisoryDbError when the file cannot be opened, or does not exist for a
   * read-only open.
   */
  static open(dir: string, opts: { readonly?: boolean } = {}): AdvisoryDb {
    const path = join(dir, 'advisories.db');
    if (opts.readonly && !existsSync(path)) throw new AdvisoryDbError(`no advisory database at ${path}; run an update first`);
    try {
      if (!opts.readonly) mkdirSync(dir, { recursive: true });
      const db = new Database(path, { readonly: opts.readonly === true, fileMustExist: opts.readonly === true });
      db.pragma('busy_timeout = 5000');
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.exec(SCHEMA);
      }
      return new AdvisoryDb(db, dir, opts.readonly === true);
    } catch (e) {
      throw new AdvisoryDbError(`cannot open the advisory database ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Closes the file; the instance is unusable afterwards. */
  close(): void {
    this.db.close();
  }

  /** Prepared once per instance: the matcher asks for every package of an image. */
  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * Imports OSV JSON files, folders of them (recursively) and OSV `all.zip`
   * exports, all in one transaction: a corrupt zip, a limit hit or an abort
   * rolls everything back (AdvisoryDbError / the abort reason). A record
   * replaces a stored one only when its `modified` is later. Invalid records
   * are skipped and listed in the summary.
   */
  async import(path: string, onProgress?: (p: { done: number; total?: number }) => void, signal?: AbortSignal): Promise<ImportSummary> {
    return this.writing(() => this.importInTransaction(path, onProgress, signal, DEFAULT_SOURCE_LIMITS));
  }

  /**
   * Downloads `<baseUrl>/<ecosystem>/all.zip` for each ecosystem (resuming a
   * cut download, skipping an export whose ETag has not changed), then imports
   * each in its own transaction. Downloads all first, so an unreachable
   * server (AdvisoryDownloadError) leaves the database unchanged.
   */
  async update(opts: {
    ecosystems: readonly string[];
    baseUrl?: string;
    onProgress?: (p: UpdateProgress) => void;
    signal?: AbortSignal;
    /** Largest export accepted per ecosystem (default 4 GiB). */
    maxBytes?: number;
  }): Promise<UpdateSummary> {
    return this.writing(async () => {
      const base = (opts.baseUrl ?? DEFAULT_OSV_BASE_URL).replace(/\/+$/, '');
      const downloads = join(this.dir, 'downloads');
      mkdirSync(downloads, { recursive: true });
      const fetched: { name: string; file?: string; etag?: string; bytes: number }[] = [];
      for (const name of opts.ecosystems) {
        if (name.length === 0 || name.length > MAX_ECOSYSTEM_NAME || /[/\\]|^\.\.?$/.test(name)) {
          throw new AdvisoryDbError(`not an OSV ecosystem name: ${JSON.stringify(name)}`);
        }
        const file = join(downloads, `${encodeURIComponent(name)}.zip`);
        const etag = this.stmt('SELECT etag FROM sources WHERE ecosystem = ?').pluck().get(name) as string | null | undefined;
        const result = await downloadResumable(`${base}/${encodeURIComponent(name)}/all.zip`, file, {
          etag: etag ?? undefined,
          maxBytes: opts.maxBytes ?? 4 * 2 ** 30,
          signal: opts.signal,
          onProgress: (p) => opts.onProgress?.({ ecosystem: name, phase: 'download', ...p }),
        });
        fetched.push(result.status === 'downloaded' ? { name, file, etag: result.etag, bytes: result.bytes } : { name, bytes: 0 });
      }
      const summary: UpdateSummary = { ecosystems: [] };
      for (const f of fetched) {
        if (!f.file) {
          this.touchSource(f.name, new Date().toISOString());
          summary.ecosystems.push({ name: f.name, status: 'unchanged', bytes: 0 });
          continue;
        }
        try {
          const imported = await this.importInTransaction(
            f.file,
            (p) => opts.onProgress?.({ ecosystem: f.name, phase: 'import', ...p }),
            opts.signal,
            DEFAULT_SOURCE_LIMITS,
            { name: f.name, etag: f.etag },
          );
          summary.ecosystems.push({ name: f.name, status: 'updated', bytes: f.bytes, import: imported });
        } finally {
          // Imported, or unusable (a corrupt export is fetched again next time): either way not kept.
          await rm(f.file, { force: true });
        }
      }
      return summary;
    });
  }

  /** Counts per ecosystem (by the first affected package of each record) and when each was last imported. */
  status(): AdvisoryDbStatus {
    const counts = new Map(
      (this.stmt('SELECT ecosystem, COUNT(*) AS n FROM records GROUP BY ecosystem').all() as { ecosystem: string; n: number }[]).map((r) => [
        r.ecosystem,
        r.n,
      ]),
    );
    const sources = this.stmt('SELECT ecosystem, updated_at FROM sources ORDER BY ecosystem').all() as { ecosystem: string; updated_at: string }[];
    const ecosystems = sources.map((s) => ({ name: s.ecosystem, records: counts.get(s.ecosystem) ?? 0, updatedAt: s.updated_at }));
    const records = [...counts.values()].reduce((a, b) => a + b, 0);
    const updatedAt = sources.map((s) => s.updated_at).sort().at(-1);
    return { ecosystems, records, updatedAt, generation: Number(this.meta('generation') ?? 0), changedAt: this.meta('changed_at') };
  }

  /** The stored record with this ID (withdrawn ones included), or undefined. */
  get(id: string): OsvRecord | undefined {
    const json = this.stmt('SELECT json FROM records WHERE id = ?').pluck().get(id) as string | undefined;
    return json === undefined ? undefined : (JSON.parse(json) as OsvRecord);
  }

  /** See AdvisoryLookup.candidates. */
  candidates(query: { ecosystems: readonly string[]; prefixes: readonly string[]; names: readonly string[] }): CandidateRecord[] {
    const exact = this.stmt(
      'SELECT a.ecosystem AS ecosystem, r.json AS json FROM affected a JOIN records r ON r.id = a.id WHERE a.name = ? AND a.ecosystem = ?',
    );
    // A prefix as a range, so the (name, ecosystem) primary key serves it: `p` <= e < `p` + U+FFFF.
    const prefixed = this.stmt(
      'SELECT a.ecosystem AS ecosystem, r.json AS json FROM affected a JOIN records r ON r.id = a.id WHERE a.name = ? AND a.ecosystem >= ? AND a.ecosystem < ?',
    );
    const out: CandidateRecord[] = [];
    const seen = new Set<string>();
    const take = (rows: { ecosystem: string; json: string }[]) => {
      for (const row of rows) {
        try {
          const record = JSON.parse(row.json) as OsvRecord;
          const key = `${row.ecosystem}\u0000${record.id}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.push({ ecosystem: row.ecosystem, record });
        } catch {
          // A row that is not JSON was not written by import; leave it out.
        }
      }
    };
    for (const name of query.names) {
      for (const e of query.ecosystems) take(exact.all(normalizePackageName(e, name), e) as { ecosystem: string; json: string }[]);
      for (const p of query.prefixes) take(prefixed.all(normalizePackageName(p, name), p, `${p}\uffff`) as { ecosystem: string; json: string }[]);
    }
    return out;
  }

  private meta(key: string): string | undefined {
    return this.stmt('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined;
  }

  private touchSource(ecosystem: string, at: string, etag?: string): void {
    this.stmt(
        'INSERT INTO sources (ecosystem, updated_at, etag) VALUES (?, ?, ?) ON CONFLICT (ecosystem) DO UPDATE SET updated_at = excluded.updated_at, etag = COALESCE(excluded.etag, sources.etag)',
    ).run(ecosystem, at, etag ?? null);
  }

  /** One write at a time per instance: better-sqlite3 has one connection and a transaction spans awaits. */
  private async writing<T>(fn: () => Promise<T>): Promise<T> {
    if (this.readonly) throw new AdvisoryDbError('this advisory database was opened read-only');
    if (this.busy) throw new AdvisoryDbError('another import or update is running on this advisory database');
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
    }
  }

  private async importInTransaction(
    path: string,
    onProgress: ((p: { done: number; total?: number }) => void) | undefined,
    signal: AbortSignal | undefined,
    limits: SourceLimits,
    source?: { name: string; etag?: string },
  ): Promise<ImportSummary> {
    const summary: ImportSummary = { records: 0, added: 0, updated: 0, unchanged: 0, skipped: 0, problems: [] };
    const touched = new Set<string>(source ? [source.name] : []);
    const skip = (from: string, reason: string) => {
      summary.skipped++;
      if (summary.problems.length < MAX_PROBLEMS) summary.problems.push({ source: from, reason });
    };
    const existing = this.stmt('SELECT modified FROM records WHERE id = ?').pluck();
    const upsert = this.stmt(
      'INSERT INTO records (id, modified, withdrawn, aliases, ecosystem, json) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET modified = excluded.modified, withdrawn = excluded.withdrawn, aliases = excluded.aliases, ecosystem = excluded.ecosystem, json = excluded.json',
    );
    const unindex = this.stmt('DELETE FROM affected WHERE id = ?');
    const index = this.stmt('INSERT OR IGNORE INTO affected (name, ecosystem, id) VALUES (?, ?, ?)');

    const store = (value: unknown, from: string) => {
      let record: OsvRecord;
      try {
        record = parseOsvRecord(value);
      } catch (e) {
        if (e instanceof OsvRecordError) return skip(from, e.message);
        throw e;
      }
      summary.records++;
      const stored = existing.get(record.id) as string | undefined;
      if (stored !== undefined && !isLater(record.modified, stored)) {
        summary.unchanged++;
        return;
      }
      const packages = (record.affected ?? []).flatMap((a) => (a.package ? [a.package] : []));
      const ecosystem = packages[0] ? baseEcosystem(packages[0].ecosystem) : '';
      if (!source && ecosystem) touched.add(ecosystem);
      upsert.run(record.id, record.modified, record.withdrawn ?? null, JSON.stringify(record.aliases ?? []), ecosystem, JSON.stringify(value));
      unindex.run(record.id);
      // Withdrawn records stay stored (so an older copy cannot come back) but are not indexed.
      if (!isWithdrawn(record)) for (const p of packages) index.run(normalizePackageName(p.ecosystem, p.name), p.ecosystem, record.id);
      if (stored === undefined) summary.added++;
      else summary.updated++;
    };

    this.db.exec('BEGIN IMMEDIATE');
    try {
      let done = 0;
      for await (const item of readOsvSource(path, limits, signal)) {
        signal?.throwIfAborted();
        if ('skipped' in item) skip(item.source, item.skipped);
        else {
          let value: unknown;
          try {
            value = JSON.parse(item.bytes.toString('utf8'));
          } catch (e) {
            skip(item.source, `not JSON: ${(e as Error).message}`);
            continue;
          }
          // A file may hold one record or an array of them (OSV `all.json` exports).
          if (Array.isArray(value)) value.forEach((v, i) => store(v, `${item.source}[${i}]`));
          else store(value, item.source);
        }
        if (++done % PROGRESS_EVERY === 0) onProgress?.({ done });
      }
      const now = new Date().toISOString();
      if (summary.added + summary.updated > 0) {
        const generation = Number(this.meta('generation') ?? 0) + 1;
        const setMeta = this.stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
        setMeta.run('generation', String(generation));
        setMeta.run('changed_at', now);
      }
      for (const e of touched) this.touchSource(e, now, e === source?.name ? source.etag : undefined);
      this.db.exec('COMMIT');
      onProgress?.({ done, total: done });
      return summary;
    } catch (e) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw e;
    }
  }
}
