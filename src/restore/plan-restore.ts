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

/**
 * Directories whose trees are asked for ahead of the one the planner is in, per directory level.
 * Asked one at a time as the walk reached them, the trees (11k on the bench tree, a round trip to
 * the writer thread each, ~1.5 ms while it also serves file content: 16.7 s of waiting in all)
 * kept the plan barely ahead of the applier; asked ahead, that restore took 0.9x the time
 * (docs/BENCHMARKS.md). A window per level keeps memory at the trees of TREE_READ_AHEAD
 * directories (live and target) times the depth.
 */
export const TREE_READ_AHEAD = 16;

const SLASH = Buffer.from('/');
const join = (dir: Buffer, name: Buffer): Buffer => Buffer.concat([dir, SLASH, name]);
const isDirWithContents = (e: Entry): boolean => e.type === EntryType.Dir && !(e.flags & EntryFlag.ContentsExcluded) && e.subtree !== null;
const ignore = (): void => undefined;

/** A live entry and a target entry of one name (either may be missing). */
type Pair = [live: Entry | null, target: Entry | null];

/** Two directory listings (each sorted by name) merged by name. */
function pairByName(l: Entry[], t: Entry[]): Pair[] {
  const pairs: Pair[] = [];
  let i = 0;
  let j = 0;
  while (i < l.length || j < t.length) {
    const cmp = i >= l.length ? 1 : j >= t.length ? -1 : Buffer.compare(l[i]!.name, t[j]!.name);
    pairs.push([cmp <= 0 ? l[i++]! : null, cmp >= 0 ? t[j++]! : null]);
  }
  return pairs;
}

/** Two directories with the same tree: diffDir skips their contents. */
const sameTree = (live: Entry, target: Entry): boolean => live.subtree !== null && target.subtree !== null && live.subtree.equals(target.subtree);

/** The entries of a pair whose trees diffName will read: none when both are the same tree. */
function descendsInto([live, target]: Pair): (Entry | null)[] {
  if (live?.type === EntryType.Dir && target?.type === EntryType.Dir && sameTree(live, target)) return [];
  return [live, target];
}

class Planner {
  /** Target hardlink groups ("dev:ino" of the target) -> first path and the live inode it kept. */
  private readonly groups = new Map<string, { path: Buffer; liveIno: bigint | null }>();
  /**
   * Trees asked for ahead (TREE_READ_AHEAD), by the entry they belong to; weak, so one the walk
   * never reads (a protected directory) goes with its listing.
   */
  private readonly ahead = new WeakMap<Entry, Promise<Entry[]>>();

  constructor(private readonly input: PlanInput) {}

  private async children(e: Entry | null): Promise<Entry[]> {
    if (!e || !isDirWithContents(e)) return [];
    const asked = this.ahead.get(e);
    if (asked) {
      this.ahead.delete(e);
      return asked;
    }
    return this.input.source.tree(e.subtree!);
  }

  /**
   * A function to call before item k of `items` is walked: it asks for the trees of items k to
   * k + TREE_READ_AHEAD - 1 (those `dirs` names) that were not asked for yet.
   */
  private window<T>(items: readonly T[], dirs: (item: T) => (Entry | null)[]): (k: number) => void {
    let next = 0;
    return (k) => {
      for (; next < items.length && next < k + TREE_READ_AHEAD; next++) {
        for (const e of dirs(items[next]!)) {
          if (!e || !isDirWithContents(e) || this.ahead.has(e)) continue;
          const tree = this.input.source.tree(e.subtree!);
          tree.catch(ignore); // a failure is thrown where the tree is read, if it is
          this.ahead.set(e, tree);
        }
      }
    };
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
    if (!sameTree(live, target)) {
      const unlock: PlanOp | null = live.fsFlags & LOCKING_FS_FLAGS ? { op: 'unlock', path, live } : null;
      const [l, t] = await Promise.all([this.children(live), this.children(target)]);
      const pairs = pairByName(l, t);
      const readAhead = this.window(pairs, descendsInto);
      for (let k = 0; k < pairs.length; k++) {
        readAhead(k);
        const [le, te] = pairs[k]!;
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
    const children = await this.children(target);
    const readAhead = this.window(children, (e) => [e]);
    for (const [k, child] of children.entries()) {
      readAhead(k);
      const childPath = join(path, child.name);
      if (this.protectedPath(childPath, child.name, child.type === EntryType.Dir) && child.type !== EntryType.Dir) continue;
      yield* this.createTree(childPath, child, false);
    }
    yield { op: 'meta', path, entry: target, live: null, reasons: [], created: true };
  }

  private async *deleteTree(path: Buffer, live: Entry, quiet: boolean): AsyncGenerator<PlanOp> {
    if (live.fsFlags & LOCKING_FS_FLAGS) yield { op: 'unlock', path, live };
    const children = await this.children(live);
    const readAhead = this.window(children, (e) => [e]);
    for (const [k, child] of children.entries()) {
      readAhead(k);
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
