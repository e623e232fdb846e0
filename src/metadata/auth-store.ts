/**
 * Users, projects, members, robot accounts and the token signing key (issue 3).
 * Secrets arrive here already hashed; the store never sees a password.
 * Create methods return false (writing nothing) when the name is taken;
 * update and delete methods return false when there was nothing to change.
 */

export type Role = 'guest' | 'developer' | 'maintainer' | 'admin';

export interface UserRecord {
  name: string;
  passwordHash: string;
  systemAdmin: boolean;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface ProjectRecord {
  name: string;
  public: boolean;
  createdAt: number;
  createdBy: string | null;
}

export interface MemberRecord {
  project: string;
  username: string;
  role: Role;
}

export interface RobotRecord {
  /** `robot$<project>+<name>`, the username it authenticates with. */
  name: string;
  project: string;
  secretHash: string;
  actions: string[];
  /** Wildcard over repository names (e.g. `team/ci-*`), or null for every repository of the project. */
  repositoryPattern: string | null;
  expiresAt: number | null;
  disabled: boolean;
  description: string | null;
  createdAt: number;
  createdBy: string | null;
}

export interface AuthStore {
  getUser(name: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  createUser(u: UserRecord): Promise<boolean>;
  updateUser(name: string, patch: { passwordHash?: string; systemAdmin?: boolean; disabled?: boolean }, now: number): Promise<boolean>;
  deleteUser(name: string): Promise<boolean>;
  /** The user's role in every project they are a member of. */
  rolesOf(username: string): Promise<Record<string, Role>>;

  getProject(name: string): Promise<ProjectRecord | undefined>;
  listProjects(): Promise<ProjectRecord[]>;
  createProject(p: ProjectRecord): Promise<boolean>;
  updateProject(name: string, patch: { public?: boolean }): Promise<boolean>;
  /** Removes the project with its members and robots (not its repositories). */
  deleteProject(name: string): Promise<boolean>;

  listMembers(project: string): Promise<MemberRecord[]>;
  /** Adds the member or changes their role. False when the project or the user does not exist. */
  setMember(m: MemberRecord): Promise<boolean>;
  removeMember(project: string, username: string): Promise<boolean>;

  getRobot(name: string): Promise<RobotRecord | undefined>;
  listRobots(project?: string): Promise<RobotRecord[]>;
  createRobot(r: RobotRecord): Promise<boolean>;
  updateRobot(name: string, patch: { disabled?: boolean; secretHash?: string }): Promise<boolean>;
  deleteRobot(name: string): Promise<boolean>;

  /**
   * The token signing key all nodes share: stored from `make()` by the first
   * node that asks (the others' candidates are discarded), then always the stored one.
   */
  signingKey(make: () => string, now: number): Promise<{ id: string; privatePem: string }>;
}
