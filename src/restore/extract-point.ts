// Restores a point into an EMPTY directory: the round-trip path that proves what a point holds
// (the in-place restore builds on the same pieces). Depth first, one decoded tree per level in
// memory; every object is created relative to its parent's fd (O_NOFOLLOW, O_EXCL), so a path
// longer than PATH_MAX works and nothing is ever written outside the target.
import fs from 'node:fs';
import * as sys from '../sys/index.js';
import { type Entry, EntryFlag, EntryType } from '../model/entry.js';
import { idFromHex } from '../model/blob-id.js';
import { SnapError } from '../model/errors.js';
import type { BlobReader } from '../repo/blob-reader.js';
import type { PointRecord } from '../repo/point-record.js';
import { decodeTree } from '../repo/tree-codec.js';
import { applyMeta, type MetaHooks } from './apply-meta.js';

const C = sys.constants;

export interface ExtractStats {
  files: number;
  dirs: number;
  bytes: number;
}

export interface ExtractHooks extends MetaHooks {
  progress(s: ExtractStats): void;
}

const DEV_TYPE_BITS: Partial<Record<EntryType, number>> = {
  [EntryType.CharDev]: C.S_IFCHR,
  [EntryType.BlockDev]: C.S_IFBLK,
  [EntryType.Fifo]: C.S_IFIFO,
};

export class PointExtractor {
  readonly stats: ExtractStats = { files: 0, dirs: 0, bytes: 0 };
  /** "dev:ino" of hardlinked inodes already created -> their path below the target. */
  private readonly links = new Map<string, Buffer>();
  private targetFd = -1;

  constructor(
    private readonly reader: BlobReader,
    private readonly hooks: ExtractHooks,
  ) {}

  async extract(point: PointRecord, target: string): Promise<ExtractStats> {
    this.targetFd = fs.openSync(target, C.O_RDONLY | C.O_DIRECTORY | C.O_CLOEXEC);
    try {
      if (sys.readdirAt(this.targetFd).length > 0) {
        throw new SnapError('USAGE', `restore target ${target} is not empty`, { path: target });
      }
      const top = decodeTree(await this.reader.read(idFromHex(point.root)));
      const rootEntry = top[0];
      if (!rootEntry?.subtree) throw new SnapError('REPO_CORRUPT', `point ${point.id} has no root entry`);
      await this.fillDir(this.targetFd, Buffer.alloc(0), rootEntry.subtree);
      applyMeta({ dirfd: this.targetFd, name: Buffer.from('.'), fd: this.targetFd }, rootEntry, target, this.hooks);
      return this.stats;
    } finally {
      sys.close(this.targetFd);
    }
  }

  private async fillDir(dirfd: number, relPath: Buffer, treeId: Buffer): Promise<void> {
    const entries = decodeTree(await this.reader.read(treeId));
    for (const e of entries) {
      const rel = relPath.length === 0 ? e.name : Buffer.concat([relPath, Buffer.from('/'), e.name]);
      await this.create(dirfd, rel, e);
    }
  }

  private async create(dirfd: number, rel: Buffer, e: Entry): Promise<void> {
    const where = rel.toString();
    switch (e.type) {
      case EntryType.Dir: {
        sys.mkdirat(dirfd, e.name, 0o700);
        const fd = sys.openat(dirfd, e.name, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW | C.O_CLOEXEC);
        try {
          if (!(e.flags & EntryFlag.ContentsExcluded) && e.subtree) await this.fillDir(fd, rel, e.subtree);
          applyMeta({ dirfd, name: e.name, fd }, e, where, this.hooks);
        } finally {
          sys.close(fd);
        }
        this.stats.dirs++;
        break;
      }
      case EntryType.File:
        await this.createFile(dirfd, rel, e, where);
        break;
      case EntryType.Symlink:
        sys.symlinkat(e.target ?? Buffer.alloc(0), dirfd, e.name);
        applyMeta({ dirfd, name: e.name, fd: null }, e, where, this.hooks);
        this.stats.files++;
        break;
      default: {
        if (this.linkExisting(dirfd, e)) break;
        sys.mknodat(dirfd, e.name, DEV_TYPE_BITS[e.type]! | 0o600, e.rdevMajor, e.rdevMinor);
        applyMeta({ dirfd, name: e.name, fd: null }, e, where, this.hooks);
        this.rememberLink(e, rel);
        this.stats.files++;
      }
    }
    this.hooks.progress(this.stats);
  }

  private linkKey(e: Entry): string | null {
    return e.nlink > 1 ? `${e.dev}:${e.ino}` : null;
  }

  /** Second and later names of a hardlinked inode become links to the first. */
  private linkExisting(dirfd: number, e: Entry): boolean {
    const key = this.linkKey(e);
    const first = key ? this.links.get(key) : undefined;
    if (!first) return false;
    sys.linkat(this.targetFd, first, dirfd, e.name, 0);
    this.stats.files++;
    return true;
  }

  private rememberLink(e: Entry, rel: Buffer): void {
    const key = this.linkKey(e);
    if (key) this.links.set(key, rel);
  }

  private async createFile(dirfd: number, rel: Buffer, e: Entry, where: string): Promise<void> {
    if (this.linkExisting(dirfd, e)) return;
    const fd = sys.openat(dirfd, e.name, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_CLOEXEC, 0o600);
    try {
      let chunk = 0;
      for (const ext of e.extents) {
        let pos = ext.offset;
        const end = ext.offset + ext.length;
        while (pos < end) {
          const ref = e.chunks[chunk++];
          if (!ref) throw new SnapError('REPO_CORRUPT', `${where}: content list is shorter than the file`);
          const data = await this.reader.read(ref.id);
          sys.pwriteAll(fd, data, pos);
          pos += data.length;
          this.stats.bytes += data.length;
        }
      }
      // Trailing holes (and empty files with a size) get their length without writing zeros.
      sys.ftruncate(fd, e.size);
      applyMeta({ dirfd, name: e.name, fd }, e, where, this.hooks);
    } finally {
      sys.close(fd);
    }
    this.rememberLink(e, rel);
    this.stats.files++;
  }
}
