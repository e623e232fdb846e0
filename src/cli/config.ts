import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { ConfigError, parseConfigText, validateConfig } from '../config/loader.js';
import { renderConfigDocs } from '../config/docs.js';

export function registerConfig(program: Command): void {
  const cmd = program.command('config').description('Inspect and check configuration');
  cmd
    .command('check')
    .argument('<file>', 'YAML config file')
    .description('Validate a config file; prints every problem with its key path')
    .action(async (file: string) => {
      try {
        validateConfig(parseConfigText(await readFile(file, 'utf8'), file));
        process.stdout.write(`${file}: ok\n`);
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`${e.message}\n`);
          process.exit(2);
        }
        throw e;
      }
    });
  cmd
    .command('docs')
    .description('Print the config reference (docs/config.md) generated from the schema')
    .action(() => {
      process.stdout.write(renderConfigDocs());
    });
}
