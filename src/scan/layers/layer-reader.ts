/*
 * Reads an image's layers, in order, as streams (never extracted to disk), and
 * applies them as the image-spec's layer.md says:
 *  - "Applying Changesets": an entry replaces what is at its path unless both
 *    are directories; a directory replaced by a file takes its children along.
 *  - "Whiteouts": `.wh.<name>` removes <name> as lower layers left it; an
 *    opaque `.wh..wh..opq` hides every child lower layers left in its
 *    directory. "Whiteout files MUST only apply to resources in lower/parent
 *    layers", whatever their place in the tar, so entries of the same layer
 *    survive them. Other `.wh..wh.` names (AUFS metadata) are ignored.
 *  - Parent directories are resolved through symlinks, as a runtime
 *    extracting the layer would; paths are lexically normalised first and a
 *    `..` above the root is clamped to the root (with a warning).
 * Only what `select` asks for is read: kept files stay in memory, inspected
 * files are handed to `inspect` one at a time and dropped.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, type Header } from 'tar-stream';
import type { FileTree, ImageFile } from '../types.js';
import { ImageTree, joinPath, MAX_SYMLINK_HOPS, splitPath, type LeafNode } from './image-tree.js';
import { layerCompression, tarBytes } from './layer-stream.js';
import { MAX_ZSTD_BLOCK, MAX_ZSTD_WINDOW } from './zstd-stream.js';

/** One layer blob of an image manifest. */
export interface LayerInput {
  digest: string;
  mediaType: string;
  /** The blob's (compressed) bytes. */
  open(): Promise<Readable>;
}

export interface ReadLimits {
  /** Decompressed bytes for the whole image. */
  maxDecompressedBytes: number;
  /** Largest file kept in memory. */
  maxKeptFileBytes: number;
  /** Largest file handed to `inspect`. */
  maxInspectFileBytes: number;
  /** Tar entries for the whole image. */
  maxEntries: number;
}

/** 8 GiB decompressed, 64 MiB per kept file, 512 MiB per inspected file, 2 million entries. */
export const DEFAULT_READ_LIMITS: Readonly<ReadLimits> = {
  maxDecompressedBytes: 8 * 1024 ** 3,
  maxKeptFileBytes: 64 * 1024 ** 2,
  maxInspectFileBytes: 512 * 1024 ** 2,
  maxEntries: 2_000_000,
};

/** Linux's PATH_MAX: longer entry names and symlink targets are skipped. */
const MAX_PATH_BYTES = 4096;
/** Warnings kept; the rest are counted in a last one. */
const MAX_WARNINGS = 200;
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** A layer that cannot be read: its message names the layer digest and what was wrong. */
export class LayerReadError extends Error {
  constructor(
    readonly digest: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(`layer ${digest}: ${problem}`, options);
    this.name = 'LayerReadError';
  }
}

export type Selection = 'keep' | 'inspect' | undefined;

export interface ReadResult<T> {
  /** The kept files of the final image, symlinks resolved inside it. */
  tree: FileTree;
  /** `inspect` results by path, for the inspected files the final image still has. */
  inspected: Map<string, T>;
  warnings: string[];
}

/**
 * Applies `layers` in order and returns the kept files, the `inspect` results
 * of files still present at the end, and warnings (skipped files, clamped
 * paths, unknown media types). Throws LayerReadError for a layer that cannot
 * be opened, is malformed (bad compression, tar headers, truncation) or goes
 * over `maxDecompressedBytes` or `maxEntries`; the signal's reason when
 * aborted; and whatever `inspect` throws.
 */
export async function readLayers<T>(
  layers: LayerInput[],
  select: (path: string, size: number, mode: number) => Selection,
  inspect: (file: ImageFile) => Promise<T>,
  limits?: Partial<ReadLimits>,
  signal?: AbortSignal,
): Promise<ReadResult<T>> {
  const reader = new LayerReader(select, inspect, { ...DEFAULT_READ_LIMITS, ...limits }, signal);
  for (const [index, layer] of layers.entries()) {
    signal?.throwIfAborted();
    await reader.read(layer, index);
  }
  return reader.result();
}

class LayerReader<T> {
  private readonly inspected = new Map<string, T>();
  private readonly tree = new ImageTree((path) => this.inspected.delete(path));
  private readonly warnings: string[] = [];
  private suppressed = 0;
  private entries = 0;
  private readonly bytes: { used: number; max: number };
  private readonly work: { used: number; max: number };

