// The restore planner is pure: trees in, ops out. Tested here with in-memory trees, no disk.
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { blobId } from '../src/model/blob-id.js';
import { type Entry, EntryFlag, EntryType } from '../src/model/entry.js';
import { decodeTree, encodeTree } from '../src/repo/tree-codec.js';
import { ExclusionRules, BUILTIN_EXCLUDES } from '../src/scan/exclusions.js';
import { planRestore, TREE_READ_AHEAD, type TreeSource } from '../src/restore/plan-restore.js';
import { describeOp, type PlanOp } from '../src/restore/plan-types.js';

type Spec = { [name: string]: Spec | string | Partial<Entry> & { kind?: 'file' | 'link' | 'excluded' } };

class MemoryTrees implements TreeSource {
  readonly trees = new Map<string, Entry[]>();
  loads = 0;
  async tree(id: Buffer): Promise<Entry[]> {
    this.loads++;
    const t = this.trees.get(id.toString('hex'));
    if (!t) throw new Error('missing tree');
    return t.map((e) => ({ ...e }));
  }
  /** A directory entry named `name` whose contents are `spec`. */
  dir(name: string, spec: Spec, extra: Partial<Entry> = {}): Entry {
    const entries = Object.entries(spec).map(([n, v]) => {
      if (typeof v === 'string') return entry(n, { content: v });
      if ('kind' in v || 'type' in v || 'content' in v) return entry(n, v as Partial<Entry>);
      return this.dir(n, v as Spec);
    });
    const raw = encodeTree(entries);
    const id = blobId(raw);
    this.trees.set(id.toString('hex'), decodeTree(raw)); // in name order, as a stored tree is
    return { ...entry(name, {}), type: EntryType.Dir, mode: 0o40755, subtree: id, ...extra };
  }
}

function entry(name: string, o: Partial<Entry> & { content?: string }): Entry {
  const content = o.content ?? '';
  const { content: _c, ...rest } = o;
  return {
    name: Buffer.from(name),
    type: EntryType.File,
    flags: 0,
    mode: 0o100644,
    uid: 0,
    gid: 0,
    mtimeNs: 1000n,
    ctimeNs: 1000n,
    ino: BigInt(name.length),
    dev: 1n,
    nlink: 1,
    size: content.length,
    rdevMajor: 0,
    rdevMinor: 0,
    fsFlags: 0,
    xattrs: [],
    extents: content.length ? [{ offset: 0, length: content.length }] : [],
    chunks: content.length ? [{ id: blobId(Buffer.from(content)), length: content.length }] : [],
    subtree: null,
    target: null,
    ...rest,
  };
}

const rules = new ExclusionRules(BUILTIN_EXCLUDES, ['/var/lib/mysql']);

async function plan(mem: MemoryTrees, live: Entry, target: Entry, paths?: string[]): Promise<string[]> {
  const ops: PlanOp[] = [];
  for await (const op of planRestore({ source: mem, liveRoot: live, targetRoot: target, rules, paths: paths?.map((p) => Buffer.from(p)) })) ops.push(op);
  return ops.map((op) => describeOp(op) ?? `(${op.op} ${op.path.toString() || '/'})`);
}

test('identical trees plan nothing and load no subtree', async () => {
  const mem = new MemoryTrees();
  const a = mem.dir('.', { etc: { passwd: 'x' }, usr: { bin: { sh: 'ELF' } } });
  mem.loads = 0;
  assert.deepEqual(await plan(mem, a, a), []);
  assert.equal(mem.loads, 0);
});

test('content, mode and owner changes, additions and deletions', async () => {
  const mem = new MemoryTrees();
  const live = mem.dir('.', { etc: { passwd: 'new', 'added.conf': 'x', hosts: entry('hosts', { content: 'h', mode: 0o100600 }) } });
  const target = mem.dir('.', { etc: { passwd: 'old', group: 'g', hosts: entry('hosts', { content: 'h', uid: 5 }) } });
  assert.deepEqual(await plan(mem, live, target), [
    '- /etc/added.conf',
    '+ /etc/group',
    '~ /etc/hosts (mode, owner)',
    '~ /etc/passwd (content)',
    '~ /etc (mtime)',
    '~ / (mtime)',
  ]);
});

test('a type change deletes the live subtree bottom-up, then creates top-down', async () => {
  const mem = new MemoryTrees();
  const live = mem.dir('.', { x: { a: 'a', sub: { b: 'b' } } });
  const target = mem.dir('.', { x: 'now a file' });
  assert.deepEqual(await plan(mem, live, target), ['(delete /x/a)', '(delete /x/sub/b)', '(delete /x/sub)', '(delete /x)', '~ /x (type)', '~ / (mtime)']);
});

test('excluded paths and databases are never deleted; missing mount points are created', async () => {
  const mem = new MemoryTrees();
  const live = mem.dir('.', { var: { lib: { mysql: { ibdata1: 'db' } } }, tmp: { scratch: 'x' }, 'app.pid': '123' });
  const proc = { ...mem.dir('proc', {}), flags: EntryFlag.ContentsExcluded };
  const target = mem.dir('.', { var: { lib: {} }, proc: proc as Spec[string] });
  assert.deepEqual(await plan(mem, live, target), ['+ /proc', '(meta /proc)', '~ / (mtime)']);
});

test('immutable files are unlocked before they change', async () => {
  const mem = new MemoryTrees();
  const live = mem.dir('.', { f: entry('f', { content: 'new', fsFlags: 0x10 }) });
  const target = mem.dir('.', { f: entry('f', { content: 'old', fsFlags: 0x10 }) });
  assert.deepEqual(await plan(mem, live, target), ['(unlock /f)', '~ /f (content)', '~ / (mtime)']);
});

