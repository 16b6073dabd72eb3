// Test-tree helpers for bench/e2e.sh and bench/many-files.sh (run as dist/bench/tree-tools.js):
//   make-logs TREE               five 20 MiB text logs under TREE/var/log/rp-bench (before point 1)
//   churn TREE [--seed N]        one deterministic round of "package upgrade" churn; prints JSON
//   gen-many DIR --count N       N small unique files (0..2 KiB), 1000 per directory
// Only ever operates below the directory it is given, and refuses '/' itself: the trees are
// copies under a temp directory, never the machine's real root.
import fs from 'node:fs';
import path from 'node:path';
import { Prng, randomBytes, textBytes } from './data-gen.js';

const MiB = 1024 * 1024;
export const LOG_DIR = 'var/log/rp-bench';
const LOG_COUNT = 5;
const LOG_BYTES = 20 * MiB;

const TEXT_EXT = /\.(py|txt|h|hpp|hh|c|cc|html|htm|md|rst|conf|cfg|pl|pm|rb|js|css|xml|json|ini|sh|tcl|el|ya?ml|properties|desktop)$/i;
const SO_NAME = /\.so(\.[0-9]+)*$/;

function die(msg: string): never {
  process.stderr.write(`tree-tools: ${msg}\n`);
  process.exit(2);
}

function safeDir(p: string | undefined): string {
  if (!p) die('missing directory argument');
  const abs = path.resolve(p);
  if (abs === '/' || abs.split('/').filter(Boolean).length < 2) die(`refusing to work on ${abs}: use a copy under a temp dir`);
  return abs;
}

function flag(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v)) die(`${name} needs a number`);
  return v;
}

interface FileInfo {
  rel: string;
  size: number;
}

/** Regular single-link files and all directories below root, in sorted (deterministic) order. */
function walk(root: string, skipRel: string[]): { files: FileInfo[]; dirs: string[] } {
  const files: FileInfo[] = [];
  const dirs: string[] = [];
  const stack = [''];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    dirs.push(rel);
    const names = fs.readdirSync(path.join(root, rel)).sort();
    for (let i = names.length - 1; i >= 0; i--) {
      const childRel = rel ? `${rel}/${names[i]}` : names[i]!;
      if (skipRel.includes(childRel)) continue;
      const st = fs.lstatSync(path.join(root, childRel));
      if (st.isDirectory()) stack.push(childRel);
      else if (st.isFile() && st.nlink === 1) files.push({ rel: childRel, size: st.size });
    }
  }
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  dirs.sort();
  return { files, dirs };
}

function makeLogs(root: string): void {
  const dir = path.join(root, LOG_DIR);
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 1; i <= LOG_COUNT; i++) fs.writeFileSync(path.join(dir, `app${i}.log`), textBytes(LOG_BYTES, 1000 + i));
  process.stdout.write(`${JSON.stringify({ logs: LOG_COUNT, bytes_each: LOG_BYTES, dir: LOG_DIR })}\n`);
}

/** Takes `n` items matching `ok` from a seeded shuffle, never one already used. */
function pick(rng: Prng, pool: FileInfo[], n: number, used: Set<string>, ok: (f: FileInfo) => boolean): FileInfo[] {
  const cands = rng.shuffle(pool.filter((f) => ok(f) && !used.has(f.rel)));
  const out = cands.slice(0, n);
  for (const f of out) used.add(f.rel);
  return out;
}

