import type { Command } from 'commander';
import { loadConfig, ConfigError } from '../config/loader.js';
import { createLogger } from '../observability/logger.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the registry (OCI Distribution v1.1 under /v2/, /healthz, /readyz)')
    .option('--listen <host:port>', 'address to listen on (config: listen; env BERTH_LISTEN; default 0.0.0.0:5000)')
    .option('--data <dir>', 'data directory for blobs and the SQLite database (config: data; env BERTH_DATA; default ./data)')
    .option('--config <file>', 'YAML config file (`version: 1`); env BERTH_CONFIG')
    .option('--log-level <level>', 'trace|debug|info|warn|error|silent (config: log.level; env BERTH_LOG_LEVEL)')
    .option('--tls-cert <file>', 'PEM certificate chain: serve HTTPS (config: tls.cert; env BERTH_TLS_CERT)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert (config: tls.key; env BERTH_TLS_KEY)')
    .addHelpText(
      'after',
      `
Precedence: defaults < config file < environment (BERTH_ + upper-cased key path,
e.g. registry.delete.enabled -> BERTH_REGISTRY_DELETE_ENABLED) < flags.
Every key is listed in docs/config.md; check a file with \`berth config check FILE\`.`,
    )
    .action(async (opts: { listen?: string; data?: string; config?: string; logLevel?: string; tlsCert?: string; tlsKey?: string }) => {
      const flags: Record<string, unknown> = {};
      if (opts.tlsCert || opts.tlsKey) {
        flags.tls = { ...(opts.tlsCert ? { cert: opts.tlsCert } : {}), ...(opts.tlsKey ? { key: opts.tlsKey } : {}) };
      }
      if (opts.listen) flags.listen = opts.listen;
      if (opts.data) flags.data = opts.data;
      if (opts.logLevel) flags.log = { level: opts.logLevel };
      let config;
      try {
        config = await loadConfig({ file: opts.config, flags });
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`berth: ${e.message}\n`);
          process.exit(2);
        }
        throw e;
      }
      const log = createLogger(config.log.level);
      // Loaded here, not at the top: other commands start without the server and its storage SDKs.
      const { startServer } = await import('../main.js');
      const server = await startServer(config, log);
      log.info({ url: server.url, data: config.data }, 'listening');
      // A closed stdout (piped into a process that exited) must not stop the shutdown path:
      // logging here is best effort, and the exit happens whatever the logger does.
      process.stdout.on('error', () => undefined);
      const safeLog = (fn: () => void) => {
        try {
          fn();
        } catch {
          /* stdout is gone */
        }
      };
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        safeLog(() => log.info({ signal }, 'shutting down'));
        let code = 0;
        server
          .close()
          .then(
            () => safeLog(() => log.info('stopped')),
            (e: unknown) => {
              code = 1;
              safeLog(() => log.error({ err: e }, 'shutdown failed'));
            },
          )
          .finally(() => process.exit(code));
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
