// Configuration and database_locations parsing: defaults, every key, errors naming file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, loadConfig } from '../src/config/config.js';
import { parseDbLocations } from '../src/config/db-locations.js';

test('config: all keys, comments and blank lines', () => {
  const c = parseConfig(
    ['# comment', '', 'snapshot_dir = /srv/snaps', 'max_size_ratio = 2.5  # inline', 'min_snapshots = 3', 'protect_seconds = 3600', 'exclude = /srv/cache/*', 'exclude = *.bak', 'database_locations = /etc/dbs', 'min_free = 512M'].join('\n'),
    'f.conf',
  );
  assert.equal(c.snapshotDir, '/srv/snaps');
  assert.equal(c.maxSizeRatio, 2.5);
  assert.equal(c.minSnapshots, 3);
  assert.equal(c.protectSeconds, 3600);
  assert.deepEqual(c.excludes, ['/srv/cache/*', '*.bak']);
  assert.equal(c.databaseLocations, '/etc/dbs');
  assert.equal(c.minFree, 512 * 1024 * 1024);
});

const bad: [string, RegExp][] = [
  ['colour = blue', /f\.conf line 2: unknown key 'colour'/],
  ['max_size_ratio = 0.5', /line 2: max_size_ratio must be a number >= 1/],
  ['min_snapshots = -1', /line 2: min_snapshots/],
  ['min_snapshots = two', /line 2: min_snapshots/],
  ['protect_seconds = 1.5', /line 2: protect_seconds/],
  ['snapshot_dir = relative/dir', /line 2: snapshot_dir must be an absolute path/],
  ['just words', /line 2: expected 'key = value'/],
];
for (const [line, re] of bad) {
  test(`config error names file and line: ${line}`, () => {
    assert.throws(() => parseConfig(`# ok\n${line}\n`, 'f.conf'), re);
  });
}

test('a missing default config means defaults; a missing named one is an error', () => {
  assert.throws(() => loadConfig('/nonexistent/x.conf'), /cannot read config file \/nonexistent\/x.conf/);
});

test('database_locations: comments, normalisation, relative paths rejected with the line', () => {
  assert.deepEqual(parseDbLocations('# dbs\n/var/lib/mysql/\n\n/var/lib/pgsql # pg\n', 'd'), ['/var/lib/mysql', '/var/lib/pgsql']);
  assert.throws(() => parseDbLocations('/ok\nvar/lib/x\n', 'd'), /d line 2: database location must be an absolute path/);
});
