/*
 * Test helpers for the language catalogers: an in-memory FileTree, fixture
 * loading, and a minimal ELF writer for the layouts no committed binary has
 * (Go's pre-1.18 pointer-format build info, hostile headers).
 */
import { readFileSync } from 'node:fs';
import { crc32, deflateRawSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import type { FileTree, ImageFile } from '../../types.js';

/** test/fixtures/scan-lang, found from the compiled file's location (.build-x/src/scan/catalog/lang). */
export const FIXTURES = fileURLToPath(new URL('../../../../../test/fixtures/scan-lang/', import.meta.url));

/** A fixture file's bytes. */
export function fixture(relative: string): Buffer {
  return readFileSync(FIXTURES + relative);
}

/** An image file with the given content (regular, rw-r--r-- unless `mode` says otherwise). */
export function imageFile(path: string, content: Buffer | string, mode = 0o644): ImageFile {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  return { path, size: bytes.length, mode, layer: 'sha256:' + 'ab'.repeat(32), content: bytes };
}

/** A FileTree holding exactly `files` (no symlinks). */
export function memTree(files: ImageFile[]): FileTree {
  const byPath = new Map(files.map((f) => [f.path, f]));
  return {
    get: (path) => byPath.get(path),
    list: (match) => [...byPath.values()].filter((f) => match(f.path)).sort((a, b) => (a.path < b.path ? -1 : 1)),
  };
}

/** Collects warnings for assertions. */
export function warnings(): { warn: (m: string) => void; messages: string[] } {
  const messages: string[] = [];
  return { warn: (m) => messages.push(m), messages };
}

/** `name@version` of each package, sorted. */
export function ids(packages: { name: string; version: string }[]): string[] {
  return packages.map((p) => `${p.name}@${p.version}`).sort();
}

export interface TestSegment {
  vaddr: number;
  /** PF_X = 1, PF_W = 2, PF_R = 4. */
  flags: number;
  bytes: Buffer;
}

/**
 * An ELF executable with the given PT_LOAD segments and, when `sections`
 * names them, one section header per named segment (same address and bytes).
 */
export function buildElf(opts: { bits: 32 | 64; littleEndian: boolean; segments: TestSegment[]; sections?: Record<string, number> }): Buffer {
  const { bits, littleEndian: le } = opts;
  const is64 = bits === 64;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const sectionNames = Object.keys(opts.sections ?? {});
  const strtab = Buffer.from(['', '.shstrtab', ...sectionNames].join('\0') + '\0', 'latin1');
  let offset = ehsize + phentsize * opts.segments.length;
  const segOffsets = opts.segments.map((s) => {
    offset = Math.ceil(offset / 16) * 16;
    const at = offset;
    offset += s.bytes.length;
    return at;
  });
  const strtabOffset = offset;
  offset += strtab.length;
  const shoff = Math.ceil(offset / 8) * 8;
  const shnum = sectionNames.length ? sectionNames.length + 2 : 0;
  const out = Buffer.alloc(shoff + shnum * shentsize);
  const u16 = (v: number, at: number) => (le ? out.writeUInt16LE(v, at) : out.writeUInt16BE(v, at));
  const u32 = (v: number, at: number) => (le ? out.writeUInt32LE(v, at) : out.writeUInt32BE(v, at));
  const word = (v: number, at: number) => (is64 ? (le ? out.writeBigUInt64LE(BigInt(v), at) : out.writeBigUInt64BE(BigInt(v), at)) : u32(v, at));
  out.write('\x7fELF', 0, 'latin1');
  out[4] = is64 ? 2 : 1;
  out[5] = le ? 1 : 2;
  out[6] = 1;
  u16(2, 16); // ET_EXEC
  u32(1, 20);
  word(ehsize, is64 ? 32 : 28); // e_phoff
  word(shnum ? shoff : 0, is64 ? 40 : 32); // e_shoff
  u16(ehsize, is64 ? 52 : 40);
  u16(phentsize, is64 ? 54 : 42);
  u16(opts.segments.length, is64 ? 56 : 44);
  u16(shentsize, is64 ? 58 : 46);
  u16(shnum, is64 ? 60 : 48);
  u16(shnum ? 1 : 0, is64 ? 62 : 50);
  opts.segments.forEach((s, i) => {
    const at = ehsize + i * phentsize;
    const segOffset = segOffsets[i] ?? 0;
    s.bytes.copy(out, segOffset);
    u32(1, at); // PT_LOAD
    if (is64) {
      u32(s.flags, at + 4);
      word(segOffset, at + 8);
      word(s.vaddr, at + 16);
      word(s.vaddr, at + 24);
      word(s.bytes.length, at + 32);
      word(s.bytes.length, at + 40);
    } else {
      word(segOffset, at + 4);
      word(s.vaddr, at + 8);
      word(s.vaddr, at + 12);
      word(s.bytes.length, at + 16);
      word(s.bytes.length, at + 20);
      u32(s.flags, at + 24);
    }
  });
  strtab.copy(out, strtabOffset);
  const section = (index: number, nameOffset: number, type: number, addr: number, fileOffset: number, size: number) => {
    const at = shoff + index * shentsize;
    u32(nameOffset, at);
    u32(type, at + 4);
    if (is64) {
      word(addr, at + 16);
      word(fileOffset, at + 24);
      word(size, at + 32);
    } else {
      word(addr, at + 12);
      word(fileOffset, at + 16);
      word(size, at + 20);
    }
  };
  if (shnum) {
    section(1, 1, 3, 0, strtabOffset, strtab.length); // .shstrtab, SHT_STRTAB
    let nameOffset = 1 + '.shstrtab'.length + 1;
    sectionNames.forEach((name, i) => {
      const segIndex = opts.sections?.[name] ?? 0;
      const seg = opts.segments[segIndex];
      section(i + 2, nameOffset, 1, seg?.vaddr ?? 0, segOffsets[segIndex] ?? 0, seg?.bytes.length ?? 0);
      nameOffset += name.length + 1;
    });
  }
  return out;
}

const MODINFO_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const MODINFO_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');

/**
 * A data segment holding Go 1.13-1.17 pointer-format build info at `vaddr`:
 * the header, two Go string headers, then the version and the module info
 * framed by the sentinels cmd/go writes around it.
 */
export function goPointerBuildInfo(bits: 32 | 64, littleEndian: boolean, vaddr: number, goVersion: string, modinfo: string): Buffer {
  const ptr = bits / 8;
  const version = Buffer.from(goVersion);
  const mod = Buffer.concat([MODINFO_START, Buffer.from(modinfo), MODINFO_END]);
  const headers = 32;
  const strings = headers + 4 * ptr;
  const out = Buffer.alloc(strings + version.length + mod.length);
  out.write('\xff Go buildinf:', 0, 'latin1');
  out[14] = ptr;
  out[15] = littleEndian ? 0 : 1;
  const word = (v: number, at: number) =>
    ptr === 8
      ? littleEndian ? out.writeBigUInt64LE(BigInt(v), at) : out.writeBigUInt64BE(BigInt(v), at)
      : littleEndian ? out.writeUInt32LE(v, at) : out.writeUInt32BE(v, at);
  word(vaddr + headers, 16);
  word(vaddr + headers + 2 * ptr, 16 + ptr);
  word(vaddr + strings, headers);
  word(version.length, headers + ptr);
  word(vaddr + strings + version.length, headers + 2 * ptr);
  word(mod.length, headers + 3 * ptr);
  version.copy(out, strings);
  mod.copy(out, strings + version.length);
  return out;
}

export interface TestZipEntry {
  name: string;
  data: Buffer;
  /** Deflate the data (else store it). */
  deflate?: boolean;
  /** Size to declare instead of the real uncompressed size (a lying header). */
  declaredSize?: number;
}

/** A zip archive (APPNOTE 6.3: local headers, central directory, end record) of the given entries. */
export function buildZip(entries: TestZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const body = e.deflate ? deflateRawSync(e.data) : e.data;
    const size = e.declaredSize ?? e.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc32(e.data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(e.deflate ? 8 : 0, 10);
    central.writeUInt32LE(crc32(e.data), 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
