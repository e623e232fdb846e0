/*
 * The little of ELF (System V gABI, "Object Files" chapter) the binary
 * catalogers need: the file header, the program headers (to map a virtual
 * address to file bytes, as Go's pointer-format build info requires) and the
 * section headers with their names (`.go.buildinfo`, `.dep-v0`). 32 and 64
 * bit, either byte order; every offset is checked against the buffer.
 */

/** A section header, its name resolved through the section name string table. */
export interface ElfSection {
  name: string;
  type: number;
  /** Virtual address when the section is loaded, else 0. */
  addr: number;
  offset: number;
  size: number;
}

/** A program header (segment). */
export interface ElfSegment {
  type: number;
  /** PF_X = 1, PF_W = 2, PF_R = 4. */
  flags: number;
  vaddr: number;
  offset: number;
  filesz: number;
}

/** An ELF file's headers over its bytes; offsets and sizes are not yet checked against `data` (use the readers below). */
export interface Elf {
  bits: 32 | 64;
  littleEndian: boolean;
  sections: ElfSection[];
  segments: ElfSegment[];
  data: Buffer;
}

export const PT_LOAD = 1;
export const PF_X = 1;
export const PF_W = 2;
const SHT_NOBITS = 8;
const MAX_SECTION_NAME = 256;

/** Reads unsigned integers of the file's width and byte order; undefined past the buffer or above 2^53. */
export class ElfReader {
  constructor(
    readonly data: Buffer,
    readonly bits: 32 | 64,
    readonly littleEndian: boolean,
  ) {}

  /** The 16-bit value at `at`. */
  u16(at: number): number | undefined {
    if (at < 0 || at + 2 > this.data.length) return undefined;
    return this.littleEndian ? this.data.readUInt16LE(at) : this.data.readUInt16BE(at);
  }

  /** The 32-bit value at `at`. */
  u32(at: number): number | undefined {
    if (at < 0 || at + 4 > this.data.length) return undefined;
    return this.littleEndian ? this.data.readUInt32LE(at) : this.data.readUInt32BE(at);
  }

  /** The 64-bit value at `at`, undefined when it is not a safe integer. */
  u64(at: number): number | undefined {
    if (at < 0 || at + 8 > this.data.length) return undefined;
    const v = this.littleEndian ? this.data.readBigUInt64LE(at) : this.data.readBigUInt64BE(at);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  }

  /** An address-sized value (ELF32 Addr/Off are 4 bytes, ELF64 8). */
  word(at: number): number | undefined {
    return this.bits === 64 ? this.u64(at) : this.u32(at);
  }
}

/** True when `data` starts with the ELF magic. */
export function isElf(data: Buffer): boolean {
  return data.length >= 4 && data[0] === 0x7f && data[1] === 0x45 && data[2] === 0x4c && data[3] === 0x46;
}

/**
 * The file's sections and segments; undefined when it is not ELF or its
 * header or header tables do not fit in the buffer. Entries whose own
 * fields are out of range are left out rather than failing the file.
 */
export function parseElf(data: Buffer): Elf | undefined {
  if (!isElf(data) || data.length < 52) return undefined;
  const cls = data[4];
  const enc = data[5];
  if ((cls !== 1 && cls !== 2) || (enc !== 1 && enc !== 2)) return undefined;
  const r = new ElfReader(data, cls === 2 ? 64 : 32, enc === 1);
  const h = r.bits === 64
    ? { phoff: r.u64(32), shoff: r.u64(40), phentsize: r.u16(54), phnum: r.u16(56), shentsize: r.u16(58), shnum: r.u16(60), shstrndx: r.u16(62) }
    : { phoff: r.u32(28), shoff: r.u32(32), phentsize: r.u16(42), phnum: r.u16(44), shentsize: r.u16(46), shnum: r.u16(48), shstrndx: r.u16(50) };
  if (h.phoff === undefined || h.shoff === undefined || h.phentsize === undefined || h.phnum === undefined) return undefined;
  if (h.shentsize === undefined || h.shnum === undefined || h.shstrndx === undefined) return undefined;
  const segments = readTable(data, h.phoff, h.phnum, h.phentsize, r.bits === 64 ? 56 : 32);
  const sectionTable = readTable(data, h.shoff, h.shnum, h.shentsize, r.bits === 64 ? 64 : 40);
  if (!segments || !sectionTable) return undefined;
  const elf: Elf = { bits: r.bits, littleEndian: r.littleEndian, data, segments: [], sections: [] };
  for (const at of segments) {
    const seg = readSegment(r, at);
    if (seg) elf.segments.push(seg);
  }
  const raw = sectionTable.map((at) => readSection(r, at));
  const strtab = raw[h.shstrndx];
  const names = strtab ? sliceOf(data, strtab.offset, strtab.size) : undefined;
  for (const s of raw) {
    if (!s) continue;
    elf.sections.push({ name: names ? cString(names, s.nameOffset) : '', type: s.type, addr: s.addr, offset: s.offset, size: s.size });
  }
  return elf;
}

