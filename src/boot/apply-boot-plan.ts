// The boot restore applier: writes exactly the planned ranges, and first proves against the
// partition table as read NOW from the disk that they are boot code or boot loader area only —
// never bytes 440-511 (disk signature, partition table, 0x55AA), never a GPT header or entry
// array, never past the first partition's start (MBR) or outside the BIOS boot partition (GPT).
// Every blob is read and verified before the first byte is written, so a missing or corrupt blob
// leaves the disk as it was.
import fs from 'node:fs';

import { SnapError } from '../model/errors.js';
import type { BootPlan, BootWrite } from './boot-types.js';
import { bootBlobId } from './capture-boot-area.js';
import { closeDisk, ioError, layoutOf, openDiskForRead, readExact, writeExact } from './disk-io.js';
import type { DiskLayout } from './partition-table.js';

const refuse = (device: string, why: string): SnapError => new SnapError('IO', `boot restore of ${device} refused: ${why}`, { path: device });
const span = (w: BootWrite): string => `${w.what} (bytes ${w.offset}-${w.offset + w.length - 1})`;

/** Throws unless every write lies inside a writable range of `layout` and clear of its structures. */
export function checkBootWrites(writes: BootWrite[], layout: DiskLayout, device: string): void {
  const sorted = [...writes].sort((a, b) => a.offset - b.offset);
  for (const [i, w] of sorted.entries()) {
    if (!Number.isSafeInteger(w.offset) || !Number.isSafeInteger(w.length) || w.offset < 0 || w.length <= 0) {
      throw refuse(device, `${w.what} has an invalid range (offset ${w.offset}, length ${w.length})`);
    }
    const end = w.offset + w.length;
    if (end > layout.diskSize) throw refuse(device, `${span(w)} ends beyond the disk (${layout.diskSize} bytes)`);
    const hit = layout.protected.find((r) => w.offset < r.end && r.start < end);
    if (hit) throw refuse(device, `${span(w)} would touch the ${hit.what}`);
    const prev = sorted[i - 1];
    if (prev && prev.offset + prev.length > w.offset) throw refuse(device, `${span(prev)} and ${span(w)} overlap`);
    if (layout.writable.some((r) => w.offset >= r.start && end <= r.end)) continue;
    if (layout.kind === 'mbr' && end > layout.firstPartitionStart) {
      throw refuse(device, `${span(w)} runs past the first partition's start at byte ${layout.firstPartitionStart}, as read now from the disk`);
    }
    const allowed = layout.writable.map((r) => `${r.what} ${r.start}-${r.end - 1}`).join(', ');
    throw refuse(device, `${span(w)} is outside the areas a boot restore may write (${allowed})`);
  }
}

async function loadBlobs(plan: BootPlan & { action: 'write' }, readBlob: (hexId: string) => Promise<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const w of plan.writes) {
    const data = await readBlob(w.blob);
    if (data.length !== w.length || bootBlobId(data) !== w.blob) {
      throw new SnapError('REPO_CORRUPT', `boot area blob ${w.blob} (${w.what}) is damaged: ${data.length} bytes, expected ${w.length} with that id`);
    }
    out.push(data);
  }
  return out;
}

export async function applyBootPlan(plan: BootPlan & { action: 'write' }, readBlob: (hexId: string) => Promise<Buffer>): Promise<void> {
  if (plan.action !== 'write') throw new SnapError('IO', 'applyBootPlan needs a write plan');
  const data = await loadBlobs(plan, readBlob);
  const disk = openDiskForRead(plan.device);
  try {
    const found = layoutOf(disk);
    if (!found.ok) throw refuse(plan.device, found.reason);
    if (plan.fingerprint !== undefined && found.layout.fingerprint !== plan.fingerprint) {
      throw refuse(plan.device, 'its partition table changed after the plan was made');
    }
    checkBootWrites(plan.writes, found.layout, plan.device);

    let fd: number;
    try {
      fd = fs.openSync(plan.device, fs.constants.O_WRONLY);
    } catch (error) {
      throw ioError(`cannot open ${plan.device} for writing`, plan.device, error);
    }
    try {
      plan.writes.forEach((w, i) => writeExact(fd, plan.device, data[i]!, w.offset));
      fs.fsyncSync(fd);
    } catch (error) {
      if (error instanceof SnapError) throw error;
      throw ioError(`cannot flush ${plan.device}`, plan.device, error);
    } finally {
      fs.closeSync(fd);
    }
    // Same device, same page cache: this proves the writes landed where planned, not durability
    // (fsync above is for that).
    plan.writes.forEach((w, i) => {
      if (!readExact(disk, w.offset, w.length).equals(data[i]!)) {
        throw new SnapError('IO', `${plan.device}: ${span(w)} reads back different from what was written`, { path: plan.device });
      }
    });
  } finally {
    closeDisk(disk);
  }
}
