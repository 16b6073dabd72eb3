// Boot area: finds the disk that boots ROOT, captures its boot code (bytes 0-439) and boot loader
// area (post-MBR gap up to the first partition, or a GPT BIOS boot partition) with a fingerprint
// of its partition table, and puts them back plan-then-apply.
// Invariants: bytes 440-511 (disk signature, partition table, 0x55AA) and GPT headers and entry
// arrays are never stored as boot code and never written; a restore writes only when the disk
// found now has the same partition table fingerprint as the point, and the applier re-checks the
// planned ranges against the table read from the disk at write time.
export type {
  BootCapture,
  BootDisk,
  BootDiskResult,
  BootPlan,
  BootRecord,
  BootWrite,
  FindBootDiskOptions,
} from './boot-types.js';
export { NO_BOOT, NO_BOOT_REASON } from './boot-types.js';
export { findBootDisk, inspectBootDisk } from './find-boot-disk.js';
export { bootBlobId, bootRecordOf, captureBootArea } from './capture-boot-area.js';
export { describeBootPlan, planBootRestore } from './plan-boot-restore.js';
export { applyBootPlan, checkBootWrites } from './apply-boot-plan.js';
export { MAX_GAP_BYTES, BIOS_BOOT_TYPE_GUID, readDiskLayout, type DiskLayout } from './partition-table.js';
