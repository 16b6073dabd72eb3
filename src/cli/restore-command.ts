// system_restore: the seed's interactive flow (listing, number, warning, 'yes'), --list [--json],
// --point/--yes for scripts, --dry-run and --path. Every restore that changes something first
// takes a pre-restore point, so the admin can roll forward.
import './v8-tuning.js'; // first: V8 flags must be set before any worker starts
import path from 'node:path';
import { Command, Option } from 'commander';
import { loadConfig } from '../config/config.js';
import { loadDbLocations } from '../config/db-locations.js';
import { SnapError } from '../model/errors.js';
import { Repository } from '../repo/repository.js';
import type { PointRecord } from '../repo/point-record.js';
import { restorePoint } from '../restore/restore-point.js';
import { checkRoot } from '../scan/take-snapshot.js';
import { listingJson, listingLine, serverTime } from './format.js';
import { Prompter } from './prompt.js';
import { limitMallocArenas } from '../sys/index.js';
import { MALLOC_ARENAS } from './memory.js';
import { racyMarginOption, runCommand, usageError } from './run-command.js';

interface RestoreArgs {
  root: string;
  repo?: string;
  config?: string;
  dbLocations?: string;
  list?: boolean;
  json?: boolean;
  point?: string;
  yes?: boolean;
  dryRun?: boolean;
  path?: string[];
  wait: string;
  bootDevice?: string;
  boot: boolean;
  testRacyMarginMs?: string;
}

function parseArgs(argv: string[]): RestoreArgs {
  const program = new Command('system_restore')
    .description('List restore points, or revert ROOT to one of them.')
    .option('--root <dir>', 'the tree to restore', '/')
    .option('--repo <dir>', 'the snapshot directory')
    .option('--config <file>', 'configuration file')
    .option('--db-locations <file>', 'database locations file')
    .option('--list', 'list the restore points and exit')
    .option('--json', 'with --list: JSON output')
    .option('--point <n|id>', 'the restore point, by listing number or id')
    .option('--yes', 'no prompts')
    .option('--dry-run', 'print what would change, change nothing')
    .option('--wait <seconds>', 'wait this long for another snapshot, restore or prune to finish', '0')
    .option('--boot-device <dev>', 'the disk (or disk image) to write the boot area to')
    .option('--no-boot', 'do not restore the boot area')
    .addOption(new Option('--test-racy-margin-ms <ms>').hideHelp())
    .addOption(new Option('--path <p>', 'restore only this path (repeatable)').argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]))
    .exitOverride()
    .allowExcessArguments(false)
    .configureOutput({ writeErr: () => undefined });
  program.parse(argv, { from: 'user' });
  return program.opts<RestoreArgs>();
}

export function findPoint(points: PointRecord[], sel: string): { point: PointRecord; number: number } {
  const n = /^\d+$/.test(sel) ? Number(sel) : NaN;
  const i = Number.isNaN(n) ? points.findIndex((p) => p.id === sel) : n - 1;
  const point = points[i];
  if (!point) throw new SnapError('POINT_NOT_FOUND', `no restore point '${sel}' (see system_restore --list)`);
  return { point, number: i + 1 };
}

function printListing(points: PointRecord[], dbLocations: string[], out: NodeJS.WritableStream): void {
  const now = new Date();
  out.write('\nBackups currently available:\n');
  points.forEach((p, i) => out.write(`${listingLine(i + 1, p, now)}\n`));
  out.write(`\nThe current server time is ${serverTime(now)}\n\n`);
  if (dbLocations.length > 0) {
    out.write('   Any restore operation will exclude these databases:\n');
    for (const d of dbLocations) out.write(`   ${d}\n`);
    out.write(
      '\n   These are backed up separately by /cluster/bin/db_snapshot and\n' +
        '   restoring a system snapshot with this tool WILL NOT touch the data,\n' +
        '   but any configuration files in /etc/ (like /etc/my.cnf ) will be\n' +
        '   restored to their prior state.\n\n',
    );
  }
}

/** Normalises a --path to "/a/b" bytes as seen from ROOT. */
function pathArg(p: string): Buffer {
  if (!p.startsWith('/')) throw usageError(`--path ${p}: must be absolute, as seen from ROOT (e.g. /etc/ssh)`);
  const norm = path.posix.normalize(p).replace(/\/+$/, '');
  return Buffer.from(norm);
}

