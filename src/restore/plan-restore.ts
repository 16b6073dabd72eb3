// The restore planner: diff(live tree, target tree) -> a stream of PlanOps. Pure: it reads trees
// through a TreeSource (manifests, never file contents) and decides from them alone, so it is
// tested without a disk. Identical subtree ids are skipped whole, which makes restoring a point
// close to the live state cost time in proportion to what differs.
import { type Entry, EntryFlag, EntryType, LOCKING_FS_FLAGS } from '../model/entry.js';
import { SnapError } from '../model/errors.js';
import type { ExclusionRules } from '../scan/exclusions.js';
import { diffEntries } from './entry-diff.js';
import type { PlanOp } from './plan-types.js';

export interface TreeSource {
  tree(id: Buffer): Promise<Entry[]>;
}

export interface PlanInput {
  source: TreeSource;
  /** The '.' entries (ROOT itself) of the pre-restore point and of the target point. */
  liveRoot: Entry;
  targetRoot: Entry;
  /** Union of the target point's and the current configuration's exclusions. */
  rules: ExclusionRules;
  /** --path: restore only these (paths from ROOT as bytes, "/etc/ssh"); empty = everything. */
  paths?: Buffer[];
}

const SLASH = Buffer.from('/');
const join = (dir: Buffer, name: Buffer): Buffer => Buffer.concat([dir, SLASH, name]);
const isDirWithContents = (e: Entry): boolean => e.type === EntryType.Dir && !(e.flags & EntryFlag.ContentsExcluded) && e.subtree !== null;

class Planner {
  /** Target hardlink groups ("dev:ino" of the target) -> first path and the live inode it kept. */
  private readonly groups = new Map<string, { path: Buffer; liveIno: bigint | null }>();

  constructor(private readonly input: PlanInput) {}

  private async children(e: Entry | null): Promise<Entry[]> {
    return e && isDirWithContents(e) ? this.input.source.tree(e.subtree!) : [];
  }

  private protectedPath(path: Buffer, name: Buffer, isDir: boolean): boolean {
    return this.input.rules.verdict(path.toString('latin1'), name.toString('latin1'), isDir) !== 'keep';
  }

  /** Ops for one name. Returns through `out` so callers know whether anything changed. */
  async *diffName(path: Buffer, live: Entry | null, target: Entry | null): AsyncGenerator<PlanOp> {
    const name = (target ?? live)!.name;
    const isDir = (target ?? live)!.type === EntryType.Dir;
    if (this.protectedPath(path, name, isDir) || (live && live.type === EntryType.Dir && live.flags & EntryFlag.ContentsExcluded)) {
      // Excluded paths, databases, mounts and the repository: never touched; only a missing one is
      // created (a fresh filesystem still needs /proc, /dev... as mount points).
      if (!live && target) yield* this.createTree(path, target, false);
      return;
    }
    if (!target) return yield* this.deleteTree(path, live!, false);
    if (!live) return yield* this.createTree(path, target, false);
    if (live.type !== target.type) {
      yield* this.deleteTree(path, live, true);
      return yield* this.createTree(path, target, true);
    }
    if (target.type === EntryType.Dir) return yield* this.diffDir(path, live, target);

    const reasons = diffEntries(live, target);
    const group = target.nlink > 1 ? `${target.dev}:${target.ino}` : null;
    const first = group ? this.groups.get(group) : undefined;
    if (first) {
      // A later name of a target hardlink group: fine only if it is already the same live inode.
      if (first.liveIno === null || first.liveIno !== live.ino || reasons.length > 0) {
        if (live.fsFlags & LOCKING_FS_FLAGS) yield { op: 'unlock', path, live };
        yield { op: 'link', path, entry: target, to: first.path, live };
      }
      return;
    }
    const splitLink = live.nlink > 1 && target.nlink === 1; // live name shares an inode the target does not
    if (reasons.length > 0 && live.fsFlags & LOCKING_FS_FLAGS) yield { op: 'unlock', path, live };
    if (reasons.includes('content') || splitLink) {
      yield { op: 'replace', path, entry: target, live, reasons: reasons.includes('content') ? reasons : ['content', ...reasons] };
      if (group) this.groups.set(group, { path, liveIno: null });
    } else {
      if (reasons.length > 0) yield { op: 'meta', path, entry: target, live, reasons };
      if (group) this.groups.set(group, { path, liveIno: live.ino });
    }
  }

