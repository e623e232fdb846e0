import type { Command } from 'commander';
import { loadConfig } from '../config/loader.js';
import { createLogger } from '../observability/logger.js';
import { MIGRATIONS } from '../metadata/migrations/index.js';
import { AdvisoryDb, DEFAULT_OSV_BASE_URL } from '../scan/advisories/index.js';
import { runAction } from './management-command.js';
import { formatBytes, renderTable } from './output.js';
import { progress } from './progress.js';
import { cliDbDir } from './scan-db-dir.js';
import { DEFAULT_ECOSYSTEMS } from '../scan/scanner.js';

export function registerDb(program: Command): void {
  const cmd = program.command('db').description('The metadata database (migrate) and the advisory database for scanning (import, update, status)');
  cmd
    .command('migrate')
    .description('Apply schema migrations to the configured metadata database (serve also does this at start)')
    .option('--config <file>', 'YAML config file')
    .option('--data <dir>', 'data directory (for the embedded SQLite database)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: { config?: string; data?: string; format: string }) => {
      const config = await loadConfig({ file: opts.config, flags: opts.data ? { data: opts.data } : {} });
      // The server's composition root (and the storage SDKs) load only for commands that need them.
      const { openMetadata } = await import('../main.js');
      const meta = await openMetadata(config, createLogger('warn'));
      await meta.close();
      const latest = Math.max(...MIGRATIONS.map((m) => m.version));
      const report = { driver: config.metadata.driver, schemaVersion: latest };
      process.stdout.write(
        opts.format === 'json' ? JSON.stringify(report) + '\n' : `${report.driver}: schema at version ${report.schemaVersion}\n`,
      );
    });

  cmd
    .command('import')
    .description('Import OSV advisories: a JSON file, a folder of them, or an OSV all.zip export')
    .argument('<path>', 'file, folder or zip')
    .option('--db-dir <dir>', 'advisory database directory (default $BERTH_SCAN_DB_DIR or ~/.cache/berth/db)')
    .option('--format <format>', 'text or json', 'text')
    .action(
      runAction(async (path: string, opts: { dbDir?: string; format: string }) => {
        const db = AdvisoryDb.open(cliDbDir(opts.dbDir));
        const bar = progress({ quiet: opts.format === 'json' });
        try {
          const r = await db.import(path, (p) => bar.update(`importing ${path}: ${p.done} records`, p.done, p.total));
          bar.done();
          if (opts.format === 'json') return void process.stdout.write(JSON.stringify(r) + '\n');
          process.stdout.write(`${r.records} records: ${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged, ${r.skipped} skipped\n`);
          for (const p of r.problems) process.stdout.write(`  skipped ${p.source}: ${p.reason}\n`);
        } finally {
          bar.done();
          db.close();
        }
      }),
    );

  cmd
    .command('update')
    .description('Download the OSV all.zip exports and import them (resumes a cut download; offline leaves the database unchanged)')
    .option('--db-dir <dir>', 'advisory database directory (default $BERTH_SCAN_DB_DIR or ~/.cache/berth/db)')
    .option('--base-url <url>', 'where the per-ecosystem exports are (<url>/<ecosystem>/all.zip)', DEFAULT_OSV_BASE_URL)
    .option('--ecosystem <name...>', `OSV ecosystems to fetch (default: ${DEFAULT_ECOSYSTEMS.join(', ')})`)
    .option('--format <format>', 'text or json', 'text')
    .action(
      runAction(async (opts: { dbDir?: string; baseUrl: string; ecosystem?: string[]; format: string }) => {
        const db = AdvisoryDb.open(cliDbDir(opts.dbDir));
        const bar = progress({ quiet: opts.format === 'json' });
        try {
          const r = await db.update({
            baseUrl: opts.baseUrl,
            ecosystems: opts.ecosystem ?? DEFAULT_ECOSYSTEMS,
            onProgress: (p) =>
              bar.update(`${p.phase === 'download' ? 'downloading' : 'importing'} ${p.ecosystem}: ${p.phase === 'download' ? formatBytes(p.done) : `${p.done} records`}`, p.done, p.total),
          });
          bar.done();
          if (opts.format === 'json') return void process.stdout.write(JSON.stringify(r) + '\n');
          for (const e of r.ecosystems) {
            const what = e.import ? `${e.import.added} added, ${e.import.updated} updated` : 'unchanged';
            process.stdout.write(`${e.name}: ${e.status} (${what})\n`);
          }
        } finally {
          bar.done();
          db.close();
        }
      }),
    );

  cmd
    .command('status')
    .description('Show the advisory database: ecosystems, record counts and age')
    .option('--db-dir <dir>', 'advisory database directory (default $BERTH_SCAN_DB_DIR or ~/.cache/berth/db)')
    .option('--format <format>', 'text or json', 'text')
    .action(
      runAction(async (opts: { dbDir?: string; format: string }) => {
        const db = AdvisoryDb.open(cliDbDir(opts.dbDir), { readonly: true });
        try {
          const s = db.status();
          if (opts.format === 'json') return void process.stdout.write(JSON.stringify(s) + '\n');
          const rows = s.ecosystems.map((e) => [e.name, String(e.records), e.updatedAt]);
          process.stdout.write(renderTable([{ header: 'ECOSYSTEM' }, { header: 'RECORDS', align: 'right' }, { header: 'UPDATED' }], rows));
          process.stdout.write(`${s.records} records, generation ${s.generation}, updated ${s.updatedAt ?? 'never'}\n`);
        } finally {
          db.close();
        }
      }),
    );
}
