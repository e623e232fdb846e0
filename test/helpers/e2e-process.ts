import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Absolute path of `name` on PATH, or undefined (used to skip suites whose client is missing). */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

export interface CommandResult {
  /** Exit code; null when killed (timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** One line for assertion messages: the command, its exit and its stderr. */
  describe(): string;
}

/**
 * Runs a command to completion, bounded by `timeoutMs` (SIGKILL after it).
 * Never rejects on a non-zero exit: the caller asserts on the result.
 */
export function runCommand(cmd: string, args: string[], timeoutMs = 60_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals }) | null;
        const code = e === null ? 0 : typeof e.code === 'number' ? e.code : null;
        const signal = e?.signal ?? null;
        resolve({
          code,
          signal,
          stdout,
          stderr,
          describe: () =>
            `${cmd} ${args.join(' ')}\n  exit=${code} signal=${signal}${signal === 'SIGKILL' ? ` (timeout ${timeoutMs} ms?)` : ''}\n  stderr: ${stderr.trim().slice(-4000)}`,
        });
      },
    );
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
