/**
 * One status line on stderr for long work (downloads, imports, scans), redrawn
 * in place at most every 100 ms. Only on a terminal and outside CI (`CI` set):
 * elsewhere, and whenever the command's output is machine-readable, it writes
 * nothing, so stdout and stderr stay quiet and parseable.
 */
export interface Progress {
  /** Shows `text`, with `done/total` as a bar and percentage when total is known. */
  update(text: string, done?: number, total?: number): void;
  /** Clears the line. */
  done(): void;
}

const SILENT: Progress = { update: () => undefined, done: () => undefined };

export function progress(opts: { quiet?: boolean; stream?: NodeJS.WriteStream; env?: NodeJS.ProcessEnv } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const env = opts.env ?? process.env;
  if (opts.quiet || !stream.isTTY || (env.CI !== undefined && env.CI !== '' && env.CI !== 'false')) return SILENT;
  let last = 0;
  let shown = false;
  return {
    update(text, done, total) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      let line = text;
      if (done !== undefined && total !== undefined && total > 0) {
        const f = Math.min(1, done / total);
        const width = 24;
        const filled = Math.round(f * width);
        line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${text}`;
      }
      const columns = stream.columns ?? 80;
      stream.write(`\r${line.slice(0, Math.max(10, columns - 1)).padEnd(Math.max(10, columns - 1))}`);
      shown = true;
    },
    done() {
      if (shown) stream.write(`\r${' '.repeat(Math.max(10, (stream.columns ?? 80) - 1))}\r`);
      shown = false;
    },
  };
}