export async function restoreMain(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.json && !args.list) throw usageError('--json goes with --list');
  if (args.dryRun && (!args.point || args.yes)) throw usageError('--dry-run needs --point and no --yes');
  if (args.bootDevice && !args.boot) throw usageError('--boot-device and --no-boot exclude each other');
  if (!/^\d+(\.\d+)?$/.test(args.wait)) throw usageError(`--wait needs a number of seconds, got '${args.wait}'`);
  const testRacyMarginMs = racyMarginOption(args.testRacyMarginMs);
  const config = loadConfig(args.config);
  const dbFile = args.dbLocations ?? config.databaseLocations;
  const dbLocations = loadDbLocations(dbFile, args.dbLocations !== undefined);
  const repoDir = path.resolve(args.repo ?? config.snapshotDir);
  const repo = Repository.open(repoDir, { create: false });
  const { points } = repo.points();
  const out = process.stdout;

  if (args.list) {
    if (args.json) out.write(`${JSON.stringify(listingJson(points))}\n`);
    else printListing(points, dbLocations, out);
    return 0;
  }
  const root = checkRoot(args.root);
  const paths = (args.path ?? []).map(pathArg);
  if (points.length === 0) throw new SnapError('POINT_NOT_FOUND', `no restore points in ${repoDir}`);

  const prompter = args.yes || args.dryRun ? null : new Prompter(process.stdin, out);
  let chosen: { point: PointRecord; number: number };
  try {
    if (args.point) chosen = findPoint(points, args.point);
    else {
      printListing(points, dbLocations, out);
      for (;;) {
        const answer = (await prompter!.ask(' Enter the number of the restore point to recover to (or press CTRL-C to exit): ')).trim();
        if (/^\d+$/.test(answer) && Number(answer) >= 1 && Number(answer) <= points.length) {
          chosen = findPoint(points, answer);
          break;
        }
        out.write(` There is no restore point ${answer === '' ? '(empty answer)' : answer}; enter a number from 1 to ${points.length}.\n`);
      }
    }
    if (prompter) {
      out.write('\n ARE YOU SURE? THIS WILL REVERT THE FILESYSTEM TO THIS POINT IN TIME!\n\n');
      out.write(' Changes since then will be lost, unless a more recent restore point\n exists (if so, you can still roll forward).\n\n');
      const yes = await prompter.ask("To continue and revert the system to a prior point in time, type 'yes' :");
      if (yes.trim() !== 'yes') throw new SnapError('ABORTED', 'not confirmed: nothing was changed');
    }
  } finally {
    prompter?.close();
  }

  const { point, number } = chosen;
  changing = !args.dryRun;
  const result = await restorePoint({
    root,
    repoDir,
    target: point,
    excludes: config.excludes,
    dbLocations,
    paths,
    dryRun: args.dryRun === true,
    minFree: config.minFree,
    waitSeconds: Number(args.wait),
    boot: args.boot ? { bootDevice: args.bootDevice } : false,
    testRacyMarginMs,
    hooks: {
      boot: (line) => out.write(`${line}\n`),
      progress: () => undefined,
      warning: (m) => process.stderr.write(`warning: ${m}\n`),
      op: (_op, line) => {
        if (args.dryRun && line) out.write(`${line}\n`);
      },
    },
  });
  const { added, changed, deleted } = result.summary;
  if (args.dryRun) {
    out.write(`${added} added, ${changed} changed, ${deleted} deleted (dry run of restore point ${number}: nothing was changed)\n`);
    return 0;
  }
  const preNumber = points.length + 1;
  out.write(`Restored ${paths.length > 0 ? paths.map(String).join(', ') : root} to restore point ${number} (${point.id}): ${added} added, ${changed} changed, ${deleted} deleted.\n`);
  out.write(`The state before this restore is restore point ${preNumber} (pre-restore): restore it to roll forward.\n`);
  const advice = rebootAdvice(root, paths);
  if (advice) out.write(`${advice}\n`);
  return 0;
}

/** After a full restore of the running system: why a reboot is due. */
export function rebootAdvice(root: string, paths: Buffer[]): string | null {
  if (root !== '/' || paths.length > 0) return null;
  return (
    'Reboot now: programs that are running (and the kernel) still use the old versions of the files ' +
    'that were replaced, so the system is only consistent with the restore point after a reboot.'
  );
}

/** Set once the restore starts changing things: until then an interrupt changed nothing. */
let changing = false;

export function runRestore(): Promise<never> {
  limitMallocArenas(MALLOC_ARENAS);
  process.on('SIGINT', () => {
    process.stderr.write(changing ? '\nsystem_restore: interrupted; run the same restore again to finish it\n' : '\nsystem_restore: interrupted: nothing was changed\n');
    process.exit(130);
  });
  return runCommand('system_restore', () => restoreMain(process.argv.slice(2)));
}
