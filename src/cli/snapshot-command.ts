// system_snapshot: options of the contract, the seed's texts, progress on a terminal, --json.
import './v8-tuning.js'; // first: V8 flags must be set before any worker starts
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { loadConfig } from '../config/config.js';
import { loadDbLocations } from '../config/db-locations.js';
import { Repository } from '../repo/repository.js';
import { takeSnapshot, checkRoot } from '../scan/take-snapshot.js';
import { formatBytes, formatGB, snapshotStamp } from './format.js';
import { ProgressLine } from './progress.js';
import { limitMallocArenas } from '../sys/index.js';
import { MALLOC_ARENAS } from './memory.js';
import { racyMarginOption, runCommand, usageError } from './run-command.js';
import { checkMain } from './check-command.js';
import { findBootDisk } from '../boot/index.js';

interface SnapshotArgs {
  root: string;
  repo?: string;
  config?: string;
  dbLocations?: string;
  note: string;
  json?: boolean;
  quiet?: boolean;
  threads?: string;
  wait: string;
  bootDevice?: string;
  boot: boolean;
  check?: boolean;
  readData?: boolean;
  testReadDelayMs?: string;
  testRacyMarginMs?: string;
  testReadSignal?: string;
}

function parseArgs(argv: string[]): SnapshotArgs {
  const program = new Command('system_snapshot')
    .description('Take a restore point of ROOT into the snapshot directory.')
    .option('--root <dir>', 'the tree to snapshot', '/')
    .option('--repo <dir>', 'the snapshot directory (default: snapshot_dir from the config, else /root/snapshots)')
    .option('--config <file>', 'configuration file (default /cluster/system_snapshots.conf)')
    .option('--db-locations <file>', 'database locations file (default /cluster/database_locations)')
    .option('--note <text>', 'a label stored with the point', '')
    .option('--json', 'print one JSON object with the result on stdout')
    .option('--quiet', 'errors only (for cron)')
    .option('--wait <seconds>', 'wait this long for another snapshot, restore or prune to finish', '0')
    .option('--boot-device <dev>', 'the disk (or disk image) whose boot area to save')
    .option('--no-boot', 'do not save the boot area')
    .option('--check', 'verify the repository instead of taking a snapshot')
    .option('--read-data', 'with --check: also decompress and re-hash every blob')
    .addOption(new Option('--threads <n>', 'scan threads').hideHelp())
    .addOption(new Option('--test-read-delay-ms <ms>').hideHelp())
    .addOption(new Option('--test-racy-margin-ms <ms>').hideHelp())
    .addOption(new Option('--test-read-signal <file>').hideHelp())
    .exitOverride()
    .allowExcessArguments(false)
    .configureOutput({ writeErr: () => undefined });
  program.parse(argv, { from: 'user' });
  return program.opts<SnapshotArgs>();
}

function seconds(v: string, option: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !Number.isFinite(n)) throw usageError(`${option} needs a number of seconds, got '${v}'`);
  return n;
}