function churn(root: string, seed: number): void {
  const rng = new Prng(seed);
  const { files, dirs } = walk(root, [LOG_DIR]);
  const used = new Set<string>();
  const summary = {
    seed,
    edited: 0,
    edited_bytes: 0,
    replaced_so: 0,
    replaced_bytes: 0,
    deleted: 0,
    deleted_bytes: 0,
    added: 0,
    added_bytes: 0,
    touched: 0,
    appended_logs: 0,
    appended_bytes: 0,
  };

  // 1. Edit text files in place (same inode): insert a line at a line boundary.
  for (const f of pick(rng, files, 200, used, (x) => TEXT_EXT.test(x.rel) && x.size >= 200 && x.size <= 256 * 1024)) {
    const p = path.join(root, f.rel);
    const buf = fs.readFileSync(p);
    let at = rng.below(buf.length);
    const nl = buf.indexOf(10, at);
    at = nl < 0 ? buf.length : nl + 1;
    const line = Buffer.from(`# rp-bench churn seed=${seed} edit of ${path.basename(f.rel)}\n`);
    fs.writeFileSync(p, Buffer.concat([buf.subarray(0, at), line, buf.subarray(at)]));
    summary.edited++;
    summary.edited_bytes += buf.length + line.length;
  }

  // 2. Replace shared libraries with modified copies (new inode via rename, like dpkg does).
  for (const f of pick(rng, files, 50, used, (x) => SO_NAME.test(x.rel) && x.size >= 8 * 1024 && x.size <= 32 * MiB)) {
    const p = path.join(root, f.rel);
    const st = fs.statSync(p);
    const buf = fs.readFileSync(p);
    // A rebuild changes code in several places; 16 scattered byte flips plus a new tail.
    for (let k = 0; k < 16; k++) {
      const at = rng.below(buf.length);
      buf[at] = buf[at]! ^ 0xff;
    }
    const tmp = path.join(path.dirname(p), `.${path.basename(p)}.rp-bench-new`);
    fs.writeFileSync(tmp, Buffer.concat([buf, randomBytes(4096, seed + summary.replaced_so)]), { mode: st.mode & 0o7777 });
    fs.chmodSync(tmp, st.mode & 0o7777);
    fs.renameSync(tmp, p);
    summary.replaced_so++;
    summary.replaced_bytes += buf.length + 4096;
  }

  // 3. Delete files.
  for (const f of pick(rng, files, 300, used, () => true)) {
    fs.unlinkSync(path.join(root, f.rel));
    summary.deleted++;
    summary.deleted_bytes += f.size;
  }

  // 4. Add files of mixed sizes (64 B .. 4 MiB, log-uniform), half text-like, half incompressible:
  //    200 spread over existing directories, 100 in a new directory.
  const newDir = 'usr/lib/rp-bench-added';
  fs.mkdirSync(path.join(root, newDir), { recursive: true });
  const candidateDirs = dirs.filter((d) => d !== '' && !d.startsWith(LOG_DIR));
  for (let i = 0; i < 300; i++) {
    const dir = i < 200 ? candidateDirs[rng.below(candidateDirs.length)]! : newDir;
    const size = rng.logUniform(64, 4 * MiB);
    const text = i % 2 === 0;
    const data = text ? textBytes(size, seed * 1000 + i) : randomBytes(size, seed * 1000 + i);
    fs.writeFileSync(path.join(root, dir, `rp-bench-new-${i}.${text ? 'txt' : 'bin'}`), data);
    summary.added++;
    summary.added_bytes += size;
  }

  // 5. Touch mtimes only (content unchanged): +1 hour.
  for (const f of pick(rng, files, 500, used, () => true)) {
    const p = path.join(root, f.rel);
    const st = fs.statSync(p);
    fs.utimesSync(p, st.atime, new Date(st.mtimeMs + 3600_000));
    summary.touched++;
  }

  // 6. Append 1 MiB to each log.
  for (let i = 1; i <= LOG_COUNT; i++) {
    const p = path.join(root, LOG_DIR, `app${i}.log`);
    if (!fs.existsSync(p)) continue;
    fs.appendFileSync(p, textBytes(MiB, seed * 10 + i));
    summary.appended_logs++;
    summary.appended_bytes += MiB;
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

function genMany(root: string, count: number, perDir: number, seed: number): void {
  fs.mkdirSync(root, { recursive: true });
  const pool = Buffer.concat([randomBytes(2048, seed), textBytes(2048, seed + 1)]);
  const rng = new Prng(seed);
  let bytes = 0;
  let dirPath = '';
  for (let i = 0; i < count; i++) {
    if (i % perDir === 0) {
      dirPath = path.join(root, `d${String(Math.floor(i / perDir)).padStart(5, '0')}`);
      fs.mkdirSync(dirPath, { recursive: true });
    }
    const size = rng.below(2049);
    const off = rng.below(2048);
    const data = Buffer.from(pool.subarray(off, off + size));
    // Unique content per file (its index in the first bytes): no dedup shortcut for anyone.
    if (size >= 8) data.writeUInt32LE(i, 0);
    fs.writeFileSync(path.join(dirPath, `f${String(i % perDir).padStart(4, '0')}`), data);
    bytes += size;
    if (i > 0 && i % 100000 === 0) process.stderr.write(`  ${i} files\n`);
  }
  process.stdout.write(`${JSON.stringify({ files: count, dirs: Math.ceil(count / perDir), bytes })}\n`);
}

const [cmd, dir, ...rest] = process.argv.slice(2);
switch (cmd) {
  case 'make-logs':
    makeLogs(safeDir(dir));
    break;
  case 'churn':
    churn(safeDir(dir), flag(rest, '--seed', 42));
    break;
  case 'gen-many':
    genMany(safeDir(dir), flag(rest, '--count', 1_000_000), flag(rest, '--per-dir', 1000), flag(rest, '--seed', 7));
    break;
  default:
    die('usage: tree-tools.js make-logs TREE | churn TREE [--seed N] | gen-many DIR --count N [--per-dir 1000]');
}
