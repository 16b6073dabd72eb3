// What a snapshot leaves out. Patterns are matched against paths as seen from ROOT ("/etc/x"):
// a pattern without '/' matches a name anywhere (`*.pid`); one with '/' is anchored at ROOT and its
// '*' crosses '/' (`*/mnt/` is any mnt directory); a trailing '/' means "this directory's contents".
// An excluded directory is kept as an empty directory with its own metadata; an excluded file is
// left out. Paths are latin1 strings here so that every byte of a name maps to one char.

/** The seed's list (CONTRACT "Built-in exclusions"). */
export const BUILTIN_EXCLUDES = ['/dev', '/proc', '/sys', '/tmp', '*/mnt/', 'var/lib/heartbeat/*', '/var/lock/subsys/*', '*.pid', '*.*$', '*.swp'];

export type Verdict = 'keep' | 'empty-dir' | 'omit';

interface CompiledPattern {
  source: string;
  re: RegExp;
  onName: boolean;
  dirOnly: boolean;
}

export function toLatin1(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

function compile(pattern: string): CompiledPattern {
  let p = toLatin1(pattern);
  const dirOnly = p.length > 1 && p.endsWith('/');
  if (dirOnly) p = p.slice(0, -1);
  const onName = !p.includes('/');
  if (!onName && !p.startsWith('/') && !p.startsWith('*')) p = `/${p}`;
  let re = '^';
  for (const ch of p) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return { source: pattern, re: new RegExp(`${re}$`, 's'), onName, dirOnly };
}

export class ExclusionRules {
  private readonly patterns: CompiledPattern[];
  private readonly emptyDirs: Set<string>;

  /**
   * @param patterns glob patterns (built-in + config `exclude` lines)
   * @param emptyDirs exact paths from ROOT, in latin1, kept as empty directories: database
   *   locations, pseudo/network mount points, the repository
   */
  constructor(patterns: string[], emptyDirs: string[]) {
    this.patterns = patterns.map(compile);
    this.emptyDirs = new Set(emptyDirs);
  }

  /** `path` is "/a/b" from ROOT in latin1, `name` its last component. */
  verdict(path: string, name: string, isDir: boolean): Verdict {
    if (isDir && this.emptyDirs.has(path)) return 'empty-dir';
    for (const p of this.patterns) {
      if (p.dirOnly && !isDir) continue;
      if (p.re.test(p.onName ? name : path)) return isDir ? 'empty-dir' : 'omit';
    }
    return 'keep';
  }

  /** True when `path` is one of the exact empty-dir paths or below one (restore leaves these be). */
  isProtected(path: string): boolean {
    for (const d of this.emptyDirs) if (path === d || path.startsWith(`${d}/`)) return true;
    return false;
  }
}
