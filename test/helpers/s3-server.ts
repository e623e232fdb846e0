import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A real S3-compatible server for tests (Ceph RADOS Gateway, via
 * <repo>/../shared/scripts/s3-server.sh, which CI places beside the repo).
 *
 * ensureS3() uses the server named by S3_ENDPOINT when set (keys from
 * S3_ACCESS_KEY/S3_SECRET_KEY or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
 * bucket S3_BUCKET); otherwise it starts one itself with its data under
 * /tmp. When that is impossible it returns {skip: reason}, except under CI,
 * where it throws.
 *
 * Test files run in parallel processes, so a server this helper started is
 * shared: each process registers itself as a user, and stopS3() stops the
 * server only when this helper started it and no other live process uses it.
 * A server someone else started (S3_ENDPOINT, or one already running) is
 * never stopped.
 */
export interface S3Config {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const STATE_DIR = process.env.BERTH_TEST_S3_STATE ?? '/tmp/berth-test-s3';
const DATA_DIR = join(STATE_DIR, 'data');
const USERS_DIR = join(STATE_DIR, 'users');
const STARTED_MARK = join(STATE_DIR, 'started-by-helper');
const LOCK = join(STATE_DIR, 'lock');
/** Generous: the first start may apt-get install Ceph (about 30 s) and bootstrap a cluster. */
const START_TIMEOUT_MS = 300_000;

let ensured: Promise<S3Config | { skip: string }> | undefined;
let registered = false;

export function ensureS3(): Promise<S3Config | { skip: string }> {
  ensured ??= ensure();
  return ensured;
}

async function ensure(): Promise<S3Config | { skip: string }> {
  const fromEnv = configFromEnv(process.env);
  if (fromEnv) return fromEnv;
  const script = process.env.BERTH_S3_SERVER_SCRIPT ?? join(repoRoot(), '..', 'shared', 'scripts', 's3-server.sh');
  if (!existsSync(script)) return unavailable(`no S3_ENDPOINT and no ${script} to start one`);
  mkdirSync(USERS_DIR, { recursive: true });
  let out: { stdout: string; stderr: string };
  try {
    out = await locked(async () => {
      const port = await choosePort();
      const r = await run(script, ['start'], { S3_DATA: DATA_DIR, ...(port ? { S3_PORT: String(port) } : {}) });
      if (/ready in \d+ ms/.test(r.stderr)) writeFileSync(STARTED_MARK, `${process.pid}\n`);
      writeFileSync(join(USERS_DIR, String(process.pid)), '');
      registered = true;
      return r;
    });
  } catch (e) {
    return unavailable(`could not start the S3 server with ${script}: ${(e as Error).message}`);
  }
  const env = parseExports(out.stdout);
  const cfg = configFromEnv(env);
  if (!cfg) return unavailable(`${script} start printed no usable export line: ${out.stdout.trim()}`);
  return cfg;
}

/**
 * Stops the server if this helper started it and no other live test process
 * still uses it. Safe to call when ensureS3 was never called or skipped.
 */
export async function stopS3(): Promise<void> {
  if (!registered) return;
  registered = false;
  const script = process.env.BERTH_S3_SERVER_SCRIPT ?? join(repoRoot(), '..', 'shared', 'scripts', 's3-server.sh');
  await locked(async () => {
    rmSync(join(USERS_DIR, String(process.pid)), { force: true });
    const others = readdirSync(USERS_DIR).filter((name) => {
      const pid = Number(name);
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) return true;
      rmSync(join(USERS_DIR, name), { force: true }); // a crashed user
      return false;
    });
    if (others.length > 0 || !existsSync(STARTED_MARK)) return;
    await run(script, ['stop'], { S3_DATA: DATA_DIR });
    rmSync(STARTED_MARK, { force: true });
  });
}

export function configFromEnv(env: NodeJS.ProcessEnv | Record<string, string>): S3Config | undefined {
  const endpoint = env.S3_ENDPOINT;
  const accessKeyId = env.S3_ACCESS_KEY ?? env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.S3_SECRET_KEY ?? env.AWS_SECRET_ACCESS_KEY;
  if (!endpoint || !accessKeyId || !secretAccessKey) return undefined;
  return {
    endpoint,
    region: env.S3_REGION ?? env.AWS_REGION ?? 'us-east-1',
    bucket: env.S3_BUCKET ?? 'registry',
    accessKeyId,
    secretAccessKey,
  };
}

/** `export A=1 B=2` -> {A: '1', B: '2'} (the script prints one such line; values have no spaces). */
export function parseExports(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  const line = stdout.split('\n').find((l) => l.startsWith('export '));
  if (!line) return out;
  for (const pair of line.slice('export '.length).trim().split(/\s+/)) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function unavailable(reason: string): { skip: string } {
  if (process.env.CI) throw new Error(`S3 server required under CI: ${reason}`);
  return { skip: reason };
}

/** The repository root: the nearest directory above this file with a package.json (works from src and from dist). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('s3-server helper: no package.json above this file');
}

function run(file: string, args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    execFile(
      file,
      args,
      { env: { ...process.env, ...env }, timeout: START_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) rej(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr.slice(-2000)}`));
        else res({ stdout, stderr });
      },
    );
  });
}

/**
 * The port for a fresh data dir: the first candidate whose S3 and monitor
 * ports (p, p+1) are both free. An existing data dir keeps its port
 * (undefined: the script remembers it).
 */
async function choosePort(): Promise<number | undefined> {
  if (existsSync(join(DATA_DIR, 'rgw.port'))) return undefined;
  for (const p of [7480, 7580, 7680, 7780, 7880, 17480, 27480]) {
    if ((await portFree(p)) && (await portFree(p + 1))) return p;
  }
  throw new Error('no free port pair among the candidates 7480..27480');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs fn holding a cross-process lock (an exclusive mkdir), so two test
 * processes never start or stop the server at the same time. A lock whose
 * owner process is gone is broken.
 */
async function locked<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(STATE_DIR, { recursive: true });
  const attempts = Math.ceil((START_TIMEOUT_MS + 30_000) / 200);
  for (let i = 0; ; i++) {
    if (i >= attempts) throw new Error(`s3-server helper: ${LOCK} held for too long`);
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'owner'), `${process.pid}\n`);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(readOwner());
      // No owner file yet: its holder is between mkdir and write; wait. A dead owner: break the lock.
      if (Number.isInteger(owner) && owner > 0 && !alive(owner)) rmSync(LOCK, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function readOwner(): string {
  try {
    return readFileSync(join(LOCK, 'owner'), 'utf8').trim();
  } catch {
    return '';
  }
}
