// Retention as the seed states it, as a pure function: while the repository is larger than
// max_size_ratio x the snapshotted data, remove the oldest point — but never below
// min_snapshots points and never one younger than protect_seconds. A point whose record cannot be
// read is never chosen (it is not in `points` at all: callers pass only readable ones).

export interface RetentionConfig {
  maxSizeRatio: number;
  minSnapshots: number;
  protectSeconds: number;
}

export interface RetentionPoint {
  id: string;
  /** Milliseconds since the epoch. */
  timeMs: number;
}

export interface RetentionDecision {
  /** The point to remove next, or null when none should or may be removed. */
  remove: RetentionPoint | null;
  reason: string;
}

/** The oldest point, if removing it keeps both protections. */
function oldestRemovable(points: readonly RetentionPoint[], nowMs: number, cfg: RetentionConfig, why: string): RetentionDecision {
  if (points.length <= cfg.minSnapshots) {
    return { remove: null, reason: `only ${points.length} restore points left; at least ${cfg.minSnapshots} are always kept` };
  }
  const oldest = [...points].sort((a, b) => a.timeMs - b.timeMs)[0]!;
  const ageSeconds = (nowMs - oldest.timeMs) / 1000;
  if (ageSeconds < cfg.protectSeconds) {
    return { remove: null, reason: `the oldest restore point is ${Math.floor(ageSeconds)} seconds old; points newer than ${cfg.protectSeconds} seconds are never removed` };
  }
  return { remove: oldest, reason: why };
}

/** One step: callers remove the chosen point, reclaim its space, measure again and ask again. */
export function nextRemoval(points: readonly RetentionPoint[], repoBytes: number, dataBytes: number, nowMs: number, cfg: RetentionConfig): RetentionDecision {
  const limit = cfg.maxSizeRatio * dataBytes;
  if (repoBytes <= limit) return { remove: null, reason: `the repository (${repoBytes} bytes) is within ${cfg.maxSizeRatio} x the data (${dataBytes} bytes)` };
  return oldestRemovable(points, nowMs, cfg, `the repository (${repoBytes} bytes) exceeds ${cfg.maxSizeRatio} x the data (${dataBytes} bytes)`);
}

/** The same protections, driven by free space on the repository's filesystem (min_free). */
export function nextRemovalForSpace(points: readonly RetentionPoint[], freeBytes: number, neededBytes: number, nowMs: number, cfg: RetentionConfig): RetentionDecision {
  if (freeBytes >= neededBytes) return { remove: null, reason: `${freeBytes} bytes free, ${neededBytes} needed` };
  return oldestRemovable(points, nowMs, cfg, `only ${freeBytes} bytes free, ${neededBytes} needed`);
}