export async function snapshotMain(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const waitSeconds = seconds(args.wait, '--wait');
  const testRacyMarginMs = racyMarginOption(args.testRacyMarginMs);
  if (args.readData && !args.check) throw usageError('--read-data goes with --check');
  if (args.bootDevice && !args.boot) throw usageError('--boot-device and --no-boot exclude each other');
  const config = loadConfig(args.config);
  const dbFile = args.dbLocations ?? config.databaseLocations;
  const dbLocations = loadDbLocations(dbFile, args.dbLocations !== undefined);
  const repoDir = path.resolve(args.repo ?? config.snapshotDir);
  if (args.check) return checkMain(repoDir, args.readData === true, waitSeconds, args.json === true);
  const root = checkRoot(args.root);
  if (args.bootDevice) {
    // A bad --boot-device is bad usage: refuse it before anything is read or written.
    const found = findBootDisk(root, { bootDevice: args.bootDevice });
    if (!found.ok) throw usageError(`--boot-device ${args.bootDevice}: ${found.reason}`);
  }
  // With --json, stdout carries only the JSON object; the seed's texts go to stderr.
  const text = args.quiet ? null : args.json ? process.stderr : process.stdout;
  const say = (s = ''): void => {
    text?.write(`${s}\n`);
  };

  const existing = fs.existsSync(path.join(repoDir, 'repo.json')) ? Repository.open(repoDir, { create: false }) : null;
  const prev = existing?.points().points.at(-1);
  say(`Current backup dir size is ${formatGB(existing ? existing.store.totalBytes() : 0)}`);
  say();
  say(`Checking to make sure snapshot directory does not exceed ${config.maxSizeRatio} times`);
  say('the size of the primary filesystem, as specified in ');
  say(`${config.source === 'built-in defaults' ? '/cluster/system_snapshots.conf' : config.source} configuration file.`);
  say();
  say('Old snapshots will be removed as needed to create space. However, at');
  say(`least ${config.minSnapshots} snapshots will always be retained and snapshots newer`);
  say(`than ${config.protectSeconds} seconds will never be automatically removed.`);
  say();
  say(`Excluding databases found in ${dbFile}.`);
  say('These are backed up separately by /cluster/bin/db_snapshot');
  say();
  say(`Taking snapshot at ${snapshotStamp(new Date())}`);

  const progress = !args.quiet && process.stderr.isTTY ? new ProgressLine(process.stderr, prev?.stats.bytes_scanned ?? 0) : null;
  const warnings: string[] = [];
  const result = await takeSnapshot({
    root,
    repoDir,
    excludes: config.excludes,
    dbLocations,
    note: args.note,
    threads: args.threads ? Number(args.threads) : undefined,
    testReadDelayMs: args.testReadDelayMs ? Number(args.testReadDelayMs) : undefined,
    testRacyMarginMs,
    testReadSignal: args.testReadSignal,
    waitSeconds,
    boot: args.boot ? { bootDevice: args.bootDevice } : false,
    bootSkipped: (reason) => say(`Boot area not saved: ${reason}.`),
    committed: (point) =>
      say(`Restore point ${point.id} taken: ${point.stats.files} files, ${formatBytes(point.stats.bytes_scanned)} scanned, ${formatBytes(point.stats.bytes_added)} added.`),
    minFree: config.minFree,
    retention: config,
    retentionHooks: {
      removed: (p, reason) => say(`Removed restore point ${p.id} taken ${p.time}: ${reason}.`),
      kept: (reason) => say(`No restore point removed: ${reason}.`),
      warning: (m) => process.stderr.write(`warning: ${m}\n`),
    },
    hooks: {
      progress: (p) => progress?.update(p.files, p.bytesScanned),
      warning: (m) => {
        progress?.done();
        warnings.push(m);
        if (!args.quiet) process.stderr.write(`warning: ${m}\n`);
      },
    },
  });
  progress?.done();
  const repo = Repository.open(repoDir, { create: false });
  const repoBytes = repo.store.totalBytes();
  const { point } = result;
  say(`Backup dir size is now ${formatGB(repoBytes)}.`);
  if (args.json) {
    const out = {
      id: point.id,
      time: point.time,
      note: point.note,
      files: point.stats.files,
      dirs: point.stats.dirs,
      bytes_scanned: point.stats.bytes_scanned,
      data_bytes: point.stats.data_bytes,
      bytes_added: point.stats.bytes_added,
      files_read: point.stats.files_read,
      changed_while_read: point.stats.changed_while_read,
      chunks_reused: result.totals.chunksReused,
      repo_bytes: repoBytes,
      boot: point.boot !== null,
      pruned: result.pruned.map((p) => p.id),
      warnings,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
  return 0;
}

export function runSnapshot(): Promise<never> {
  limitMallocArenas(MALLOC_ARENAS);
  // The point file is the last write: an interrupted run leaves none (its staged files are
  // removed by the next run).
  process.on('SIGINT', () => {
    process.stderr.write('\nsystem_snapshot: interrupted: no restore point was written\n');
    process.exit(130);
  });
  return runCommand('system_snapshot', () => snapshotMain(process.argv.slice(2)));
}
