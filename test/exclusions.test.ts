// Exclusion rules: each built-in pattern of the contract, config patterns, exact empty dirs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_EXCLUDES, ExclusionRules } from '../src/scan/exclusions.js';
import { parseMountInfo, skippedMountsBelow } from '../src/scan/mounts.js';

const rules = new ExclusionRules([...BUILTIN_EXCLUDES, '/srv/cache/*'], ['/var/lib/mysql']);
const v = (p: string, isDir: boolean): string => rules.verdict(p, p.slice(p.lastIndexOf('/') + 1), isDir);

const cases: [string, boolean, string][] = [
  ['/dev', true, 'empty-dir'],
  ['/proc', true, 'empty-dir'],
  ['/sys', true, 'empty-dir'],
  ['/tmp', true, 'empty-dir'],
  ['/srv/tmp', true, 'keep'],
  ['/mnt', true, 'empty-dir'],
  ['/data/backup/mnt', true, 'empty-dir'],
  ['/etc/mnt', false, 'keep'],
  ['/var/lib/heartbeat/crm', true, 'empty-dir'],
  ['/var/lib/heartbeat/hb.state', false, 'omit'],
  ['/var/lib/heartbeat', true, 'keep'],
  ['/var/lock/subsys/sshd', false, 'omit'],
  ['/var/lock/subsys', true, 'keep'],
  ['/run/sshd.pid', false, 'omit'],
  ['/etc/pidfile', false, 'keep'],
  ['/home/a/.notes.txt.swp', false, 'omit'],
  ['/home/a/backup.tar$', false, 'omit'],
  ['/home/a/price$', false, 'keep'],
  ['/srv/cache/x', false, 'omit'],
  ['/srv/cached', true, 'keep'],
  ['/var/lib/mysql', true, 'empty-dir'],
  ['/var/lib/mysql2', true, 'keep'],
  ['/etc/passwd', false, 'keep'],
];
for (const [p, isDir, want] of cases) {
  test(`exclusion verdict for ${p}${isDir ? '/' : ''} is ${want}`, () => assert.equal(v(p, isDir), want));
}

test('mountinfo: pseudo and network mounts below ROOT are skipped, local ones kept', () => {
  const info = [
    '22 1 8:1 / / rw - ext4 /dev/sda1 rw',
    '23 22 0:5 / /srv/root/proc rw - proc proc rw',
    '24 22 0:6 / /srv/root/run rw - tmpfs tmpfs rw',
    '25 22 8:2 / /srv/root/boot rw - ext4 /dev/sda2 rw',
    '26 22 0:40 / /srv/root/home/my\\040share rw - nfs4 srv:/x rw',
    '27 22 0:41 / /srv/rootother/proc rw - proc proc rw',
    '28 22 0:42 / /srv/root/mnt/s rw - fuse.sshfs x rw',
  ].join('\n');
  assert.equal(parseMountInfo(info)[4]!.mountPoint, '/srv/root/home/my share');
  assert.deepEqual(skippedMountsBelow('/srv/root', info), ['/proc', '/run', '/home/my share', '/mnt/s']);
  assert.deepEqual(skippedMountsBelow('/', info), ['/srv/root/proc', '/srv/root/run', '/srv/root/home/my share', '/srv/rootother/proc', '/srv/root/mnt/s']);
});

test('star-only patterns (matched without a regular expression) agree with the glob as a regular expression', () => {
  // Reference: the glob as an anchored regular expression ('*' = any run of characters, newline too).
  const reference = (glob: string, s: string): boolean => new RegExp(`^${glob.split('*').map((p) => p.replace(/[\\^$.|+()[\]{}?]/g, '\\$&')).join('.*')}$`, 's').test(s);
  const globs = ['*.*$', '*.pid', '*.swp', '*', '**', 'abc', 'a*', '*a', 'a*b', 'a*b*c', '*a*a*', 'a**a', '*ab*ba*', 'a*b*b', 'a*ba*a', '$', '*$*', 'aa*aa', '*\n*'];
  const alphabet = ['a', 'b', 'c', '.', '$', '\n', 'ab', 'ba'];
  let seed = 12345;
  const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const names: string[] = ['', 'a', 'aa', 'aaa', 'abc', 'x.pid', '.pid', 'pid', 'a.b$', '.$', '$', 'a$', 'a.swp.x'];
  for (let i = 0; i < 400; i++) names.push(Array.from({ length: random(7) }, () => alphabet[random(alphabet.length)]).join(''));
  for (const glob of globs) {
    const rules = new ExclusionRules([glob], []);
    for (const name of names) {
      const expected = reference(glob, name) ? 'omit' : 'keep';
      assert.equal(rules.verdict(`/d/${name}`, name, false), expected, `${JSON.stringify(glob)} on ${JSON.stringify(name)}`);
    }
  }
});
