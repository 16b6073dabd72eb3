// loop-disk.ts - partitioned disk images attached as loop devices, for boot area tests: sfdisk
// an image, attach it with its partitions, mount them, and undo every step in reverse (only the
// loop devices and mounts made here, by name), whatever happened.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findCommand, isRoot } from './loop-fs.js';

export const MiB = 1024 * 1024;
export const DISK_MIB = 64;

export function unavailable(commands: string[]): string | false {
  if (!isRoot()) return 'loop disks need root';
  if (!fs.existsSync('/dev/loop-control')) return 'no /dev/loop-control (loop driver missing)';
  for (const c of ['losetup', 'partx', 'sfdisk', 'mount', 'umount', 'mkfs.ext4', ...commands]) {
    if (findCommand(c) === null) return `${c} not installed`;
  }
  return false;
}

export function run(command: string, args: string[], input?: string): string {
  const exe = findCommand(command);
  if (exe === null) throw new Error(`${command}: not installed`);
  try {
    return execFileSync(exe, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    const e = error as { stderr?: string; status?: number };
    throw new Error(`${command} ${args.join(' ')} failed (status ${e.status}): ${(e.stderr ?? '').trim()}`, { cause: error });
  }
}

export function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 13 + seed * 101 + (i >> 9)) & 0xff;
  return b;
}

export function readAt(file: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(length);
    assert.equal(fs.readSync(fd, b, 0, length, offset), length);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

export function writeAt(file: string, offset: number, data: Buffer): void {
  const fd = fs.openSync(file, 'r+');
  try {
    assert.equal(fs.writeSync(fd, data, 0, data.length, offset), data.length);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Undo steps run in reverse; every one runs even when an earlier one fails. */
export class Undo {
  private readonly steps: { what: string; fn: () => void | Promise<void> }[] = [];
  push(what: string, fn: () => void | Promise<void>): void {
    this.steps.push({ what, fn });
  }
  async run(): Promise<unknown[]> {
    const errors: unknown[] = [];
    for (const step of this.steps.reverse()) {
      try {
        await step.fn();
      } catch (error) {
        errors.push(new Error(`cleanup "${step.what}" failed; check \`findmnt\` and \`losetup -a\``, { cause: error }));
      }
    }
    return errors;
  }
}

export async function withUndo<T>(fn: (undo: Undo) => Promise<T>): Promise<T> {
  const undo = new Undo();
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await fn(undo) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const problems = await undo.run();
  if (problems.length > 0) throw new AggregateError(outcome.ok ? problems : [outcome.error, ...problems], 'boot loop test cleanup failed');
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** A just-closed fd can keep a filesystem busy for a moment; retry briefly. */
export async function umount(dir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      run('umount', [dir]);
      return;
    } catch (error) {
      if (attempt >= 10) throw error;
      await sleep(100 * attempt);
    }
  }
}

export async function mount(undo: Undo, device: string, dir: string, type: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  run('mount', ['-t', type, device, dir]);
  undo.push(`umount ${dir}`, () => umount(dir));
}

export interface LoopDisk {
  image: string;
  /** /dev/loopN: the whole disk. */
  loop: string;
  part(n: number): string;
}

/**
 * An image with `sfdiskScript` applied and `fill` run on the file, attached with partitions. Some
 * kernels (or containers without udev) do not scan on attach: `partx -u` adds the partitions.
 */
export async function attachDisk(undo: Undo, dir: string, sfdiskScript: string, fill: (image: string) => void, partitions: number): Promise<LoopDisk> {
  const image = path.join(dir, 'disk.img');
  fs.writeFileSync(image, '');
  fs.truncateSync(image, DISK_MIB * MiB);
  run('sfdisk', ['--quiet', image], sfdiskScript);
  fill(image);
  const loop = run('losetup', ['--find', '--show', '--partscan', image]);
  if (!/^\/dev\/loop\d+$/.test(loop)) throw new Error(`losetup gave '${loop}', not a loop device`);
  undo.push(`losetup -d ${loop}`, () => void run('losetup', ['-d', loop]));
  const part = (n: number): string => `${loop}p${n}`;
  for (let attempt = 0; !fs.existsSync(part(partitions)); attempt++) {
    if (attempt === 0) {
      try {
        run('partx', ['-u', loop]);
      } catch {
        // the scan on attach may be under way; wait for the nodes
      }
    }
    if (attempt > 50) throw new Error(`${part(partitions)} did not appear after attaching ${image}`);
    await sleep(100);
  }
  return { image, loop, part };
}

export const mkfsExt4 = (device: string): void => void run('mkfs.ext4', ['-q', '-F', '-b', '4096', device]);


/**
 * The boot tests' MBR disk: a 16 MiB partition for /boot and a 32 MiB one for /, both ext4, with
 * `bootCode` at bytes 0-439 and `gap` from byte 512 (the post-MBR gap GRUB's core.img lives in).
 */
export async function attachMbrBootDisk(undo: Undo, dir: string, bootCode: Buffer, gap: Buffer): Promise<LoopDisk> {
  const disk = await attachDisk(undo, dir, 'label: dos\nstart=2048, size=16MiB, type=83\nsize=32MiB, type=83\n', (image) => {
    writeAt(image, 0, bootCode);
    writeAt(image, 512, gap);
  }, 2);
  mkfsExt4(disk.part(1));
  mkfsExt4(disk.part(2));
  return disk;
}
