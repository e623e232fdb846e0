/**
 * The management commands, thin clients of the server's /api/v1/ (docs/management-api.md), and
 * login/logout, which keep the credentials they use. berth.ts registers them with one call.
 */
import type { Command } from 'commander';
import { registerLifecycle } from './lifecycle.js';
import { registerImmutability } from './immutability.js';
import { registerQuota } from './quota.js';
import { registerUsage } from './usage.js';
import { registerGc } from './gc.js';
import { registerAudit } from './audit.js';
import { registerLogin } from './login.js';
import { registerUser } from './user.js';
import { registerProject } from './project.js';
import { registerRobot } from './robot.js';

export function registerManagementCommands(program: Command): void {
  registerLogin(program);
  registerUser(program);
  registerProject(program);
  registerRobot(program);
  registerLifecycle(program);
  registerImmutability(program);
  registerQuota(program);
  registerUsage(program);
  registerGc(program);
  registerAudit(program);
}
