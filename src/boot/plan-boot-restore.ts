// The boot restore planner: a point's boot record + the disk found now -> write or skip, with the
// reason. Pure (no disk access), so every branch is tested on data. It writes only when the point
// has a boot area and the disk now carries the same partition table fingerprint: boot code made
// for another layout points GRUB at sectors that now hold something else.
import type { BootDiskResult, BootPlan, BootRecord, BootWrite } from './boot-types.js';
import { NO_BOOT_REASON } from './boot-types.js';
import { BOOT_CODE_LENGTH, GAP_START, MAX_GAP_BYTES } from './partition-table.js';

const HEX_ID = /^[0-9a-f]{64}$/;
const short = (fingerprint: string): string => fingerprint.slice(0, 12);
const skip = (reason: string): BootPlan => ({ action: 'skip', reason });

/** What is wrong with a record read from a point file (it is JSON from disk: trust nothing), or null. */
function recordProblem(r: BootRecord): string | null {
  if (r.kind !== 'mbr' && r.kind !== 'gpt') return `unknown kind ${JSON.stringify(r.kind)}`;
  if (typeof r.fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(r.fingerprint)) return 'bad fingerprint';
  if (typeof r.boot_code !== 'string' || !HEX_ID.test(r.boot_code)) return 'bad boot_code blob id';
  if (!Number.isSafeInteger(r.gap_length) || r.gap_length < 0 || r.gap_length > MAX_GAP_BYTES) return `bad gap_length ${r.gap_length}`;
  if (r.gap_length === 0) return null;
  if (typeof r.gap !== 'string' || !HEX_ID.test(r.gap)) return 'bad gap blob id';
  if (!Number.isSafeInteger(r.gap_offset) || r.gap_offset < GAP_START) return `bad gap_offset ${r.gap_offset}`;
  if (r.gap_source !== 'post-mbr-gap' && r.gap_source !== 'bios-boot-partition') return `unknown gap_source ${JSON.stringify(r.gap_source)}`;
  return null;
}

export function planBootRestore(record: BootRecord | null, now: BootDiskResult | { ok: false; reason: string }): BootPlan {
  if (!now.ok && now.reason === NO_BOOT_REASON) return skip(NO_BOOT_REASON);
  if (record === null || record === undefined) return skip('no boot area in this point');
  const problem = recordProblem(record);
  if (problem !== null) return skip(`the point's boot record is unusable (${problem})`);
  if (!now.ok) return skip(`boot disk not found: ${now.reason}`);
  const { disk } = now;
  if (disk.kind !== record.kind) {
    return skip(`partition table changed since the point (${record.kind.toUpperCase()} then, ${disk.kind.toUpperCase()} now on ${disk.device})`);
  }
  if (disk.fingerprint !== record.fingerprint) {
    return skip(`partition table changed since the point (fingerprint ${short(record.fingerprint)} then, ${short(disk.fingerprint)} now on ${disk.device})`);
  }
  const writes: BootWrite[] = [{ offset: 0, length: BOOT_CODE_LENGTH, blob: record.boot_code, what: 'boot code' }];
  if (record.gap_length > 0) {
    const what = record.gap_source === 'bios-boot-partition' ? 'BIOS boot partition' : 'post-MBR gap';
    writes.push({ offset: record.gap_offset, length: record.gap_length, blob: record.gap, what });
  }
  return { action: 'write', device: disk.device, writes, fingerprint: disk.fingerprint };
}

/** One line for --dry-run and for "skipped because ...". */
export function describeBootPlan(plan: BootPlan): string {
  if (plan.action === 'skip') {
    return plan.reason === NO_BOOT_REASON ? 'boot area: skipped because --no-boot was given' : `boot area: skipped because ${plan.reason}`;
  }
  const parts = plan.writes.map((w) => `${w.what} (bytes ${w.offset}-${w.offset + w.length - 1}, ${w.length} bytes)`);
  return `boot area: write ${parts.join(' and ')} to ${plan.device}`;
}
