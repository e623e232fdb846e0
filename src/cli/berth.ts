#!/usr/bin/env node
import { Command } from 'commander';

// The AWS SDK warns on every start that future releases need Node 22; berth pins a release that supports 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { registerServe } from './serve.js';
import { registerConfig } from './config.js';
import { registerDb } from './db.js';
import { registerManagementCommands } from './register-management.js';

const program = new Command();
program
  .name('berth')
  .description('berth: a self-hosted OCI container registry')
  .version('0.1.0');
registerServe(program);
registerConfig(program);
registerDb(program);
registerManagementCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`berth: ${(e as Error).message}\n`);
  process.exit(1);
});
