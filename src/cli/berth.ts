#!/usr/bin/env node
import { Command } from 'commander';

// The AWS SDK warns on every start that future releases need Node 22; berth pins a release that supports 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { BERTH_VERSION } from '../version.js';
import { registerServe } from './serve.js';
import { registerConfig } from './config.js';
import { registerDb } from './db.js';
import { registerScan } from './scan.js';
import { registerManagementCommands } from './register-management.js';
import { registerSigningCommands } from './sign.js';

const program = new Command();
program
  .name('berth')
  .description('berth: a self-hosted OCI container registry')
  .version(BERTH_VERSION);
registerServe(program);
registerConfig(program);
registerDb(program);
registerScan(program);
registerManagementCommands(program);
registerSigningCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`berth: ${(e as Error).message}\n`);
  process.exit(1);
});
