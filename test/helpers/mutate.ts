// A table of named mutations of the nasty tree: what an upgrade or an admin does to a live system
// between a restore point and the rollback (content edits, type changes, deletions, additions,
// metadata changes, broken hardlinks, chattr flags set and lifted).
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { NASTY } from './nasty-tree-spec.js';

export interface Mutation {
  name: string;
  apply(tree: string): void;
}

const chattr = (flags: string, p: string): void => {
  execFileSync('chattr', [flags, p]);
};

export const MUTATIONS: Mutation[] = [
  { name: 'edit a config file', apply: (t) => fs.writeFileSync(path.join(t, NASTY.passwd), 'root:x:0:0::/root:/bin/zsh\n') },
  { name: 'drop a setuid bit', apply: (t) => fs.chmodSync(path.join(t, NASTY.setuid), 0o755) },
  { name: 'change an owner', apply: (t) => fs.chownSync(path.join(t, NASTY.aliceNotes), 0, 0) },
  { name: 'remove a capability', apply: (t) => execFileSync('setfattr', ['-x', 'security.capability', path.join(t, NASTY.capV2)]) },
  { name: 'delete a file', apply: (t) => fs.rmSync(path.join(t, NASTY.setgid)) },
  { name: 'add a file', apply: (t) => fs.writeFileSync(path.join(t, 'etc/added-by-upgrade.conf'), 'new\n') },
  { name: 'add a directory tree', apply: (t) => fs.mkdirSync(path.join(t, 'usr/lib/newpkg/sub'), { recursive: true }) },
  { name: 'file becomes a directory', apply: (t) => { fs.rmSync(path.join(t, 'var/epoch')); fs.mkdirSync(path.join(t, 'var/epoch/inside'), { recursive: true }); } },
  { name: 'directory becomes a file', apply: (t) => { fs.rmSync(path.join(t, NASTY.emptyDir), { recursive: true }); fs.writeFileSync(path.join(t, NASTY.emptyDir), 'now a file'); } },
  { name: 'symlink becomes a file', apply: (t) => { fs.rmSync(path.join(t, NASTY.relSymlink)); fs.writeFileSync(path.join(t, NASTY.relSymlink), 'UTC'); } },
  { name: 'symlink retargeted', apply: (t) => { fs.rmSync(path.join(t, NASTY.absSymlink)); fs.symlinkSync('/elsewhere', path.join(t, NASTY.absSymlink)); } },
  { name: 'hardlink broken into a copy', apply: (t) => { const p = path.join(t, NASTY.hardlinkSecond); const data = fs.readFileSync(p); fs.rmSync(p); fs.writeFileSync(p, data); } },
  { name: 'sparse file filled', apply: (t) => fs.writeFileSync(path.join(t, NASTY.sparse), Buffer.alloc(1024 * 1024, 1)) },
  { name: 'immutable file changed', apply: (t) => { const p = path.join(t, NASTY.immutable); chattr('-i', p); fs.writeFileSync(p, 'changed'); } },
  { name: 'config made immutable after an edit', apply: (t) => { const p = path.join(t, 'etc/shadow'); fs.writeFileSync(p, 'x'); chattr('+i', p); } },
  { name: 'user xattr removed', apply: (t) => execFileSync('setfattr', ['-x', 'user.comment', path.join(t, NASTY.aliceNotes)]) },
  { name: 'ACL changed', apply: (t) => execFileSync('setfacl', ['-m', 'u:1002:rwx', path.join(t, NASTY.aclFile)]) },
];

export function mutateAll(tree: string): void {
  for (const m of MUTATIONS) m.apply(tree);
}
