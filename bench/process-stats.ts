import { readFileSync } from 'node:fs';

export interface MemoryReading {
  /** Resident set size now (VmRSS), MiB. */
  rssMiB: number;
  /** Peak resident set size since the process started (VmHWM), MiB. */
  peakMiB: number;
}

/** Reads /proc/<pid>/status; undefined when the process is gone or /proc is absent. */
export function readMemory(pid: number): MemoryReading | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) / 1024 : NaN;
  };
  return { rssMiB: kib('VmRSS'), peakMiB: kib('VmHWM') };
}

/** Samples a process's RSS on a timer, to show whether memory stays flat during a scenario. */
export class RssSampler {
  private readonly timer: NodeJS.Timeout;
  readonly startMiB: number;
  private maxMiB: number;
  private samples = 0;

  constructor(
    private readonly pid: number,
    intervalMs = 100,
  ) {
    this.startMiB = readMemory(pid)?.rssMiB ?? NaN;
    this.maxMiB = this.startMiB;
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    const m = readMemory(this.pid);
    if (!m) return;
    this.samples++;
    if (!(m.rssMiB <= this.maxMiB)) this.maxMiB = m.rssMiB;
  }

  /** Stops sampling; RSS at start, highest sample, and VmHWM now. */
  stop(): { startMiB: number; maxMiB: number; peakMiB: number; samples: number } {
    clearInterval(this.timer);
    this.sample();
    return { startMiB: this.startMiB, maxMiB: this.maxMiB, peakMiB: readMemory(this.pid)?.peakMiB ?? NaN, samples: this.samples };
  }
}

/** Clock ticks per second for /proc/<pid>/stat; 100 on every Linux the bench runs on. */
const CLK_TCK = 100;

/** CPU seconds (user + system) the process has used so far; NaN when unreadable. */
export function readCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm) ": state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}
