// /cluster/system_snapshots.conf: `key = value` lines, `#` comments. Unknown keys and bad values are
// errors naming the file and line (CONTRACT "Configuration file").
import fs from 'node:fs';
import { SnapError, errnoCode } from '../model/errors.js';

export const DEFAULT_CONFIG_FILE = '/cluster/system_snapshots.conf';
export const DEFAULT_REPO_DIR = '/root/snapshots';
export const DEFAULT_DB_LOCATIONS_FILE = '/cluster/database_locations';

export interface Config {
  snapshotDir: string;
  maxSizeRatio: number;
  minSnapshots: number;
  protectSeconds: number;
  excludes: string[];
  databaseLocations: string;
  /** Bytes to keep free on the repository's filesystem; null = min(5% of it, 2 GiB). */
  minFree: number | null;
  /** Where the values came from, for messages. */
  source: string;
}

export function defaultConfig(): Config {
  return {
    snapshotDir: DEFAULT_REPO_DIR,
    maxSizeRatio: 1.5,
    minSnapshots: 2,
    protectSeconds: 86400,
    excludes: [],
    databaseLocations: DEFAULT_DB_LOCATIONS_FILE,
    minFree: null,
    source: 'built-in defaults',
  };
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

function parseSize(v: string): number | null {
  const m = /^(\d+)\s*([KMGT]?)i?B?$/i.exec(v);
  return m ? Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]! : null;
}

export function parseConfig(text: string, file: string): Config {
  const cfg = defaultConfig();
  cfg.source = file;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const where = `${file} line ${i + 1}`;
    const m = /^([a-z_]+)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new SnapError('CONFIG', `${where}: expected 'key = value', got '${raw.trim()}'`);
    const key = m[1]!;
    const value = m[2]!.trim();
    const number = (min: number, what: string, integer: boolean): number => {
      const n = Number(value);
      if (value === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
        throw new SnapError('CONFIG', `${where}: ${key} must be ${what}, got '${value}'`);
      }
      return n;
    };
    const path = (): string => {
      if (!value.startsWith('/')) throw new SnapError('CONFIG', `${where}: ${key} must be an absolute path, got '${value}'`);
      return value;
    };
    switch (key) {
      case 'snapshot_dir':
        cfg.snapshotDir = path();
        break;
      case 'max_size_ratio':
        cfg.maxSizeRatio = number(1, 'a number >= 1', false);
        break;
      case 'min_snapshots':
        cfg.minSnapshots = number(1, 'a whole number >= 1', true);
        break;
      case 'protect_seconds':
        cfg.protectSeconds = number(0, 'a whole number of seconds >= 0', true);
        break;
      case 'exclude':
        if (value === '') throw new SnapError('CONFIG', `${where}: exclude needs a pattern`);
        cfg.excludes.push(value);
        break;
      case 'database_locations':
        cfg.databaseLocations = path();
        break;
      case 'min_free': {
        const n = parseSize(value);
        if (n === null) throw new SnapError('CONFIG', `${where}: min_free must be a size like 2G or 500M, got '${value}'`);
        cfg.minFree = n;
        break;
      }
      default:
        throw new SnapError('CONFIG', `${where}: unknown key '${key}'`);
    }
  });
  return cfg;
}

/** Reads the config; a missing default file means defaults, a missing named file is an error. */
export function loadConfig(file: string | undefined): Config {
  const target = file ?? DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = fs.readFileSync(target, 'utf8');
  } catch (err) {
    if (file === undefined && errnoCode(err) === 'ENOENT') return defaultConfig();
    throw new SnapError('CONFIG', `cannot read config file ${target}: ${(err as Error).message}`, { path: target });
  }
  return parseConfig(text, target);
}
