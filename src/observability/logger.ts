import { pino, type Logger } from 'pino';

/** JSON logs on stdout (one object per line), as pino writes them. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'berth' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
