import { pino, type Logger } from 'pino';

/** JSON logs on stdout (one object per line), as pino writes them. */
export function createLogger(level: string): Logger {
  const destination = pino.destination({ dest: 1, sync: true });
  // stdout may be a pipe whose reader went away: logs are then lost, but the
  // process must carry on (and exit when asked) rather than die or hang on EPIPE.
  destination.on('error', () => undefined);
  return pino(
    {
      level,
      base: { service: 'berth' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