  constructor(
    private readonly select: (path: string, size: number, mode: number) => Selection,
    private readonly inspect: (file: ImageFile) => Promise<T>,
    private readonly limits: ReadLimits,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.bytes = { used: 0, max: limits.maxDecompressedBytes };
    // Legitimate zstd costs at most one window copy per full block: allow that for the whole byte budget.
    this.work = { used: 0, max: limits.maxDecompressedBytes * (MAX_ZSTD_WINDOW / MAX_ZSTD_BLOCK) };
  }

  result(): ReadResult<T> {
    const warnings = [...this.warnings];
    if (this.suppressed > 0) warnings.push(`${this.suppressed} more warnings not shown`);
    return { tree: this.tree, inspected: this.inspected, warnings };
  }

  async read(layer: LayerInput, index: number): Promise<void> {
    const declared = layerCompression(layer.mediaType);
    if (declared === undefined) {
      this.warn(`layer ${layer.digest}: media type ${layer.mediaType} is not a filesystem layer; skipped`);
      return;
    }
    let source: Readable;
    try {
      source = await layer.open();
    } catch (e) {
      throw new LayerReadError(layer.digest, `cannot be opened: ${message(e)}`, { cause: e });
    }
    const exceeded = () =>
      new LayerReadError(layer.digest, `the image decompresses to more than ${this.limits.maxDecompressedBytes} bytes`);
    const bytes = tarBytes(source, { bytes: this.bytes, work: this.work, exceeded }, (found) => {
      if (found !== declared) this.warn(`layer ${layer.digest}: media type says ${declared} but the bytes are ${found}`);
    });
    const tar = extract();
    const piped = pipeline(bytes, tar, { signal: this.signal });
    piped.catch(() => undefined); // the entry loop below reports the same failure
    try {
      // streamx's typings leave the chunk type open; tar-stream entries yield Buffers.
      for await (const entry of tar) await this.apply(entry.header, entry as AsyncIterable<Buffer>, layer.digest, index);
      await piped;
    } catch (e) {
      bytes.destroy();
      tar.destroy();
      if (this.signal?.aborted) throw this.signal.reason;
      if (e instanceof CallerError) throw e.error;
      if (e instanceof LayerReadError) throw e;
      throw new LayerReadError(layer.digest, message(e), { cause: e });
    }
  }

  /** Applies one tar entry; always consumes its bytes. */
  private async apply(header: Header, body: AsyncIterable<Buffer>, digest: string, layer: number): Promise<void> {
    if (++this.entries > this.limits.maxEntries) {
      throw new LayerReadError(digest, `the image has more than ${this.limits.maxEntries} tar entries`);
    }
    const name = header.name;
    if (Buffer.byteLength(name) > MAX_PATH_BYTES) {
      this.warn(`layer ${digest}: entry name of ${Buffer.byteLength(name)} bytes is too long; skipped`);
      return drain(body);
    }
    const { parts, escaped } = splitPath(name);
    if (escaped) this.warn(`layer ${digest}: entry ${JSON.stringify(name)} climbs above the root; read as ${joinPath(parts)}`);
    const base = parts[parts.length - 1];
    if (base === undefined) return drain(body); // the root itself
    if (base.startsWith(WHITEOUT)) {
      this.whiteout(parts, layer, digest);
      return drain(body);
    }
    const at = this.tree.locate(parts, false);
    if (!at) {
      this.warn(`layer ${digest}: ${joinPath(parts)} goes through more than ${MAX_SYMLINK_HOPS} symlinks; skipped`);
      return drain(body);
    }
    // Symlinks in the parents can lengthen a path; the tree's depth stays bounded by PATH_MAX.
    if (joinPath(at.parts).length > MAX_PATH_BYTES) {
      this.warn(`layer ${digest}: ${joinPath(parts)} resolves to a path over ${MAX_PATH_BYTES} bytes; skipped`);
      return drain(body);
    }
    const mode = Number.isFinite(header.mode) ? header.mode : 0;
    switch (header.type) {
      case 'directory':
        if (at.node && at.node.kind !== 'dir') this.tree.remove(at.parts);
        return drain(body);
      case 'file':
      case 'contiguous-file':
        this.tree.remove(at.parts);
        return this.regularFile(at.parts, header.size, mode, body, digest, layer);
      case 'symlink':
        this.tree.remove(at.parts);
        if (!header.linkname || Buffer.byteLength(header.linkname) > MAX_PATH_BYTES) {
          this.warn(`layer ${digest}: symlink ${joinPath(at.parts)} has an empty or over-long target; skipped`);
        } else this.tree.put(at.parts, { kind: 'symlink', layer, target: header.linkname });
        return drain(body);
      case 'link':
        await this.hardLink(at.parts, header.linkname ?? '', mode, digest, layer);
        return drain(body);
      default:
        this.tree.remove(at.parts); // devices and FIFOs replace what was there, and hold nothing
        return drain(body);
    }
  }

