// The boot area's shared words: what detection finds, what a capture holds, what a point stores
// and what a restore plan says. Plain data (JSON-safe except the capture's buffers).
import type { GapSource } from './partition-table.js';

export interface BootDisk {
  /** /dev/<disk> (never a partition), or a disk image file given with --boot-device. */
  device: string;
  kind: 'mbr' | 'gpt';
  /** Hex SHA-256 over the partition table; see partition-table.ts for what it covers. */
  fingerprint: string;
}

export type BootDiskResult = { ok: true; disk: BootDisk } | { ok: false; reason: string };

export interface FindBootDiskOptions {
  /** --boot-device: a block device (a partition is resolved to its disk) or a disk image file. */
  bootDevice?: string;
  /** The text of /proc/self/mountinfo (tests); read from /proc when absent. */
  mountinfo?: string;
  /** Default '/sys'; tests point it at a fake tree. */
  sysRoot?: string;
  /** Default '/dev': where the disk found in sysfs is opened; tests point it at image files. */
  devRoot?: string;
}

export interface BootCapture {
  disk: BootDisk;
  /** Bytes 0-439. */
  bootCode: Buffer;
  /** The post-MBR gap (byte 512 to the first partition) or a GPT disk's BIOS boot partition. */
  gap: Buffer;
  gapOffset: number;
  gapSource: GapSource;
}

import type { BootRecordJson } from '../repo/point-record.js';

/** What a point file stores (plain JSON, defined with the point format). Blob ids are hex SHA-256. */
export type BootRecord = BootRecordJson;

export interface BootWrite {
  offset: number;
  length: number;
  /** Hex blob id of exactly `length` bytes. */
  blob: string;
  /** For messages: "boot code", "post-MBR gap", "BIOS boot partition". */
  what: string;
}

export type BootPlan =
  | {
      action: 'write';
      device: string;
      writes: BootWrite[];
      /** The fingerprint the plan was made against; the applier re-reads and compares it. */
      fingerprint?: string;
    }
  | { action: 'skip'; reason: string };

/** The reason planBootRestore reports verbatim when the admin asked for no boot restore. */
export const NO_BOOT_REASON = '--no-boot';
/** Pass as `now` to planBootRestore for --no-boot. */
export const NO_BOOT: { ok: false; reason: string } = { ok: false, reason: NO_BOOT_REASON };
