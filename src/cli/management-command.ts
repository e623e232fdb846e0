/**
 * What every management command shares: `--server` (with BERTH_SERVER and a default),
 * `--format text|json` where the command prints data, flag parsers that refuse bad values
 * before any request, reading a JSON file to send verbatim, and one error path (`fail`).
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ManagementClient } from '../client/management-client.js';
import { fail } from './output.js';

export const DEFAULT_SERVER = 'http://localhost:5000';

export type Format = 'text' | 'json';

export interface ServerOptions {
  server: string;
}

export interface FormatOptions {
  format: Format;
}

/**
 * A subcommand of `parent` that talks to a berth server: it takes `--server URL`, and
 * `--format text|json` when `format` is set (commands that print data).
 */
export function managementCommand(parent: Command, nameAndArgs: string, description: string, opts: { format?: boolean } = {}): Command {
  const cmd = parent.command(nameAndArgs).description(description);
  cmd.addOption(new Option('--server <url>', 'URL of the berth server').env('BERTH_SERVER').default(DEFAULT_SERVER));
  if (opts.format) cmd.addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'));
  return cmd;
}

export function clientFor(opts: ServerOptions): ManagementClient {
  return new ManagementClient({ server: opts.server });
}

/** Wraps a command action so that any error is reported by `fail` (exit code 1), never as a stack trace. */
export function runAction<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      fail(e);
    }
  };
}

/** Adapts a parser from output.ts to commander, which then names the flag in its error. */
export function flagParser<T>(parse: (text: string) => T): (text: string) => T {
  return (text: string) => {
    try {
      return parse(text);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

/**
 * Reads a JSON document the user wrote and returns its text unchanged, so the server sees (and
 * its error positions refer to) exactly the file; refuses a file that is not JSON, naming it.
 */
export async function readJsonFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  try {
    JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not JSON: ${(e as Error).message}`);
  }
  return text;
}
