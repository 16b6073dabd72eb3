// bin/install into a temporary --prefix (never the real /cluster): the installed commands run on
// their own copy of the program, a reinstall switches versions and keeps the admin's config,
// uninstall removes only what the installer wrote, and bad input changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT, isolated, runCli } from './helpers/cli.js';
import { assertTreesEqual } from './helpers/tree-compare.js';
import { parseConfig, defaultConfig } from '../src/config/config.js';

const INSTALL_BIN = path.join(PROJECT_ROOT, 'bin/install');

function tmpPrefix(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-install-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every file below `dir` whose bytes mention `needle`. */
function filesMentioning(dir: string, needle: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    if (fs.readFileSync(p).includes(needle)) out.push(p);
  }
  return out;
}

test('install: commands at PREFIX/cluster/bin run their own copy; snapshot and restore work', (t) => {
  const prefix = tmpPrefix(t);
  const r = runCli(INSTALL_BIN, ['--prefix', prefix]);
  assert.equal(r.status, 0, r.stderr);
  const lib = path.join(prefix, 'cluster/lib/restore-points');
  const current = fs.readlinkSync(path.join(lib, 'current'));
  assert.match(r.stdout, new RegExp(`Installed restore points ${current.replace(/\./g, '\\.')}`));

  for (const c of ['system_snapshot', 'system_restore']) {
    const cmd = path.join(prefix, 'cluster/bin', c);
    assert.equal(fs.statSync(cmd).mode & 0o777, 0o755, `${c} is executable`);
    const text = fs.readFileSync(cmd, 'utf8');
    assert.ok(text.includes(`'${process.execPath}'`), `${c} names the node binary (cron's PATH is short)`);
    assert.ok(text.includes(`lib/restore-points/current`) && text.includes(`/bin/${c}"`), `${c} runs the current version`);
    assert.equal(text.includes(prefix), false, `${c} finds the program beside itself, wherever the tree is`);
  }
  // Only what runs: no TypeScript, tests, benchmarks or sources (the commands run from their
  // bundles alone); nothing points back at the checkout.
  const installed = path.join(lib, current);
  for (const absent of ['node_modules/typescript', 'node_modules/tinybench', 'node_modules/node-gyp', 'node_modules/esbuild', 'dist/src', 'dist/test', 'dist/bench', 'src', 'native/src']) {
    assert.equal(fs.existsSync(path.join(installed, absent)), false, `${absent} is not installed`);
  }
  for (const present of ['node_modules/piscina', 'node_modules/commander', 'node_modules/@mongodb-js/zstd', 'native/build/Release/restore_native.node']) {
    assert.ok(fs.existsSync(path.join(installed, present)), `${present} is installed`);
  }
  assert.deepEqual(filesMentioning(installed, PROJECT_ROOT), [], 'no installed file names the checkout');

  // The commented configuration parses to the built-in defaults.
  const conf = path.join(prefix, 'cluster/system_snapshots.conf');
  const parsed = parseConfig(fs.readFileSync(conf, 'utf8'), conf);
  assert.deepEqual({ ...parsed, source: '' }, { ...defaultConfig(), source: '' });

  // The installed commands do the job.
  const root = path.join(prefix, 'tree');
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/hosts'), '127.0.0.1 localhost\n');
  fs.symlinkSync('hosts', path.join(root, 'etc/hosts.link'));
  const repo = path.join(prefix, 'repo');
  const snap = runCli(path.join(prefix, 'cluster/bin/system_snapshot'), ['--root', root, '--repo', repo, '--quiet', ...isolated()]);
  assert.equal(snap.status, 0, snap.stderr);
  const target = path.join(prefix, 'restored');
  fs.mkdirSync(target);
  const rest = runCli(path.join(prefix, 'cluster/bin/system_restore'), ['--root', target, '--repo', repo, '--point', '1', '--yes', ...isolated()]);
  assert.equal(rest.status, 0, rest.stderr);
  assertTreesEqual(root, target);

  // A copy of the installed tree elsewhere (a rescue stick) runs from where it is.
  const stick = path.join(prefix, 'stick');
  fs.cpSync(path.join(prefix, 'cluster'), path.join(stick, 'cluster'), { recursive: true, verbatimSymlinks: true });
  fs.rmSync(path.join(prefix, 'cluster/lib'), { recursive: true });
  // ...and with the rescue system's own node when the server's node path is not there.
  const wrapperPath = path.join(stick, 'cluster/bin/system_restore');
  fs.writeFileSync(wrapperPath, fs.readFileSync(wrapperPath, 'utf8').replace(`node='${process.execPath}'`, "node='/nonexistent/bin/node'"));
  assert.ok(fs.readFileSync(wrapperPath, 'utf8').includes('/nonexistent/bin/node'));
  const list = runCli(wrapperPath, ['--repo', repo, '--list', '--json', '--config', '/dev/null']);
  assert.equal(list.status, 0, list.stderr);
  assert.equal((JSON.parse(list.stdout) as unknown[]).length, 2, 'the point and the restore\'s pre-restore point');
});

