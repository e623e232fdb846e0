import type { AuthStore, MemberRecord, ProjectRecord, RobotRecord, Role, UserRecord } from '../auth-store.js';
import type { SqlDatabase } from './sql-database.js';

type Num = number | string;
type UserRow = { name: string; password_hash: string; system_admin: Num; disabled: Num; created_at: Num; updated_at: Num };
type ProjectRow = { name: string; public: Num; created_at: Num; created_by: string | null };
type RobotRow = {
  name: string;
  project: string;
  secret_hash: string;
  actions: string;
  repository_pattern: string | null;
  expires_at: Num | null;
  disabled: Num;
  description: string | null;
  created_at: Num;
  created_by: string | null;
};

const toUser = (r: UserRow): UserRecord => ({
  name: r.name,
  passwordHash: r.password_hash,
  systemAdmin: Number(r.system_admin) === 1,
  disabled: Number(r.disabled) === 1,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});
const toProject = (r: ProjectRow): ProjectRecord => ({
  name: r.name,
  public: Number(r.public) === 1,
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
});
const toRobot = (r: RobotRow): RobotRecord => ({
  name: r.name,
  project: r.project,
  secretHash: r.secret_hash,
  actions: r.actions.split(',').filter((a) => a !== ''),
  repositoryPattern: r.repository_pattern,
  expiresAt: r.expires_at === null ? null : Number(r.expires_at),
  disabled: Number(r.disabled) === 1,
  description: r.description,
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
});
const bit = (b: boolean) => (b ? 1 : 0);

const USER_COLUMNS = 'name, password_hash, system_admin, disabled, created_at, updated_at';
const ROBOT_COLUMNS = 'name, project, secret_hash, actions, repository_pattern, expires_at, disabled, description, created_at, created_by';

/** AuthStore over a SqlDatabase. */
export class SqlAuthStore implements AuthStore {
  constructor(private readonly db: SqlDatabase) {}

