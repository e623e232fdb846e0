/**
 * The management commands, thin clients of the server's /api/v1/ (docs/management-api.md).
 * berth.ts registers them with one call.
 */
import type { Command } from 'commander';
import { registerLifecycle } from './lifecycle.js';
import { registerImmutability } from './immutability.js';
import { registerQuota } from './quota.js';
import { registerUsage } from './usage.js';
import { registerGc } from './gc.js';
import { registerAudit } from './audit.js';

export function registerManagementCommands(program: Command): void {
  registerLifecycle(program);
  registerImmutability(program);
  registerQuota(program);
  registerUsage(program);
  registerGc(program);
  registerAudit(program);
}
