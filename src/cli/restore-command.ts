// system_restore: --list [--json] and, for now, restoring a point into an empty directory
// (--root EMPTY_DIR --point N --yes). The in-place restore and the interactive flow come next.
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { loadConfig } from '../config/config.js';
import { SnapError } from '../model/errors.js';
import { Repository } from '../repo/repository.js';
import type { PointRecord } from '../repo/point-record.js';
import { PointExtractor } from '../restore/extract-point.js';
import { listingJson, listingLine, serverTime } from './format.js';
import { runCommand, usageError } from './run-command.js';

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
    .option('--dry-run', 'print what would change')
    .addOption(new Option('--path <p...>', 'restore only these paths'))
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

export async function restoreMain(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const config = loadConfig(args.config);
  const repoDir = path.resolve(args.repo ?? config.snapshotDir);
  const repo = Repository.open(repoDir, { create: false });
  const { points } = repo.points();
  const now = new Date();

  if (args.list) {
    if (args.json) {
      process.stdout.write(`${JSON.stringify(listingJson(points))}\n`);
      return 0;
    }
    process.stdout.write('Backups currently available:\n');
    points.forEach((p, i) => process.stdout.write(`${listingLine(i + 1, p, now)}\n`));
    process.stdout.write(`\nThe current server time is ${serverTime(now)}\n`);
    return 0;
  }
  if (!args.point) throw usageError('--point is required (the interactive flow is not available yet)');
  if (!args.yes) throw usageError('--yes is required (the interactive flow is not available yet)');
  if (args.dryRun || args.path) throw usageError('--dry-run and --path are not available yet');
  const { point } = findPoint(points, args.point);
  const target = path.resolve(args.root);
  if (!fs.existsSync(target) || !fs.statSync(target).isDirectory()) {
    throw new SnapError('ROOT_MISSING', `restore target ${target} is not a directory`);
  }
  if (fs.readdirSync(target).length > 0) {
    throw usageError(`restore target ${target} is not empty: this version restores only into an empty directory`);
  }
  const extractor = new PointExtractor(repo.reader(), {
    progress: () => undefined,
    warning: (m) => process.stderr.write(`warning: ${m}\n`),
  });
  const stats = await extractor.extract(point, target);
  process.stdout.write(`Restored point ${point.id} into ${target}: ${stats.files} files, ${stats.dirs} directories.\n`);
  return 0;
}

export function runRestore(): Promise<never> {
  return runCommand('system_restore', () => restoreMain(process.argv.slice(2)));
}
