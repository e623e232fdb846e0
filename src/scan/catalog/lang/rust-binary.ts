/*
 * Crates compiled into Rust executables built with cargo-auditable, which
 * embeds the dependency tree as zlib-compressed JSON in an ELF section named
 * `.dep-v0`: {"packages": [{"name", "version", "source", "kind"?, ...}]}
 * (schema: rustsec.org/schemas/cargo-auditable.json). Build-only crates
 * (`kind: "build"`) are not in the binary and workspace crates (`source:
 * "local"`) are the project's own code, so both are left out, as a local
 * crate of a registry crate's name would otherwise draw its advisories.
 */
import { inflateSync } from 'node:zlib';
import type { Cataloger, ImageFile, Package } from '../../types.js';
import { isElf, parseElf, sectionBytes } from './elf.js';
import { FoundPackages, inspectOrNothing, isExecutableCandidate, isRecord, str } from './lang-package.js';

/** The JSON of real binaries is tens of KiB; this bounds a compression bomb. */
const MAX_JSON_SIZE = 16 * 1024 * 1024;

/** The audit data's JSON; undefined when the section is absent, does not inflate within the limit, or is not JSON. */
function auditJson(data: Buffer): unknown {
  const elf = parseElf(data);
  const section = elf && sectionBytes(elf, '.dep-v0');
  if (!section) return undefined;
  try {
    return JSON.parse(inflateSync(section, { maxOutputLength: MAX_JSON_SIZE }).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Crates in one binary's audit data; [] when it has none or it is unreadable. */
export function rustBinaryPackages(file: ImageFile): Package[] {
  if (!isElf(file.content)) return [];
  const json = auditJson(file.content);
  if (!isRecord(json) || !Array.isArray(json.packages)) return [];
  const found = new FoundPackages(file, 'cargo');
  for (const entry of json.packages as unknown[]) {
    if (!isRecord(entry) || entry.kind === 'build' || entry.source === 'local') continue;
    const name = str(entry.name);
    const version = str(entry.version);
    if (name && version) found.add({ name, version });
  }
  return found.list();
}

/** Rust binaries with cargo-auditable data: every executable is inspected, the header cannot tell. */
export const rustBinaryCataloger: Cataloger = {
  name: 'rust-binary',
  select: (_path, size, mode) => (isExecutableCandidate(size, mode) ? 'inspect' : undefined),
  inspect: async (file) => inspectOrNothing(file, rustBinaryPackages),
};