  private async *diffDir(path: Buffer, live: Entry, target: Entry): AsyncGenerator<PlanOp> {
    const reasons = diffEntries(live, target);
    let childOps = 0;
    if (live.subtree === null || target.subtree === null || !live.subtree.equals(target.subtree)) {
      const unlock: PlanOp | null = live.fsFlags & LOCKING_FS_FLAGS ? { op: 'unlock', path, live } : null;
      const [l, t] = await Promise.all([this.children(live), this.children(target)]);
      let i = 0;
      let j = 0;
      while (i < l.length || j < t.length) {
        const cmp = i >= l.length ? 1 : j >= t.length ? -1 : Buffer.compare(l[i]!.name, t[j]!.name);
        const le = cmp <= 0 ? l[i++]! : null;
        const te = cmp >= 0 ? t[j++]! : null;
        for await (const op of this.diffName(join(path, (te ?? le)!.name), le, te)) {
          if (childOps++ === 0 && unlock) yield unlock;
          yield op;
        }
      }
    }
    // Changes below a directory move its mtime: its metadata is re-applied after them.
    if (reasons.length > 0 || childOps > 0) yield { op: 'meta', path, entry: target, live, reasons: reasons.length > 0 ? reasons : ['mtime'] };
  }

  private async *createTree(path: Buffer, target: Entry, retype: boolean): AsyncGenerator<PlanOp> {
    if (target.type !== EntryType.Dir) {
      const group = target.nlink > 1 ? `${target.dev}:${target.ino}` : null;
      const first = group ? this.groups.get(group) : undefined;
      if (first) return yield { op: 'link', path, entry: target, to: first.path, live: null };
      if (group) this.groups.set(group, { path, liveIno: null });
      return yield { op: 'create', path, entry: target, retype };
    }
    yield { op: 'mkdir', path, entry: target, retype };
    for (const child of await this.children(target)) {
      const childPath = join(path, child.name);
      if (this.protectedPath(childPath, child.name, child.type === EntryType.Dir) && child.type !== EntryType.Dir) continue;
      yield* this.createTree(childPath, child, false);
    }
    yield { op: 'meta', path, entry: target, live: null, reasons: [], created: true };
  }

  private async *deleteTree(path: Buffer, live: Entry, quiet: boolean): AsyncGenerator<PlanOp> {
    if (live.fsFlags & LOCKING_FS_FLAGS) yield { op: 'unlock', path, live };
    for (const child of await this.children(live)) {
      const childPath = join(path, child.name);
      // Something that must stay (a database, a mount point) keeps its parents too.
      if (this.protectedPath(childPath, child.name, child.type === EntryType.Dir)) continue;
      yield* this.deleteTree(childPath, child, quiet);
    }
    yield { op: 'delete', path, live, quiet };
  }

  async *planAll(): AsyncGenerator<PlanOp> {
    const { liveRoot, targetRoot } = this.input;
    yield* this.diffDir(Buffer.alloc(0), liveRoot, targetRoot);
  }

  /** --path: only P, with its parents left as they are (their mtime is put back afterwards). */
  async *planPath(p: Buffer): AsyncGenerator<PlanOp> {
    const parts = p.toString('latin1').split('/').filter((s) => s !== '' && s !== '.');
    if (parts.length === 0) return yield* this.planAll();
    if (parts.includes('..')) throw new SnapError('USAGE', `--path ${p.toString()}: '..' is not allowed`);
    let live: Entry | null = this.input.liveRoot;
    let target: Entry | null = this.input.targetRoot;
    let parentLive: Entry | null = null;
    let path: Buffer = Buffer.alloc(0);
    for (const part of parts) {
      const name = Buffer.from(part, 'latin1');
      parentLive = live;
      path = join(path, name);
      const l: Entry[] = await this.children(live);
      const t: Entry[] = await this.children(target);
      live = l.find((e) => e.name.equals(name)) ?? null;
      target = t.find((e) => e.name.equals(name)) ?? null;
    }
    if (!parentLive || parentLive.type !== EntryType.Dir) {
      throw new SnapError('USAGE', `--path ${p.toString()}: its parent directory does not exist now; restore the parent instead`);
    }
    if (!live && !target) throw new SnapError('USAGE', `--path ${p.toString()} exists neither now nor in the restore point`);
    let changed = 0;
    const parent = path.subarray(0, path.lastIndexOf(0x2f));
    for await (const op of this.diffName(path, live, target)) {
      if (changed++ === 0 && parentLive.fsFlags & LOCKING_FS_FLAGS) yield { op: 'unlock', path: parent, live: parentLive };
      yield op;
    }
    if (changed > 0) yield { op: 'parent-mtime', path: parent, live: parentLive };
  }
}

export async function* planRestore(input: PlanInput): AsyncGenerator<PlanOp> {
  const planner = new Planner(input);
  if (!input.paths || input.paths.length === 0) return yield* planner.planAll();
  for (const p of input.paths) yield* planner.planPath(p);
}