/** Offsets of `count` table entries, or undefined when the table does not fit or its entries are too small. */
function readTable(data: Buffer, offset: number, count: number, entsize: number, minEntsize: number): number[] | undefined {
  if (count === 0) return [];
  if (entsize < minEntsize || offset + count * entsize > data.length) return undefined;
  return Array.from({ length: count }, (_, i) => offset + i * entsize);
}

function readSegment(r: ElfReader, at: number): ElfSegment | undefined {
  const seg = r.bits === 64
    ? { type: r.u32(at), flags: r.u32(at + 4), offset: r.u64(at + 8), vaddr: r.u64(at + 16), filesz: r.u64(at + 32) }
    : { type: r.u32(at), offset: r.u32(at + 4), vaddr: r.u32(at + 8), filesz: r.u32(at + 16), flags: r.u32(at + 24) };
  const { type, flags, offset, vaddr, filesz } = seg;
  if (type === undefined || flags === undefined || offset === undefined || vaddr === undefined || filesz === undefined) return undefined;
  return { type, flags, offset, vaddr, filesz };
}

function readSection(r: ElfReader, at: number): (Omit<ElfSection, 'name'> & { nameOffset: number }) | undefined {
  const s = r.bits === 64
    ? { nameOffset: r.u32(at), type: r.u32(at + 4), addr: r.u64(at + 16), offset: r.u64(at + 24), size: r.u64(at + 32) }
    : { nameOffset: r.u32(at), type: r.u32(at + 4), addr: r.u32(at + 12), offset: r.u32(at + 16), size: r.u32(at + 20) };
  const { nameOffset, type, addr, offset, size } = s;
  if (nameOffset === undefined || type === undefined || addr === undefined || offset === undefined || size === undefined) return undefined;
  return { nameOffset, type, addr, offset, size };
}

/** `data[offset, offset + size)`, or undefined when it is not inside the buffer. */
export function sliceOf(data: Buffer, offset: number, size: number): Buffer | undefined {
  if (offset < 0 || size < 0 || offset + size > data.length) return undefined;
  return data.subarray(offset, offset + size);
}

function cString(table: Buffer, offset: number): string {
  if (offset >= table.length) return '';
  const end = table.indexOf(0, offset);
  const stop = Math.min(end < 0 ? table.length : end, offset + MAX_SECTION_NAME);
  return table.toString('latin1', offset, stop);
}

/** The file bytes of the first section called `name`; undefined when absent, without file bytes, or out of bounds. */
export function sectionBytes(elf: Elf, name: string): Buffer | undefined {
  const s = elf.sections.find((x) => x.name === name);
  if (!s || s.type === SHT_NOBITS) return undefined;
  return sliceOf(elf.data, s.offset, s.size);
}

/** `length` bytes at virtual address `addr`, read through the PT_LOAD segment that holds them all. */
export function readVirtual(elf: Elf, addr: number, length: number): Buffer | undefined {
  for (const seg of elf.segments) {
    if (seg.type !== PT_LOAD || addr < seg.vaddr || addr + length > seg.vaddr + seg.filesz) continue;
    return sliceOf(elf.data, seg.offset + (addr - seg.vaddr), length);
  }
  return undefined;
}