test('install again: switches to the new version, removes the old one, keeps the config', (t) => {
  const prefix = tmpPrefix(t);
  assert.equal(runCli(INSTALL_BIN, ['--prefix', prefix]).status, 0);
  const lib = path.join(prefix, 'cluster/lib/restore-points');
  const first = fs.readlinkSync(path.join(lib, 'current'));
  const conf = path.join(prefix, 'cluster/system_snapshots.conf');
  fs.writeFileSync(conf, 'max_size_ratio = 2\n');
  const r = runCli(INSTALL_BIN, ['--prefix', prefix]);
  assert.equal(r.status, 0, r.stderr);
  const second = fs.readlinkSync(path.join(lib, 'current'));
  assert.notEqual(second, first);
  assert.deepEqual(fs.readdirSync(lib).sort(), ['current', second].sort(), 'only the current version is left');
  assert.match(r.stdout, /Configuration left as it was/);
  assert.equal(fs.readFileSync(conf, 'utf8'), 'max_size_ratio = 2\n');
  const help = runCli(path.join(prefix, 'cluster/bin/system_snapshot'), ['--help']);
  assert.equal(help.status, 0, help.stderr);
});

/**
 * An installed system_restore of point 1 of a tree whose etc/hosts was 'one' and is 'two' now,
 * started and waiting at its first prompt; answer() says '1' and 'yes' and gives its exit code.
 */
async function waitingRestore(prefix: string, t: { after(fn: () => void): void }): Promise<{ pid: number; hosts: string; answer(): Promise<number | null> }> {
  const root = path.join(prefix, 'tree');
  const repo = path.join(prefix, 'repo');
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/hosts'), 'one\n');
  assert.equal(runCli(path.join(prefix, 'cluster/bin/system_snapshot'), ['--root', root, '--repo', repo, '--quiet', ...isolated()]).status, 0);
  fs.writeFileSync(path.join(root, 'etc/hosts'), 'two\n');
  const child = spawn(path.join(prefix, 'cluster/bin/system_restore'), ['--root', root, '--repo', repo, ...isolated()], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let waited = 0; !out.includes('Enter the number of the restore point'); waited += 50) {
    assert.ok(waited < 20_000, `no prompt within 20 s: ${out} ${err}`);
    await sleep(50);
  }
  return {
    pid: child.pid!,
    hosts: path.join(root, 'etc/hosts'),
    answer: async () => {
      child.stdin.end('1\nyes\n');
      const code = await exited;
      assert.equal(code, 0, err);
      return code;
    },
  };
}

test('install again while a restore of the old version waits at its prompt: that version stays until it has ended', async (t) => {
  // The restore starts its threads, whose code it loads from its own version's directory, only
  // after 'yes': an upgrade that removed that directory meanwhile made it fail.
  const prefix = tmpPrefix(t);
  assert.equal(runCli(INSTALL_BIN, ['--prefix', prefix]).status, 0);
  const lib = path.join(prefix, 'cluster/lib/restore-points');
  const first = fs.readlinkSync(path.join(lib, 'current'));
  const restore = await waitingRestore(prefix, t);

  const second = runCli(INSTALL_BIN, ['--prefix', prefix]);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, new RegExp(`Kept the previous version ${first.replace(/\./g, '\\.')}: running commands use it \\(pid ${restore.pid}\\)`));
  assert.ok(fs.existsSync(path.join(lib, first)), 'the version the restore started from is still there');

  await restore.answer();
  assert.equal(fs.readFileSync(restore.hosts, 'utf8'), 'one\n', 'the restore ran, from the version it started from');

  const third = runCli(INSTALL_BIN, ['--prefix', prefix]);
  assert.equal(third.status, 0, third.stderr);
  assert.match(third.stdout, new RegExp(`Removed the previous version ${first.replace(/\./g, '\\.')}`));
  assert.deepEqual(fs.readdirSync(lib).sort(), ['current', fs.readlinkSync(path.join(lib, 'current'))].sort(), 'unused versions are gone');
});

