// The one place errors become an exit code and one line on stderr (CONVENTIONS: only cli/ does
// this). Usage errors exit 2, SIGINT 130, everything else 1.
import { CommanderError } from 'commander';
import { SnapError, exitCodeFor } from '../model/errors.js';

export async function runCommand(name: string, main: () => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await main();
  } catch (err) {
    if (err instanceof CommanderError) {
      code = err.exitCode === 0 ? 0 : 2;
      if (code !== 0 && !err.message.startsWith('(')) process.stderr.write(`${name}: ${err.message.replace(/^error: /, '')}\n`);
    } else {
      const msg = err instanceof Error ? err.message : String(err);
      process.stderr.write(`${name}: ${msg}\n`);
      if (process.env.RP_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
      code = exitCodeFor(err);
    }
  }
  process.exit(code);
}

export function usageError(message: string): SnapError {
  return new SnapError('USAGE', message);
}

/** The hidden --test-racy-margin-ms option's value (a whole number of ms), checked before anything runs. */
export function racyMarginOption(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw usageError(`--test-racy-margin-ms needs a whole number of milliseconds, got '${v}'`);
  return Number(v);
}
