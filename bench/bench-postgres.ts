import pg from 'pg';

/** The server the scale-out bench uses: BERTH_BENCH_POSTGRES_URL, else the tests' default (local, trust auth). */
export const POSTGRES_ADMIN_URL =
  process.env.BERTH_BENCH_POSTGRES_URL ?? process.env.BERTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A database created for one deployment of one bench run, dropped at the end,
 * plus one connection to the admin database to watch it (pg_stat_activity)
 * without adding a backend to it.
 */
export class BenchDatabase {
  private dropped = false;

  private constructor(
    readonly name: string,
    readonly url: string,
    private readonly admin: pg.Client,
  ) {}

  static async create(name: string): Promise<BenchDatabase> {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unsafe database name ${name}`);
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 10_000 });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } catch (e) {
      await admin.end().catch(() => undefined);
      throw e;
    }
    const u = new URL(POSTGRES_ADMIN_URL);
    u.pathname = `/${name}`;
    return new BenchDatabase(name, u.toString(), admin);
  }

  /** "15.20" */
  async serverVersion(): Promise<string> {
    const r = await this.admin.query<{ server_version: string }>('SHOW server_version');
    return r.rows[0]?.server_version ?? 'unknown';
  }

  /** Pids of the server processes (backends) connected to this database now. */
  async backendPids(): Promise<number[]> {
    const r = await this.admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [this.name]);
    return r.rows.map((row) => row.pid);
  }

  /** Drops the database (disconnecting whoever still uses it) and closes the watcher; safe to call twice. */
  async drop(): Promise<void> {
    if (this.dropped) return;
    this.dropped = true;
    try {
      await this.admin.query(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
    } finally {
      await this.admin.end().catch(() => undefined);
    }
  }
}

/** `url` with its host and port replaced (to route a node through a counting proxy). */
export function viaHost(url: string, host: string, port: number): string {
  const u = new URL(url);
  u.hostname = host;
  u.port = String(port);
  return u.toString();
}

/** Host and port of a PostgreSQL URL. */
export function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname || '127.0.0.1', port: Number(u.port || 5432) };
}
