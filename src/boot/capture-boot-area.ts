// Capture: the boot code (bytes 0-439) and the boot loader area (post-MBR gap, or a GPT disk's
// BIOS boot partition) of a disk found by findBootDisk, re-reading the partition table first so
// the bytes belong to the layout whose fingerprint the point records. Bytes 440-511 and GPT
// structures are never part of a capture.
import { createHash } from 'node:crypto';

import { SnapError } from '../model/errors.js';
import type { BootCapture, BootDisk, BootRecord } from './boot-types.js';
import { closeDisk, layoutOf, openDiskForRead, readExact } from './disk-io.js';
import { BOOT_CODE_LENGTH } from './partition-table.js';

export function captureBootArea(disk: BootDisk): BootCapture {
  const open = openDiskForRead(disk.device);
  try {
    const found = layoutOf(open);
    if (!found.ok) throw new SnapError('IO', `boot area of ${disk.device}: ${found.reason}`, { path: disk.device });
    const { layout } = found;
    if (layout.kind !== disk.kind || layout.fingerprint !== disk.fingerprint) {
      throw new SnapError('IO', `the partition table of ${disk.device} changed while the snapshot was taken`, { path: disk.device });
    }
    return {
      disk,
      bootCode: readExact(open, 0, BOOT_CODE_LENGTH),
      gap: readExact(open, layout.gap.offset, layout.gap.length),
      gapOffset: layout.gap.offset,
      gapSource: layout.gap.source,
    };
  } finally {
    closeDisk(open);
  }
}

export function bootBlobId(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The point's boot record and the blobs it names (the caller stores them as kind `boot`). An
 * empty gap (GPT without a BIOS boot partition) still gets the id of the empty blob, so the record
 * has one shape; the planner never asks for a zero-length write.
 */
export function bootRecordOf(capture: BootCapture): { record: BootRecord; blobs: { id: string; data: Buffer }[] } {
  const code = { id: bootBlobId(capture.bootCode), data: capture.bootCode };
  const gap = { id: bootBlobId(capture.gap), data: capture.gap };
  return {
    record: {
      device: capture.disk.device,
      kind: capture.disk.kind,
      fingerprint: capture.disk.fingerprint,
      boot_code: code.id,
      gap: gap.id,
      gap_offset: capture.gapOffset,
      gap_length: capture.gap.length,
      gap_source: capture.gapSource,
    },
    blobs: code.id === gap.id ? [code] : [code, gap],
  };
}
