import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the advisory database lives: `--db-dir`, else `BERTH_SCAN_DB_DIR`,
 * else the CLI's cache (`~/.cache/berth/db`, or under XDG_CACHE_HOME).
 * The server uses its data directory unless the variable is set.
 */
export function cliDbDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.BERTH_SCAN_DB_DIR) return env.BERTH_SCAN_DB_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'berth', 'db');
}
