import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Tree = { [k: string]: unknown };

/** Every leaf key path of the schema, e.g. ['registry','delete','enabled']. */
export function schemaLeaves(schema: z.ZodType = ConfigSchema, prefix: string[] = []): { path: string[]; schema: z.ZodType }[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([k, v]) => schemaLeaves(v, [...prefix, k]));
  }
  return [{ path: prefix, schema }];
}

function unwrap(s: z.ZodType): z.ZodType {
  let cur: z.ZodType = s;
  for (let i = 0; i < 10; i++) {
    const def = (cur as unknown as { def: { type: string; innerType?: z.ZodType } }).def;
    if ((def.type === 'default' || def.type === 'optional' || def.type === 'prefault' || def.type === 'nullable') && def.innerType) {
      cur = def.innerType;
    } else break;
  }
  return cur;
}

/** BERTH_ + upper-cased key path joined by '_' (storage.filesystem.root -> BERTH_STORAGE_FILESYSTEM_ROOT). */
export function envName(path: string[]): string {
  return 'BERTH_' + path.map((p) => p.toUpperCase()).join('_');
}

function coerce(leaf: z.ZodType, raw: string): unknown {
  const inner = unwrap(leaf);
  if (inner instanceof z.ZodBoolean) {
    if (/^(true|1|yes|on)$/i.test(raw)) return true;
    if (/^(false|0|no|off)$/i.test(raw)) return false;
    return raw;
  }
  if (inner instanceof z.ZodNumber || inner instanceof z.ZodLiteral) {
    const n = Number(raw);
    return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
  }
  return raw;
}

function setPath(tree: Tree, path: string[], value: unknown): void {
  let cur = tree;
  for (const k of path.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Tree;
  }
  cur[path[path.length - 1]!] = value;
}

function deepMerge(a: Tree, b: Tree): Tree {
  const out: Tree = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)) {
      out[k] = deepMerge(prev as Tree, v as Tree);
    } else out[k] = v;
  }
  return out;
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Already-structured overrides from flags, e.g. { listen: '...', data: '...' }. */
  flags?: Tree;
}

/** Parses YAML text of a config file into a raw tree, with problems naming the file. */
export function parseConfigText(text: string, source: string): Tree {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ConfigError([`${source}: not valid YAML: ${(e as Error).message}`]);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError([`${source}: must be a YAML mapping`]);
  const tree = doc as Tree;
  if (tree.version !== 1) throw new ConfigError([`${source}: version: must be 1 (found ${JSON.stringify(tree.version)})`]);
  return tree;
}

/** Validates a merged raw tree; every problem is reported with its key path. */
export function validateConfig(tree: Tree): Config {
  const r = ConfigSchema.safeParse(tree);
  if (!r.success) {
    throw new ConfigError(
      r.error.issues.map((i) => {
        const path = i.path.join('.') || '(root)';
        const keys = (i as { keys?: string[] }).keys;
        return keys ? `${path}: unknown key(s) ${keys.join(', ')}` : `${path}: ${i.message}`;
      }),
    );
  }
  return r.data;
}

/** defaults < YAML file < environment (BERTH_*) < flags. Paths are made absolute. */
export async function loadConfig(opts: LoadOptions = {}): Promise<Config> {
  const env = opts.env ?? process.env;
  let tree: Tree = {};
  const file = opts.file ?? env.BERTH_CONFIG;
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new ConfigError([`${file}: cannot read: ${(e as Error).message}`]);
    }
    tree = parseConfigText(text, file);
  }
  const fromEnv: Tree = {};
  for (const leaf of schemaLeaves()) {
    const raw = env[envName(leaf.path)];
    if (raw !== undefined) setPath(fromEnv, leaf.path, coerce(leaf.schema, raw));
  }
  tree = deepMerge(deepMerge(tree, fromEnv), opts.flags ?? {});
  const cfg = validateConfig(tree);
  return resolvePaths(cfg);
}

function resolvePaths(cfg: Config): Config {
  const data = isAbsolute(cfg.data) ? cfg.data : resolve(cfg.data);
  return {
    ...cfg,
    data,
    storage: { ...cfg.storage, filesystem: { root: resolve(data, cfg.storage.filesystem.root ?? 'blobs') } },
    metadata: { ...cfg.metadata, sqlite: { path: resolve(data, cfg.metadata.sqlite.path ?? 'berth.db') } },
  };
}
