// bin/install [--prefix DIR] [--uninstall]: puts system_snapshot and system_restore at
// PREFIX/cluster/bin (CONTRACT: "the installer puts the same at /cluster/bin/").
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { install, uninstall } from '../install/install.js';
import { runCommand, usageError } from './run-command.js';

interface InstallArgs {
  prefix: string;
  uninstall?: boolean;
}

/** The checkout this command runs from: dist/src/cli -> the repository root. */
const SOURCE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

async function installMain(argv: string[]): Promise<number> {
  const program = new Command('install')
    .description('Install system_snapshot and system_restore into PREFIX/cluster/bin (run after `npm ci`).')
    .option('--prefix <dir>', 'install below this directory instead of / (a staging tree, an image)', '/')
    .option('--uninstall', 'remove the commands and the program (configuration and repositories stay)')
    .exitOverride()
    .allowExcessArguments(false)
    .configureOutput({ writeErr: () => undefined });
  program.parse(argv, { from: 'user' });
  const args = program.opts<InstallArgs>();
  if (!path.isAbsolute(args.prefix)) throw usageError(`--prefix must be an absolute path, got '${args.prefix}'`);
  if (process.getuid?.() !== 0 && args.prefix === '/') throw usageError('installing into /cluster needs root (or give --prefix)');

  if (args.uninstall) {
    const removed = uninstall(args.prefix);
    process.stdout.write(removed.length === 0 ? 'Nothing was installed.\n' : removed.map((p) => `Removed ${p}\n`).join(''));
    return 0;
  }
  const r = install({ source: SOURCE, prefix: args.prefix, nodePath: process.execPath });
  process.stdout.write(`Installed restore points ${r.version} into ${r.libDir}\n`);
  for (const c of r.commands) process.stdout.write(`  ${c}\n`);
  const config = path.join(args.prefix, 'cluster/system_snapshots.conf');
  process.stdout.write(r.configWritten ? `Wrote a commented configuration: ${config}\n` : `Configuration left as it was: ${config}\n`);
  for (const v of r.removedVersions) process.stdout.write(`Removed the previous version ${v}\n`);
  for (const k of r.keptVersions) process.stdout.write(`Kept the previous version ${k.version}: running commands use it (pid ${k.pids.join(', ')}); the next install removes it once they have ended\n`);
  process.stdout.write(`For a daily restore point, add to root's crontab: 1 1 * * * ${path.join(args.prefix, 'cluster/bin/system_snapshot')} --quiet\n`);
  return 0;
}

export function runInstall(): Promise<never> {
  return runCommand('install', () => installMain(process.argv.slice(2)));
}