test('hardlink groups: a later name not sharing the live inode is linked to the first', async () => {
  const mem = new MemoryTrees();
  const t = (n: string): Entry => entry(n, { content: 'same', nlink: 2, ino: 77n });
  const live = mem.dir('.', { a: entry('a', { content: 'same', nlink: 1, ino: 1n }), b: entry('b', { content: 'same', nlink: 1, ino: 2n }) });
  const target = mem.dir('.', { a: t('a'), b: t('b') });
  assert.deepEqual(await plan(mem, live, target), ['~ /b (hardlink)', '~ / (mtime)']);
});

test('--path plans only that path and puts back its parent mtime', async () => {
  const mem = new MemoryTrees();
  const live = mem.dir('.', { etc: { passwd: 'new', other: 'changed' } });
  const target = mem.dir('.', { etc: { passwd: 'old', other: 'orig' } });
  assert.deepEqual(await plan(mem, live, target, ['/etc/passwd']), ['~ /etc/passwd (content)', '(parent-mtime /etc)']);
  await assert.rejects(plan(mem, live, target, ['/nope/x']), /parent directory does not exist/);
});

/** MemoryTrees answering a tick later, as the writer thread does, counting trees asked and not yet read. */
class SlowTrees extends MemoryTrees {
  outstanding = 0;
  maxOutstanding = 0;
  asked: string[] = [];
  override async tree(id: Buffer): Promise<Entry[]> {
    this.asked.push(id.toString('hex'));
    this.maxOutstanding = Math.max(this.maxOutstanding, ++this.outstanding);
    try {
      await tick();
      return await super.tree(id);
    } finally {
      this.outstanding--;
    }
  }
}

/** A tree `width` directories wide, each with two files and a subdirectory with one. */
function wide(width: number, tag: string): Spec {
  const spec: Spec = {};
  for (let i = 0; i < width; i++) spec[`d${String(i).padStart(3, '0')}`] = { a: `${tag}a${i}`, b: `${tag}b${i}`, sub: { c: `${tag}c${i}` } };
  return spec;
}

test('subtrees are asked for ahead of the walk, within a window, each once; the plan does not depend on it', async () => {
  const fast = new MemoryTrees();
  const slow = new SlowTrees();
  const width = 3 * TREE_READ_AHEAD;
  const plans: string[][] = [];
  for (const mem of [fast, slow]) {
    const live = mem.dir('.', { ...wide(width, 'old'), keep: { same: 'x' } });
    const target = mem.dir('.', { ...wide(width, 'new'), keep: { same: 'x' }, extra: wide(4, 'e') });
    mem.loads = 0;
    plans.push(await plan(mem, live, target));
  }
  assert.deepEqual(plans[1], plans[0], 'the same plan whether trees come at once or later');
  // Per changed directory 3 files, its subdirectory's and its own mtime; per new one 2 + 5 + 2 meta.
  assert.equal(plans[0]!.length, width * 5 + (1 + 4 * 7 + 1) + 1);
  // Every directory that differs, live and target, is read once; `keep` (the same tree) never.
  assert.equal(slow.loads, 2 * (1 + width * 2) + (1 + 4 * 2), `${slow.loads} trees read`);
  assert.equal(new Set(slow.asked).size, slow.asked.length, 'no tree asked for twice');
  assert.ok(slow.maxOutstanding >= TREE_READ_AHEAD, `trees asked ahead (${slow.maxOutstanding} at once)`);
  // One window per level of the walk (here three), each of live and target trees.
  assert.ok(slow.maxOutstanding <= 2 * 3 * TREE_READ_AHEAD, `at most a window per level (${slow.maxOutstanding})`);
});

test('a tree asked ahead that the walk never reads does not fail the plan; one it reads fails it there', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown): void => void unhandled.push(r);
  process.on('unhandledRejection', onUnhandled);
  try {
    const mem = new SlowTrees();
    // A database directory that is in the live tree only is never deleted, so never read: its
    // tree is missing here, as if damaged.
    const db = { ...mem.dir('mysql', {}), subtree: Buffer.alloc(32, 7) };
    const live = mem.dir('.', { var: { lib: { mysql: db as Spec[string], x: 'old' } } });
    const target = mem.dir('.', { var: { lib: { x: 'new' } } });
    assert.deepEqual(await plan(mem, live, target), ['~ /var/lib/x (content)', '~ /var/lib (mtime)', '~ /var (mtime)', '~ / (mtime)']);
    assert.ok(mem.asked.includes(Buffer.alloc(32, 7).toString('hex')), 'the database tree was asked for ahead');

    const broken = { ...mem.dir('b', {}), subtree: Buffer.alloc(32, 9) };
    const target2 = mem.dir('.', { a: { f: 'a' }, b: broken as Spec[string], c: { g: 'c' } });
    const empty = mem.dir('.', {});
    const ops: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const op of planRestore({ source: mem, liveRoot: empty, targetRoot: target2, rules })) ops.push(describeOp(op) ?? op.op);
      })(),
      /missing tree/,
    );
    assert.deepEqual(ops.slice(0, 2), ['+ /a', '+ /a/f'], 'the ops before the damaged tree came first');
    assert.ok(!ops.some((o) => o.includes('/c')), 'nothing after it');
    await tick();
    await tick();
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('a full restore of / advises a reboot; a partial one or another ROOT does not', async () => {
  const { rebootAdvice } = await import('../src/cli/restore-command.js');
  assert.match(rebootAdvice('/', [])!, /^Reboot now: programs that are running .* still use the old versions/);
  assert.equal(rebootAdvice('/', [Buffer.from('/etc')]), null);
  assert.equal(rebootAdvice('/mnt/sysimage', []), null);
});
