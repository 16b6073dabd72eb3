// Which disk boots ROOT: the filesystem mounted at ROOT/boot (or ROOT's own, when /boot is not a
// separate mount), from /proc/self/mountinfo, followed through sysfs to its disk (see
// sysfs-chain.ts), or the disk named with --boot-device. Never throws for an expected problem:
// every way of not finding the disk is a reason the caller prints ("skipped because ...").
import fs from 'node:fs';
import path from 'node:path';

import type { BootDiskResult, FindBootDiskOptions } from './boot-types.js';
import { closeDisk, layoutOf, majorMinor, openDiskForRead } from './disk-io.js';
import { blockNameOf, resolveDiskChain } from './sysfs-chain.js';

export interface MountEntry {
  mountPoint: string;
  majorMinor: string;
  fsType: string;
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash (all ASCII) as \ooo. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    // id parent maj:min root mountpoint options [optional fields...] - fstype source superoptions
    const sep = f.indexOf('-', 6);
    if (f.length < 7 || sep < 0) continue;
    out.push({ majorMinor: f[2]!, mountPoint: unescape(f[4]!), fsType: f[sep + 1] ?? '', source: unescape(f[sep + 2] ?? '') });
  }
  return out;
}

const isBelowOrAt = (p: string, dir: string): boolean => dir === '/' || p === dir || p.startsWith(`${dir}/`);

/**
 * The mount that holds `target`: the deepest mount point above it that is still visible. A mount
 * hides the earlier mounts at or below its own mount point (mountinfo lists them in mount order).
 */
export function mountHolding(target: string, mounts: MountEntry[]): MountEntry | null {
  let visible: MountEntry[] = [];
  for (const m of mounts) {
    visible = visible.filter((v) => !isBelowOrAt(v.mountPoint, m.mountPoint));
    visible.push(m);
  }
  let best: MountEntry | null = null;
  for (const m of visible) {
    if (isBelowOrAt(target, m.mountPoint) && (best === null || m.mountPoint.length > best.mountPoint.length)) best = m;
  }
  return best;
}

type Located = { ok: true; device: string } | { ok: false; reason: string };

function normalRoot(root: string): string {
  const abs = path.resolve(root);
  try {
    return fs.realpathSync(abs);
  } catch {
    return abs;
  }
}

/**
 * The device file of ROOT's boot disk, from mountinfo and sysfs, without opening it. ROOT/boot is
 * taken as a path: if it is a symlink, the mount holding it is ROOT's, which is what a boot loader
 * reading ROOT's filesystem sees too.
 */
export function locateBootDevice(root: string, opts: FindBootDiskOptions = {}): Located {
  const sysRoot = opts.sysRoot ?? '/sys';
  const devRoot = opts.devRoot ?? '/dev';
  const rootDir = normalRoot(root);
  const bootDir = rootDir === '/' ? '/boot' : `${rootDir}/boot`;
  let text: string;
  try {
    text = opts.mountinfo ?? fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch (error) {
    return { ok: false, reason: `cannot read /proc/self/mountinfo: ${(error as Error).message}` };
  }
  const mount = mountHolding(bootDir, parseMountinfo(text));
  if (mount === null) return { ok: false, reason: `no mount holds ${bootDir} in mountinfo` };
  const where = `${bootDir} (${mount.mountPoint === bootDir ? 'mounted' : `on the mount at ${mount.mountPoint}`} from ${mount.source}, ${mount.fsType})`;
  let mm = mount.majorMinor;
  if (mm.startsWith('0:')) {
    // Anonymous device numbers (btrfs, overlay, tmpfs, nfs): the source may still name a device.
    mm = '';
    if (mount.source.startsWith('/dev/')) {
      try {
        const st = fs.statSync(mount.source, { bigint: true });
        if (st.isBlockDevice()) mm = majorMinor(st.rdev);
      } catch {
        // not resolvable: reported below
      }
    }
    if (mm === '') return { ok: false, reason: `${where} is not on a block device` };
  }
  const name = blockNameOf(mm, sysRoot);
  if (name === null) return { ok: false, reason: `${where}: block device ${mm} not found in ${sysRoot}` };
  const chain = resolveDiskChain(name, sysRoot);
  if (!chain.ok) return { ok: false, reason: `${where}: ${chain.reason}` };
  if (chain.partition === null) {
    return { ok: false, reason: `${where} is on the whole device ${chain.chain.join(' -> ')}, not on a partition: no boot area to keep` };
  }
  return { ok: true, device: path.join(devRoot, chain.disk) };
}

/** --boot-device: a disk image file as is; a block device (or a partition of it) as its disk. */
export function locateNamedDevice(bootDevice: string, opts: FindBootDiskOptions = {}): Located {
  const given = path.resolve(bootDevice);
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(given, { bigint: true });
  } catch (error) {
    return { ok: false, reason: `--boot-device ${bootDevice}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or device' : (error as Error).message}` };
  }
  if (st.isFile()) return { ok: true, device: given };
  if (!st.isBlockDevice()) return { ok: false, reason: `--boot-device ${bootDevice} is neither a block device nor a disk image file` };
  const sysRoot = opts.sysRoot ?? '/sys';
  const mm = majorMinor(st.rdev);
  const name = blockNameOf(mm, sysRoot);
  if (name === null) return { ok: false, reason: `--boot-device ${bootDevice}: block device ${mm} not found in ${sysRoot}` };
  const chain = resolveDiskChain(name, sysRoot);
  if (!chain.ok) return { ok: false, reason: `--boot-device ${bootDevice}: ${chain.reason}` };
  // The disk itself keeps the name it was given (a /dev/disk/by-id link stays readable in records).
  return { ok: true, device: chain.disk === name ? given : path.join(opts.devRoot ?? '/dev', chain.disk) };
}

/** Reads the partition table of `device` now: its kind and fingerprint, or why it has no boot area. */
export function inspectBootDisk(device: string): BootDiskResult {
  let disk;
  try {
    disk = openDiskForRead(device);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  try {
    const layout = layoutOf(disk);
    if (!layout.ok) return { ok: false, reason: `${device}: ${layout.reason}` };
    return { ok: true, disk: { device, kind: layout.layout.kind, fingerprint: layout.layout.fingerprint } };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  } finally {
    closeDisk(disk);
  }
}

export function findBootDisk(root: string, opts: FindBootDiskOptions = {}): BootDiskResult {
  const located = opts.bootDevice !== undefined ? locateNamedDevice(opts.bootDevice, opts) : locateBootDevice(root, opts);
  return located.ok ? inspectBootDisk(located.device) : located;
}
