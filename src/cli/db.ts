import type { Command } from 'commander';
import { loadConfig } from '../config/loader.js';
import { createLogger } from '../observability/logger.js';
import { openMetadata } from '../main.js';
import { MIGRATIONS } from '../metadata/migrations/index.js';

export function registerDb(program: Command): void {
  const cmd = program.command('db').description('Metadata database maintenance');
  cmd
    .command('migrate')
    .description('Apply schema migrations to the configured metadata database (serve also does this at start)')
    .option('--config <file>', 'YAML config file')
    .option('--data <dir>', 'data directory (for the embedded SQLite database)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: { config?: string; data?: string; format: string }) => {
      const config = await loadConfig({ file: opts.config, flags: opts.data ? { data: opts.data } : {} });
      const meta = await openMetadata(config, createLogger('warn'));
      await meta.close();
      const latest = Math.max(...MIGRATIONS.map((m) => m.version));
      const report = { driver: config.metadata.driver, schemaVersion: latest };
      process.stdout.write(
        opts.format === 'json' ? JSON.stringify(report) + '\n' : `${report.driver}: schema at version ${report.schemaVersion}\n`,
      );
    });
}
