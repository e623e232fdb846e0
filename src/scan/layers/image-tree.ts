import type { FileTree, ImageFile } from '../types.js';

/** Symlinks one lookup may follow (Linux's MAXSYMLINKS is 40). */
export const MAX_SYMLINK_HOPS = 40;

/** A directory; only directories on the way to a recorded leaf exist (the tree is sparse). */
interface DirNode {
  kind: 'dir';
  children: Map<string, TreeNode>;
}
/** A kept file and its bytes. */
interface FileNode {
  kind: 'file';
  /** Index of the layer that wrote it (whiteouts only remove leaves of lower layers). */
  layer: number;
  file: ImageFile;
}
/** A file that was handed to `inspect`; its result lives with the reader, keyed by `path`. */
interface InspectedNode {
  kind: 'inspected';
  layer: number;
  path: string;
  size: number;
  mode: number;
}
interface SymlinkNode {
  kind: 'symlink';
  layer: number;
  target: string;
}
export type LeafNode = FileNode | InspectedNode | SymlinkNode;
export type TreeNode = DirNode | LeafNode;

/** Where a path resolved to: its canonical components and what is there (undefined: nothing recorded). */
export interface Location {
  parts: string[];
  node: TreeNode | undefined;
}

/**
 * Splits a path into components, resolving `.` and `..` lexically. A `..` at
 * the root stays at the root (`escaped` says it happened): nothing ever names
 * a place outside the image.
 */
export function splitPath(path: string): { parts: string[]; escaped: boolean } {
  const parts: string[] = [];
  let escaped = false;
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length > 0) parts.pop();
      else escaped = true;
      continue;
    }
    parts.push(p);
  }
  return { parts, escaped };
}

/** The absolute path of canonical components: `/` for none. */
export function joinPath(parts: readonly string[]): string {
  return '/' + parts.join('/');
}

/**
 * The image's filesystem as far as the scanner needs it: kept files, inspected
 * files and every symlink, in a tree of directories. Symlinks resolve inside
 * the tree only: `..` stops at the root and absolute targets start from the
 * image root, so no lookup can leave the image. `onDrop` is told the path of
 * every inspected file that a later change removes.
 */
export class ImageTree implements FileTree {
  private readonly root: DirNode = { kind: 'dir', children: new Map() };

  constructor(private readonly onDrop: (path: string) => void) {}

  /** The kept file at `path`, following symlinks (at most MAX_SYMLINK_HOPS); undefined otherwise. */
  get(path: string): ImageFile | undefined {
    const node = this.locate(splitPath(path).parts, true)?.node;
    return node?.kind === 'file' ? node.file : undefined;
  }

  /** Every kept file whose path satisfies `match`, sorted by path. */
  list(match: (path: string) => boolean): ImageFile[] {
    const out: ImageFile[] = [];
    const stack: DirNode[] = [this.root];
    for (let dir = stack.pop(); dir; dir = stack.pop()) {
      for (const child of dir.children.values()) {
        if (child.kind === 'dir') stack.push(child);
        else if (child.kind === 'file' && match(child.file.path)) out.push(child.file);
      }
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /**
   * Resolves `parts` the way the kernel would inside the image: every symlink
   * on the way is followed, the last component only when `followLast`.
   * Undefined when more than MAX_SYMLINK_HOPS symlinks were needed (a loop).
   */
  locate(parts: readonly string[], followLast: boolean): Location | undefined {
    const out: string[] = [];
    // dirs[i] is the directory at out[0..i); undefined once the path leaves the recorded tree.
    const dirs: (DirNode | undefined)[] = [this.root];
    const pending = [...parts].reverse();
    let hops = 0;
    for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
      if (name === '' || name === '.') continue;
      if (name === '..') {
        if (out.length > 0) {
          out.pop();
          dirs.pop();
        }
        continue;
      }
      const node = dirs[dirs.length - 1]?.children.get(name);
      const last = pending.length === 0;
      if (node?.kind === 'symlink' && (followLast || !last)) {
        if (++hops > MAX_SYMLINK_HOPS) return undefined;
        if (node.target.startsWith('/')) {
          out.length = 0;
          dirs.length = 1;
        }
        const target = node.target.split('/');
        for (let i = target.length - 1; i >= 0; i--) pending.push(target[i] ?? '');
        continue;
      }
      out.push(name);
      dirs.push(node?.kind === 'dir' ? node : undefined);
      if (last) return { parts: out, node };
    }
    // Ended on `.`/`..` or the path was empty: the directory reached.
    return { parts: out, node: dirs[dirs.length - 1] };
  }

  /** Records `leaf` at the canonical path `parts`, replacing whatever was there (and any file in the way). */
  put(parts: readonly string[], leaf: LeafNode): void {
    let dir = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      const name = parts[i] as string;
      let child = dir.children.get(name);
      if (child?.kind !== 'dir') {
        if (child) this.dropAll(child);
        child = { kind: 'dir', children: new Map() };
        dir.children.set(name, child);
      }
      dir = child;
    }
    const name = parts[parts.length - 1];
    if (name === undefined) return;
    const old = dir.children.get(name);
    if (old) this.dropAll(old);
    dir.children.set(name, leaf);
  }

  /** Removes whatever is at the canonical path `parts` (a directory with everything below it). */
  remove(parts: readonly string[]): void {
    const at = this.child(parts);
    if (!at) return;
    this.dropAll(at.node);
    at.parent.children.delete(at.name);
  }

  /** A whiteout (image-spec layer.md): removes what layers below `layer` put at `parts` and below it. */
  whiteout(parts: readonly string[], layer: number): void {
    const at = this.child(parts);
    if (at && this.prune(at.node, layer)) at.parent.children.delete(at.name);
  }

  /** An opaque whiteout: hides every child that layers below `layer` put in the directory at `parts`. */
  opaque(parts: readonly string[], layer: number): void {
    const dir = parts.length === 0 ? this.root : this.child(parts)?.node;
    if (dir?.kind !== 'dir') return;
    for (const [name, child] of dir.children) if (this.prune(child, layer)) dir.children.delete(name);
  }

  /** The node at canonical `parts` with its parent directory (no symlinks followed). */
  private child(parts: readonly string[]): { parent: DirNode; name: string; node: TreeNode } | undefined {
    let dir = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      const next = dir.children.get(parts[i] as string);
      if (next?.kind !== 'dir') return undefined;
      dir = next;
    }
    const name = parts[parts.length - 1];
    const node = name === undefined ? undefined : dir.children.get(name);
    return name !== undefined && node ? { parent: dir, name, node } : undefined;
  }

  /** Removes leaves of layers below `layer` under `node`; true when `node` itself should go. */
  private prune(node: TreeNode, layer: number): boolean {
    if (node.kind !== 'dir') {
      if (node.layer >= layer) return false;
      this.dropAll(node);
      return true;
    }
    for (const [name, child] of node.children) if (this.prune(child, layer)) node.children.delete(name);
    return node.children.size === 0;
  }

  /** Tells `onDrop` about every inspected leaf at or under `node`. */
  private dropAll(node: TreeNode): void {
    const stack: TreeNode[] = [node];
    for (let n = stack.pop(); n; n = stack.pop()) {
      if (n.kind === 'dir') for (const child of n.children.values()) stack.push(child);
      else if (n.kind === 'inspected') this.onDrop(n.path);
    }
  }
}
