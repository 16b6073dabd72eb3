// The restore plan: a stream of operations with their reasons, in the order they must run
// (top-down creation, bottom-up deletion and directory metadata). Serialisable, so --dry-run and
// --json print exactly what an apply would do.
import type { Entry } from '../model/entry.js';
import type { DiffReason } from './entry-diff.js';

export type PlanOp =
  /** A new non-directory (file, symlink, device, FIFO). */
  | { op: 'create'; path: Buffer; entry: Entry; retype?: boolean }
  /** A new directory, created empty and private; its children follow, then its 'meta'. */
  | { op: 'mkdir'; path: Buffer; entry: Entry; retype?: boolean }
  /** Another name for an inode restored earlier in this plan (hardlink group). */
  | { op: 'link'; path: Buffer; entry: Entry; to: Buffer; live: Entry | null }
  /** New content for an existing name: written to a temp file, then renamed over it. */
  | { op: 'replace'; path: Buffer; entry: Entry; live: Entry; reasons: DiffReason[] }
  /** Metadata only. `created` marks the closing step of a directory this plan made. */
  | { op: 'meta'; path: Buffer; entry: Entry; live: Entry | null; reasons: DiffReason[]; created?: boolean }
  /** Removes one name; directories come after their contents. `quiet`: part of a type change. */
  | { op: 'delete'; path: Buffer; live: Entry; quiet?: boolean }
  /** Lifts immutable/append-only from a live inode so it (or its directory's entries) can change. */
  | { op: 'unlock'; path: Buffer; live: Entry }
  /** Puts back a directory's mtime after changes below it (a --path restore's parents). */
  | { op: 'parent-mtime'; path: Buffer; live: Entry };

export interface PlanSummary {
  added: number;
  changed: number;
  deleted: number;
}

/** The dry-run line of an op, or null for internal steps. */
export function describeOp(op: PlanOp): string | null {
  const p = op.path.length === 0 ? '/' : op.path.toString();
  switch (op.op) {
    case 'create':
    case 'mkdir':
      return op.retype ? `~ ${p} (type)` : `+ ${p}`;
    case 'link':
      return op.live ? `~ ${p} (hardlink)` : `+ ${p}`;
    case 'replace':
      return `~ ${p} (${op.reasons.join(', ')})`;
    case 'meta':
      return op.created ? null : `~ ${p} (${op.reasons.join(', ')})`;
    case 'delete':
      return op.quiet ? null : `- ${p}`;
    default:
      return null;
  }
}

export function countOp(s: PlanSummary, op: PlanOp): void {
  const line = describeOp(op);
  if (!line) return;
  if (line.startsWith('+')) s.added++;
  else if (line.startsWith('-')) s.deleted++;
  else s.changed++;
}