  async getUser(name: string): Promise<UserRecord | undefined> {
    const r = await this.db.get<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE name = ?`, [name]);
    return r ? toUser(r) : undefined;
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.db.all<UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY name`)).map(toUser);
  }

  async createUser(u: UserRecord): Promise<boolean> {
    const n = await this.db.run(
      `INSERT INTO users (${USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
      [u.name, u.passwordHash, bit(u.systemAdmin), bit(u.disabled), u.createdAt, u.updatedAt],
    );
    return n > 0;
  }

  async updateUser(name: string, patch: { passwordHash?: string; systemAdmin?: boolean; disabled?: boolean }, now: number): Promise<boolean> {
    const sets: string[] = ['updated_at = ?'];
    const params: (string | number)[] = [now];
    if (patch.passwordHash !== undefined) {
      sets.push('password_hash = ?');
      params.push(patch.passwordHash);
    }
    if (patch.systemAdmin !== undefined) {
      sets.push('system_admin = ?');
      params.push(bit(patch.systemAdmin));
    }
    if (patch.disabled !== undefined) {
      sets.push('disabled = ?');
      params.push(bit(patch.disabled));
    }
    return (await this.db.run(`UPDATE users SET ${sets.join(', ')} WHERE name = ?`, [...params, name])) > 0;
  }

  async deleteUser(name: string): Promise<boolean> {
    return this.db.transaction(async (q) => {
      await q.run('DELETE FROM project_members WHERE username = ?', [name]);
      return (await q.run('DELETE FROM users WHERE name = ?', [name])) > 0;
    });
  }

  async rolesOf(username: string): Promise<Record<string, Role>> {
    const rows = await this.db.all<{ project: string; role: Role }>('SELECT project, role FROM project_members WHERE username = ?', [username]);
    return Object.fromEntries(rows.map((r) => [r.project, r.role]));
  }

  async getProject(name: string): Promise<ProjectRecord | undefined> {
    const r = await this.db.get<ProjectRow>('SELECT name, public, created_at, created_by FROM projects WHERE name = ?', [name]);
    return r ? toProject(r) : undefined;
  }

  async listProjects(): Promise<ProjectRecord[]> {
    return (await this.db.all<ProjectRow>('SELECT name, public, created_at, created_by FROM projects ORDER BY name')).map(toProject);
  }

  async createProject(p: ProjectRecord): Promise<boolean> {
    const n = await this.db.run(
      'INSERT INTO projects (name, public, created_at, created_by) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING',
      [p.name, bit(p.public), p.createdAt, p.createdBy],
    );
    return n > 0;
  }

  async updateProject(name: string, patch: { public?: boolean }): Promise<boolean> {
    if (patch.public === undefined) return (await this.getProject(name)) !== undefined;
    return (await this.db.run('UPDATE projects SET public = ? WHERE name = ?', [bit(patch.public), name])) > 0;
  }

  async deleteProject(name: string): Promise<boolean> {
    return this.db.transaction(async (q) => {
      await q.run('DELETE FROM project_members WHERE project = ?', [name]);
      await q.run('DELETE FROM robots WHERE project = ?', [name]);
      return (await q.run('DELETE FROM projects WHERE name = ?', [name])) > 0;
    });
  }

  async listMembers(project: string): Promise<MemberRecord[]> {
    return this.db.all<MemberRecord>('SELECT project, username, role FROM project_members WHERE project = ? ORDER BY username', [project]);
  }

  async setMember(m: MemberRecord): Promise<boolean> {
    return this.db.transaction(async (q) => {
      if (!(await q.get('SELECT 1 AS ok FROM projects WHERE name = ?', [m.project]))) return false;
      if (!(await q.get('SELECT 1 AS ok FROM users WHERE name = ?', [m.username]))) return false;
      await q.run(
        `INSERT INTO project_members (project, username, role) VALUES (?, ?, ?)
         ON CONFLICT (project, username) DO UPDATE SET role = excluded.role`,
        [m.project, m.username, m.role],
      );
      return true;
    });
  }

  async removeMember(project: string, username: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM project_members WHERE project = ? AND username = ?', [project, username])) > 0;
  }

  async getRobot(name: string): Promise<RobotRecord | undefined> {
    const r = await this.db.get<RobotRow>(`SELECT ${ROBOT_COLUMNS} FROM robots WHERE name = ?`, [name]);
    return r ? toRobot(r) : undefined;
  }

  async listRobots(project?: string): Promise<RobotRecord[]> {
    const rows =
      project === undefined
        ? await this.db.all<RobotRow>(`SELECT ${ROBOT_COLUMNS} FROM robots ORDER BY name`)
        : await this.db.all<RobotRow>(`SELECT ${ROBOT_COLUMNS} FROM robots WHERE project = ? ORDER BY name`, [project]);
    return rows.map(toRobot);
  }

  async createRobot(r: RobotRecord): Promise<boolean> {
    return this.db.transaction(async (q) => {
      if (!(await q.get('SELECT 1 AS ok FROM projects WHERE name = ?', [r.project]))) return false;
      const n = await q.run(
        `INSERT INTO robots (${ROBOT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
        [r.name, r.project, r.secretHash, r.actions.join(','), r.repositoryPattern, r.expiresAt, bit(r.disabled), r.description, r.createdAt, r.createdBy],
      );
      return n > 0;
    });
  }

  async updateRobot(name: string, patch: { disabled?: boolean; secretHash?: string }): Promise<boolean> {
    const sets: string[] = [];
    const params: (string | number)[] = [];
    if (patch.disabled !== undefined) {
      sets.push('disabled = ?');
      params.push(bit(patch.disabled));
    }
    if (patch.secretHash !== undefined) {
      sets.push('secret_hash = ?');
      params.push(patch.secretHash);
    }
    if (sets.length === 0) return (await this.getRobot(name)) !== undefined;
    return (await this.db.run(`UPDATE robots SET ${sets.join(', ')} WHERE name = ?`, [...params, name])) > 0;
  }

  async deleteRobot(name: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM robots WHERE name = ?', [name])) > 0;
  }

  async signingKey(make: () => string, now: number): Promise<{ id: string; privatePem: string }> {
    const existing = await this.db.get<{ id: string; private_pem: string }>("SELECT id, private_pem FROM auth_keys WHERE id = 'token'");
    if (existing) return { id: existing.id, privatePem: existing.private_pem };
    await this.db.run("INSERT INTO auth_keys (id, private_pem, created_at) VALUES ('token', ?, ?) ON CONFLICT (id) DO NOTHING", [make(), now]);
    const row = await this.db.get<{ id: string; private_pem: string }>("SELECT id, private_pem FROM auth_keys WHERE id = 'token'");
    if (!row) throw new Error('token signing key vanished');
    return { id: row.id, privatePem: row.private_pem };
  }
}
