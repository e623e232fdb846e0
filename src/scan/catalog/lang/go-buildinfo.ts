/*
 * The build information the Go linker embeds in every binary (the format Go's
 * debug/buildinfo reads): a 32-byte header starting with "\xff Go buildinf:",
 * 16-byte aligned, in the `.go.buildinfo` section or else near the start of
 * the first writable data segment. Byte 14 is the pointer size, byte 15 the
 * flags: bit 1 set (Go 1.18+) means two varint-length strings follow the
 * header inline; otherwise (Go 1.13-1.17) the header holds two pointers to Go
 * string headers (data pointer, length), in the byte order of bit 0.
 * The strings are the toolchain version and the module info, whose text sits
 * between two 16-byte sentinels.
 */
import { PF_W, PF_X, PT_LOAD, readVirtual, sectionBytes, ElfReader, type Elf } from './elf.js';

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const ALIGN = 16;
const HEADER_SIZE = 32;
const FLAG_BIG_ENDIAN = 1;
const FLAG_INLINE = 2;
/** Module info of the largest real binaries is well under 1 MiB. */
const MAX_STRING = 4 * 1024 * 1024;

/** The two strings of a binary's build info. */
export interface GoBuildInfo {
  /** `go1.19.8`, possibly followed by ` X:experiment`. */
  goVersion: string;
  /** The module info text without its sentinels; empty for binaries built outside module mode. */
  modinfo: string;
}

/** A `mod` or `dep` line. */
export interface GoModule {
  path: string;
  version: string;
  /** The `=>` line after the module, when it was replaced. */
  replace?: { path: string; version: string };
}

/** The modules of a module info text. */
export interface GoModInfo {
  main?: GoModule;
  deps: GoModule[];
}

/** The binary's build info; undefined when it has none or any pointer or length leads outside the file. */
export function readGoBuildInfo(elf: Elf): GoBuildInfo | undefined {
  const window = searchWindow(elf);
  if (!window) return undefined;
  const at = findHeader(window);
  if (at === undefined) return undefined;
  const ptrSize = window[at + 14];
  const flags = window[at + 15] ?? 0;
  let strings: [string, string] | undefined;
  if (flags & FLAG_INLINE) {
    strings = inlineStrings(window, at + HEADER_SIZE);
  } else if (ptrSize === 4 || ptrSize === 8) {
    strings = pointerStrings(elf, window.subarray(at), ptrSize, (flags & FLAG_BIG_ENDIAN) === 0);
  }
  if (!strings) return undefined;
  const [goVersion, mod] = strings;
  // Go's reader checks the framing the same way: 16 bytes each side and a final newline before the end sentinel.
  const modinfo = mod.length >= 33 && mod[mod.length - 17] === '\n' ? mod.slice(16, -16) : '';
  return { goVersion, modinfo };
}

/** The `.go.buildinfo` section, or else the first writable, non-executable PT_LOAD segment's bytes. */
function searchWindow(elf: Elf): Buffer | undefined {
  const section = sectionBytes(elf, '.go.buildinfo');
  if (section) return section;
  const seg = elf.segments.find((s) => s.type === PT_LOAD && (s.flags & (PF_X | PF_W)) === PF_W);
  if (!seg) return undefined;
  const end = Math.min(elf.data.length, seg.offset + seg.filesz);
  return seg.offset < end ? elf.data.subarray(seg.offset, end) : undefined;
}

/** Offset of the first 16-byte aligned magic with a whole header after it. */
function findHeader(window: Buffer): number | undefined {
  let from = 0;
  while (from + HEADER_SIZE <= window.length) {
    const i = window.indexOf(MAGIC, from);
    if (i < 0 || i + HEADER_SIZE > window.length) return undefined;
    if (i % ALIGN === 0) return i;
    from = Math.ceil((i + 1) / ALIGN) * ALIGN;
  }
  return undefined;
}

/** Two strings, each a uvarint length and that many bytes. */
function inlineStrings(data: Buffer, at: number): [string, string] | undefined {
  const first = varintString(data, at);
  if (!first) return undefined;
  const second = varintString(data, first.next);
  return second ? [first.value, second.value] : undefined;
}

function varintString(data: Buffer, at: number): { value: string; next: number } | undefined {
  let length = 0;
  let scale = 1;
  let i = at;
  // A uvarint of 10 bytes at most (encoding/binary); lengths past MAX_STRING are refused before they grow.
  for (let n = 0; ; n++) {
    const b = data[i++];
    if (b === undefined || n >= 10) return undefined;
    length += (b & 0x7f) * scale;
    if (length > MAX_STRING) return undefined;
    if (b < 0x80) break;
    scale *= 128;
  }
  if (i + length > data.length) return undefined;
  return { value: data.toString('utf8', i, i + length), next: i + length };
}

/** The version and module info strings the header's two pointers lead to. */
function pointerStrings(elf: Elf, header: Buffer, ptrSize: 4 | 8, littleEndian: boolean): [string, string] | undefined {
  const h = new ElfReader(header, ptrSize === 8 ? 64 : 32, littleEndian);
  const versionAddr = h.word(16);
  const modAddr = h.word(16 + ptrSize);
  if (versionAddr === undefined || modAddr === undefined) return undefined;
  const version = goString(elf, versionAddr, ptrSize, littleEndian);
  const mod = goString(elf, modAddr, ptrSize, littleEndian);
  return version !== undefined && mod !== undefined ? [version, mod] : undefined;
}

/** A Go string header at `addr`: data pointer then length, each pointer-sized. */
function goString(elf: Elf, addr: number, ptrSize: 4 | 8, littleEndian: boolean): string | undefined {
  const header = readVirtual(elf, addr, 2 * ptrSize);
  if (!header) return undefined;
  const r = new ElfReader(header, ptrSize === 8 ? 64 : 32, littleEndian);
  const data = r.word(0);
  const length = r.word(ptrSize);
  if (data === undefined || length === undefined || length > MAX_STRING) return undefined;
  if (length === 0) return '';
  return readVirtual(elf, data, length)?.toString('utf8');
}

/**
 * The modules of a module info text (runtime/debug.BuildInfo's String form):
 * `mod` is the main module, each `dep` a dependency, and `=>` replaces the
 * module on the line before it. Other lines (`path`, `build`) are ignored.
 */
export function parseModInfo(text: string): GoModInfo {
  const info: GoModInfo = { deps: [] };
  let last: GoModule | undefined;
  for (const line of text.split('\n')) {
    const [kind, path, version = ''] = line.split('\t');
    if (!path) continue;
    if (kind === 'mod' || kind === 'dep') {
      last = { path, version };
      if (kind === 'mod') info.main = last;
      else info.deps.push(last);
    } else if (kind === '=>' && last) {
      last.replace = { path, version };
      last = undefined;
    }
  }
  return info;
}

/**
 * The toolchain version as a semantic version the way Go's vulnerability
 * tooling writes it: `go1.19.8` -> `v1.19.8`, `go1.20` -> `v1.20.0`,
 * `go1.21rc2` -> `v1.21.0-rc.2`. Undefined for development builds
 * (`devel go1.22-abc`) and anything else it does not recognise; a
 * GOEXPERIMENT suffix (` X:...`) is dropped.
 */
export function goToolchainSemver(goVersion: string): string | undefined {
  const m = /^go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?$/.exec(goVersion.split(' ')[0] ?? '');
  if (!m) return undefined;
  const [, major, minor, patch = '0', pre, preNumber] = m;
  return `v${major}.${minor}.${patch}${pre ? `-${pre}.${preNumber}` : ''}`;
}
