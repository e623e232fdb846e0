/**
 * The compiled CLI as a user runs it: a child process (60 s at most) with a temporary DOCKER_CONFIG
 * and none of the developer's BERTH_* or COSIGN_* settings, so a test sees only what it sets.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { BERTH_BIN } from './server.js';

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Runs `berth ARGS` (60 s at most) with DOCKER_CONFIG=`dockerConfig` and the extra environment
 * given. Asynchronous on purpose: a blocked event loop would keep undici from seeing the server
 * close idle keep-alive connections, and the test's next POST would fail on a dead socket.
 */
export function berth(args: string[], opts: { dockerConfig: string; env?: Record<string, string>; input?: string; cwd?: string }): Promise<CliResult> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BERTH_') && !k.startsWith('COSIGN_') && k !== 'DOCKER_CONFIG'));
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BERTH_BIN, ...args],
      { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL', cwd: opts.cwd, env: { ...inherited, DOCKER_CONFIG: opts.dockerConfig, ...opts.env } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
        resolve({ code, out: stdout, err: stderr });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

/** Asserts exit code 0 (showing stderr otherwise) and that nothing looks like a stack trace. */
export function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`);
  noStack(r);
  return r;
}

/** Asserts exit code 1 with `pattern` on stderr, nothing on stdout, and no stack trace. */
export function fails(r: CliResult, pattern: RegExp, what: string): CliResult {
  assert.equal(r.code, 1, `${what}: expected exit 1, got ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`);
  assert.match(r.err, pattern, what);
  noStack(r);
  return r;
}

function noStack(r: CliResult): void {
  assert.doesNotMatch(r.err, /\n\s+at .+:\d+:\d+\)?\n/, `a stack trace on stderr:\n${r.err}`);
}