  private whiteout(parts: string[], layer: number, digest: string): void {
    const base = parts[parts.length - 1] as string;
    const parent = parts.slice(0, -1);
    if (base === OPAQUE) {
      const dir = this.tree.locate(parent, true);
      if (dir) this.tree.opaque(dir.parts, layer);
      return;
    }
    if (base.startsWith(WHITEOUT + WHITEOUT)) return; // AUFS metadata (.wh..wh.plnk, .wh..wh.aufs)
    const name = base.slice(WHITEOUT.length);
    if (name === '' || name === '.' || name === '..') {
      this.warn(`layer ${digest}: whiteout ${joinPath(parts)} names nothing; ignored`);
      return;
    }
    const at = this.tree.locate([...parent, name], false);
    if (at) this.tree.whiteout(at.parts, layer);
  }

  private async regularFile(
    parts: string[],
    size: number,
    mode: number,
    body: AsyncIterable<Buffer>,
    digest: string,
    layer: number,
  ): Promise<void> {
    const path = joinPath(parts);
    const choice = await call(() => this.select(path, size, mode));
    if (!choice) return drain(body);
    const max = choice === 'keep' ? this.limits.maxKeptFileBytes : this.limits.maxInspectFileBytes;
    if (size > max) {
      this.warn(`layer ${digest}: ${path} has ${size} bytes, over the ${max}-byte limit to ${choice} a file; skipped`);
      return drain(body);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk);
    await this.record(parts, choice, { path, size, mode, layer: digest, content: Buffer.concat(chunks) }, layer);
  }

  /** Keeps `file` or inspects it, and records it at `parts`. */
  private async record(parts: string[], choice: 'keep' | 'inspect', file: ImageFile, layer: number): Promise<void> {
    if (choice === 'keep') {
      this.tree.put(parts, { kind: 'file', layer, file });
      return;
    }
    const result = await call(() => this.inspect(file));
    this.tree.put(parts, { kind: 'inspected', layer, path: file.path, size: file.size, mode: file.mode });
    this.inspected.set(file.path, result);
  }

  /**
   * A hard link is another name for the file its target names (a path in the
   * image, lower layers included): it gets the target's bytes or inspect
   * result when those were kept, else a warning if `select` wanted it.
   */
  private async hardLink(parts: string[], linkname: string, mode: number, digest: string, layer: number): Promise<void> {
    const path = joinPath(parts);
    const target = this.tree.locate(splitPath(linkname).parts, false)?.node;
    const result = target?.kind === 'inspected' ? this.inspected.get(target.path) : undefined;
    this.tree.remove(parts);
    if (target?.kind === 'symlink') {
      this.tree.put(parts, { ...target, layer });
      return;
    }
    const meta = target?.kind === 'file' ? target.file : target?.kind === 'inspected' ? target : { size: 0, mode };
    const choice = await call(() => this.select(path, meta.size, meta.mode));
    if (!choice) return;
    if (target?.kind === 'file') {
      await this.record(parts, choice, { ...target.file, path, layer: digest }, layer);
    } else if (target?.kind === 'inspected' && choice === 'inspect' && this.inspected.has(target.path)) {
      const leaf: LeafNode = { kind: 'inspected', layer, path, size: target.size, mode: target.mode };
      this.tree.put(parts, leaf);
      this.inspected.set(path, result as T);
    } else {
      this.warn(`layer ${digest}: hard link ${path} -> ${linkname}: the target's bytes were not kept; skipped`);
    }
  }

  private warn(message: string): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(message);
    else this.suppressed++;
  }
}

async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  for await (const _ of body);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Carries what `select` or `inspect` threw past the stream error handling, unchanged. */
class CallerError {
  constructor(readonly error: unknown) {}
}

async function call<R>(fn: () => R | Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (e) {
    throw new CallerError(e);
  }
}
