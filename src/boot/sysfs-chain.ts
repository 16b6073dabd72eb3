// From a block device (major:minor) to the one disk whose sector 0 boots it, through sysfs only:
// partition -> its disk (class/block/<part>/partition, parent directory in block/), and
// device-mapper / LVM / LUKS (block/dm-N/slaves/) followed while it is a single chain. Anything
// that is not one chain down to one partition of one disk (md RAID, a volume over several
// devices, a filesystem on a whole disk) gives a reason instead of a guess: writing boot code to
// the wrong disk is worse than not writing it.
import fs from 'node:fs';
import path from 'node:path';

export type ChainResult =
  | { ok: true; disk: string; partition: string | null; chain: string[] }
  | { ok: false; reason: string };

/** A stack of dm devices deeper than this is a loop in the tree, not a real setup. */
const MAX_DEPTH = 16;

function exists(p: string): boolean {
  try {
    fs.statSync(p);
    return true;
  } catch {
    return false;
  }
}

function readText(p: string): string | null {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return null;
  }
}

function listDir(p: string): string[] {
  try {
    return fs.readdirSync(p).sort();
  } catch {
    return [];
  }
}

/** The kernel's name ("sda1", "dm-0", "loop3p1") of the block device major:minor, or null. */
export function blockNameOf(majorMinor: string, sysRoot: string): string | null {
  try {
    return path.basename(fs.readlinkSync(path.join(sysRoot, 'dev/block', majorMinor)));
  } catch {
    // no dev/block symlink: search class/block by its dev file
  }
  for (const name of listDir(path.join(sysRoot, 'class/block'))) {
    if (readText(path.join(sysRoot, 'class/block', name, 'dev')) === majorMinor) return name;
  }
  return null;
}

/** "dm-0 (vg-root)" for device-mapper devices, the bare name otherwise. */
function label(name: string, sysRoot: string): string {
  const dmName = readText(path.join(sysRoot, 'block', name, 'dm/name'));
  return dmName ? `${name} (${dmName})` : name;
}

function isMd(name: string, sysRoot: string): boolean {
  return /^md\d|^md_/.test(name) || exists(path.join(sysRoot, 'block', name, 'md'));
}

/** The disk directory in block/ that holds partition `part`. */
function parentDiskOf(part: string, sysRoot: string): string | null {
  try {
    // class/block/<part> -> .../block/<disk>/<part>
    const parent = path.basename(path.dirname(fs.realpathSync(path.join(sysRoot, 'class/block', part))));
    if (parent !== part && exists(path.join(sysRoot, 'block', parent, part))) return parent;
  } catch {
    // fall back to a search
  }
  for (const disk of listDir(path.join(sysRoot, 'block'))) {
    if (exists(path.join(sysRoot, 'block', disk, part, 'partition'))) return disk;
  }
  return null;
}

/** Why a disk cannot be the boot disk because it is itself built from other devices, or null. */
function stackedReason(name: string, sysRoot: string): string | null {
  const slaves = listDir(path.join(sysRoot, 'block', name, 'slaves'));
  if (isMd(name, sysRoot)) {
    const level = readText(path.join(sysRoot, 'block', name, 'md/level'));
    const over = slaves.length > 0 ? ` over ${slaves.join(', ')}` : '';
    return (
      `${name} is a software RAID array (md${level ? ` ${level}` : ''})${over}: each member disk has ` +
      'its own boot area and this tool will not pick one; name a disk with --boot-device'
    );
  }
  if (slaves.length > 1) {
    return `${label(name, sysRoot)} spans ${slaves.length} devices (${slaves.join(', ')}): cannot pick one boot disk; name it with --boot-device`;
  }
  return null;
}

/**
 * Follows `name` down to a disk. `partition` is the partition met on the way (null when the chain
 * ends on a whole device without passing through one).
 */
export function resolveDiskChain(name: string, sysRoot: string): ChainResult {
  const chain: string[] = [];
  const fail = (reason: string): ChainResult => ({ ok: false, reason });
  let current = name;
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    if (!exists(path.join(sysRoot, 'class/block', current))) return fail(`${current} is not in ${path.join(sysRoot, 'class/block')}`);
    chain.push(label(current, sysRoot));
    if (exists(path.join(sysRoot, 'class/block', current, 'partition'))) {
      const disk = parentDiskOf(current, sysRoot);
      if (disk === null) return fail(`cannot find the disk that holds partition ${current} in ${path.join(sysRoot, 'block')}`);
      const stacked = stackedReason(disk, sysRoot);
      if (stacked !== null) return fail(`${current} is a partition of ${disk}; ${stacked}`);
      if (listDir(path.join(sysRoot, 'block', disk, 'slaves')).length > 0) {
        return fail(`${current} is a partition of ${label(disk, sysRoot)}, which is itself a mapped device: no boot sector of its own`);
      }
      chain.push(disk);
      return { ok: true, disk, partition: current, chain };
    }
    const stacked = stackedReason(current, sysRoot);
    if (stacked !== null) return fail(stacked);
    const slaves = listDir(path.join(sysRoot, 'block', current, 'slaves'));
    if (slaves.length === 0) return { ok: true, disk: current, partition: null, chain };
    current = slaves[0]!;
  }
  return fail(`device chain deeper than ${MAX_DEPTH}: ${chain.join(' -> ')}`);
}