test('a damaged installation: a thread that cannot start is one line, and nothing is written or restored', (t) => {
  // As when files of the version a command started from went missing (by hand, or an upgrade
  // before versions in use were kept): a command's threads load their code after it started.
  // Before, a scan thread that could not start was an 'error' event of the pool that nothing
  // heard, and the command ended with a stack trace.
  const prefix = tmpPrefix(t);
  assert.equal(runCli(INSTALL_BIN, ['--prefix', prefix]).status, 0);
  const installed = path.join(prefix, 'cluster/lib/restore-points', fs.readlinkSync(path.join(prefix, 'cluster/lib/restore-points/current')));
  const snapshotCmd = path.join(prefix, 'cluster/bin/system_snapshot');
  const restoreCmd = path.join(prefix, 'cluster/bin/system_restore');
  const root = path.join(prefix, 'tree');
  const repo = path.join(prefix, 'repo');
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/hosts'), 'one\n');
  assert.equal(runCli(snapshotCmd, ['--root', root, '--repo', repo, '--quiet', ...isolated()]).status, 0);
  fs.writeFileSync(path.join(root, 'etc/hosts'), 'two\n');
  const unchanged = (what: string): void => {
    assert.equal(fs.readFileSync(path.join(root, 'etc/hosts'), 'utf8'), 'two\n', `${what}: the tree is as it was`);
    assert.equal(fs.readdirSync(path.join(repo, 'points')).length, 1, `${what}: no point was added`);
    assert.deepEqual(fs.readdirSync(path.join(repo, 'tmp')), [], `${what}: nothing staged is left`);
  };

  // The pool's threads cannot load piscina's own entry; run each command three times (which
  // thread fails first, with or without a task on it, varies).
  const piscinaEntry = path.join(installed, 'node_modules/piscina/dist/worker.js');
  fs.renameSync(piscinaEntry, `${piscinaEntry}.gone`);
  for (let i = 0; i < 3; i++) {
    const snap = runCli(snapshotCmd, ['--root', root, '--repo', repo, '--quiet', ...isolated()]);
    assert.notEqual(snap.status, 0);
    assert.match(snap.stderr, /^system_snapshot: a scan thread failed: Cannot find module '[^\n]*piscina\/dist\/worker\.js'[^\n]* \(the installation is incomplete: run bin\/install again\)\n$/);
    unchanged('snapshot');
    const rest = runCli(restoreCmd, ['--root', root, '--repo', repo, '--point', '1', '--yes', ...isolated()]);
    assert.notEqual(rest.status, 0);
    assert.match(rest.stderr, /^system_restore: a scan thread failed: Cannot find module [^\n]* \(the installation is incomplete: run bin\/install again\)\n$/);
    unchanged('restore');
  }
  fs.renameSync(`${piscinaEntry}.gone`, piscinaEntry);

  // The writer thread's bundle is gone.
  fs.rmSync(path.join(installed, 'dist/bundle/writer-thread.js'));
  const snap = runCli(snapshotCmd, ['--root', root, '--repo', repo, '--quiet', ...isolated()]);
  assert.notEqual(snap.status, 0);
  assert.match(snap.stderr, /^system_snapshot: the writer thread failed: Cannot find module '[^\n]*writer-thread\.js'[^\n]* \(the installation is incomplete: run bin\/install again\)\n$/);
  unchanged('snapshot without a writer thread');
});

test('uninstall while a restore waits at its prompt: refused, nothing removed; done once it has ended', async (t) => {
  const prefix = tmpPrefix(t);
  assert.equal(runCli(INSTALL_BIN, ['--prefix', prefix]).status, 0);
  const restore = await waitingRestore(prefix, t);
  const refused = runCli(INSTALL_BIN, ['--prefix', prefix, '--uninstall']);
  assert.equal(refused.status, 2);
  assert.equal(refused.stderr, `install: running commands use the installed program (pid ${restore.pid}): uninstall once they have ended; nothing removed\n`);
  assert.ok(fs.existsSync(path.join(prefix, 'cluster/bin/system_restore')) && fs.existsSync(path.join(prefix, 'cluster/lib/restore-points/current')));
  await restore.answer();
  assert.equal(fs.readFileSync(restore.hosts, 'utf8'), 'one\n');
  const done = runCli(INSTALL_BIN, ['--prefix', prefix, '--uninstall']);
  assert.equal(done.status, 0, done.stderr);
  assert.equal(fs.existsSync(path.join(prefix, 'cluster/lib/restore-points')), false);
});

test('uninstall: removes the commands and the program, keeps config; refuses foreign commands', (t) => {
  const prefix = tmpPrefix(t);
  assert.equal(runCli(INSTALL_BIN, ['--prefix', prefix]).status, 0);
  const r = runCli(INSTALL_BIN, ['--prefix', prefix, '--uninstall']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.existsSync(path.join(prefix, 'cluster/bin/system_snapshot')), false);
  assert.equal(fs.existsSync(path.join(prefix, 'cluster/lib/restore-points')), false);
  assert.ok(fs.existsSync(path.join(prefix, 'cluster/system_snapshots.conf')), 'configuration stays');

  // A command someone else put there is not ours to remove.
  fs.writeFileSync(path.join(prefix, 'cluster/bin/system_snapshot'), '#!/bin/sh\necho theirs\n', { mode: 0o755 });
  const foreign = runCli(INSTALL_BIN, ['--prefix', prefix, '--uninstall']);
  assert.equal(foreign.status, 2);
  assert.match(foreign.stderr, /^install: .*system_snapshot was not written by this installer; left alone, nothing removed\n$/);
  assert.equal(fs.readFileSync(path.join(prefix, 'cluster/bin/system_snapshot'), 'utf8'), '#!/bin/sh\necho theirs\n');
});

test('install: bad input is one line, exit 2, nothing written', (t) => {
  const prefix = tmpPrefix(t);
  for (const [args, message] of [
    [['--prefix', 'relative/dir'], /^install: --prefix must be an absolute path, got 'relative\/dir'\n$/],
    [['--bogus'], /^install: unknown option '--bogus'\n$/],
  ] as const) {
    const r = runCli(INSTALL_BIN, [...args]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, message);
  }
  assert.deepEqual(fs.readdirSync(prefix), []);
});
