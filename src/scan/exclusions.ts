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
  test: (s: string) => boolean;
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
  return { source: pattern, test: p.includes('?') ? regexTest(p) : starTest(p), onName, dirOnly };
}

function regexTest(glob: string): (s: string) => boolean {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  const compiled = new RegExp(`${re}$`, 's');
  return (s) => compiled.test(s);
}

/**
 * A glob whose only wildcard is '*', matched without a regular expression: the literal pieces
 * between the stars must appear in order, the first at the start and the last at the end (taking
 * each middle piece at its first place is never wrong). Every entry of every directory is matched
 * against each pattern; the built-in `*.*$` as a regular expression backtracks over each name
 * with a dot, and the regular expressions took ~3% of a no-change snapshot's scan threads.
 */
function starTest(glob: string): (s: string) => boolean {
  const pieces = glob.split('*');
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  const middle = pieces.slice(1, -1).filter((m) => m.length > 0);
  if (pieces.length === 1) return (s) => s === glob;
  return (s) => {
    if (s.length < first.length + last.length || !s.startsWith(first) || !s.endsWith(last)) return false;
    const limit = s.length - last.length;
    let at = first.length;
    for (const m of middle) {
      const found = s.indexOf(m, at);
      if (found < 0 || found + m.length > limit) return false;
      at = found + m.length;
    }
    return true;
  };
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
      if (p.test(p.onName ? name : path)) return isDir ? 'empty-dir' : 'omit';
    }
    return 'keep';
  }

  /** True when `path` is one of the exact empty-dir paths or below one (restore leaves these be). */
  isProtected(path: string): boolean {
    for (const d of this.emptyDirs) if (path === d || path.startsWith(`${d}/`)) return true;
    return false;
  }
}
