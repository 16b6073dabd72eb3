// xattr-blobs.ts - builds the binary xattr values the kernel itself interprets, so tree specs can
// carry file capabilities and POSIX ACLs without shelling out to setcap/setfacl:
//   security.capability       struct vfs_cap_data / vfs_ns_cap_data (linux/capability.h)
//   system.posix_acl_access   struct posix_acl_xattr_header + entries (linux/posix_acl_xattr.h)
//   system.posix_acl_default  the same layout, on directories only
// All fields are little-endian on disk whatever the host order.

const VFS_CAP_REVISION_2 = 0x02000000;
const VFS_CAP_REVISION_3 = 0x03000000;
const VFS_CAP_FLAGS_EFFECTIVE = 0x000001;

/** Capability numbers from linux/capability.h (the ones specs are likely to want). */
export const CAP = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  FOWNER: 3,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  NET_BIND_SERVICE: 10,
  NET_ADMIN: 12,
  NET_RAW: 13,
  SYS_ADMIN: 21,
  SYS_TIME: 25,
  AUDIT_WRITE: 29,
  SETFCAP: 31,
  BPF: 39,
  CHECKPOINT_RESTORE: 40,
} as const;

export interface CapabilitySpec {
  permitted: readonly number[];
  inheritable?: readonly number[];
  /** The single "effective" bit of file capabilities (the `e` in cap_net_raw+ep). */
  effective?: boolean;
  /**
   * Present: a v3 (namespaced) blob with this root uid. The kernel hands a v3 blob whose rootid is
   * 0 back as v2 when read from the initial namespace, so use v2 (omit this) for rootid 0.
   */
  rootid?: number;
}

function capMask(caps: readonly number[], word: 0 | 1): number {
  let mask = 0;
  for (const cap of caps) {
    if (!Number.isInteger(cap) || cap < 0 || cap > 63) throw new RangeError(`bad capability number ${cap}`);
    if (cap >> 5 === word) mask |= 1 << (cap & 31);
  }
  return mask >>> 0;
}

/** The security.capability value for `spec` (20 bytes for v2, 24 for v3). */
export function capabilityXattr(spec: CapabilitySpec): Buffer {
  const v3 = spec.rootid !== undefined;
  const blob = Buffer.alloc(v3 ? 24 : 20);
  const magic = (v3 ? VFS_CAP_REVISION_3 : VFS_CAP_REVISION_2) | (spec.effective === true ? VFS_CAP_FLAGS_EFFECTIVE : 0);
  blob.writeUInt32LE(magic >>> 0, 0);
  const inheritable = spec.inheritable ?? [];
  for (const word of [0, 1] as const) {
    blob.writeUInt32LE(capMask(spec.permitted, word), 4 + word * 8);
    blob.writeUInt32LE(capMask(inheritable, word), 8 + word * 8);
  }
  if (v3) blob.writeUInt32LE(spec.rootid!, 20);
  return blob;
}

const ACL_XATTR_VERSION = 2;
const ACL_UNDEFINED_ID = 0xffffffff;
const ACL_TAG = { USER_OBJ: 0x01, USER: 0x02, GROUP_OBJ: 0x04, GROUP: 0x08, MASK: 0x10, OTHER: 0x20 } as const;

interface AclEntry {
  tag: number;
  id: number;
  perm: number;
}

function parsePerm(text: string, entry: string): number {
  if (/^[0-7]$/.test(text)) return Number(text);
  if (!/^[r-][w-][x-]$/.test(text)) throw new Error(`acl entry '${entry}': permissions must be like 'rw-' or an octal digit`);
  return (text[0] === 'r' ? 4 : 0) | (text[1] === 'w' ? 2 : 0) | (text[2] === 'x' ? 1 : 0);
}

function parseAcl(text: string): AclEntry[] {
  const entries: AclEntry[] = [];
  for (const raw of text.split(/[,\n]/)) {
    const item = raw.trim();
    if (item === '') continue;
    const parts = item.split(':');
    if (parts.length !== 3) throw new Error(`acl entry '${item}': expected tag:qualifier:perms`);
    const [tagText, qualifier, permText] = parts as [string, string, string];
    const perm = parsePerm(permText, item);
    const hasId = qualifier !== '';
    if (hasId && !/^\d+$/.test(qualifier)) throw new Error(`acl entry '${item}': qualifier must be a numeric id`);
    const id = hasId ? Number(qualifier) : ACL_UNDEFINED_ID;
    let tag: number;
    switch (tagText) {
      case 'u':
      case 'user':
        tag = hasId ? ACL_TAG.USER : ACL_TAG.USER_OBJ;
        break;
      case 'g':
      case 'group':
        tag = hasId ? ACL_TAG.GROUP : ACL_TAG.GROUP_OBJ;
        break;
      case 'm':
      case 'mask':
        tag = ACL_TAG.MASK;
        break;
      case 'o':
      case 'other':
        tag = ACL_TAG.OTHER;
        break;
      default:
        throw new Error(`acl entry '${item}': unknown tag '${tagText}'`);
    }
    if ((tag === ACL_TAG.MASK || tag === ACL_TAG.OTHER) && hasId) throw new Error(`acl entry '${item}': no qualifier allowed`);
    entries.push({ tag, id, perm });
  }
  for (const required of [ACL_TAG.USER_OBJ, ACL_TAG.GROUP_OBJ, ACL_TAG.OTHER]) {
    if (!entries.some((e) => e.tag === required)) throw new Error(`acl '${text}': needs u::, g:: and o:: entries`);
  }
  // Like setfacl: a named entry needs a mask; when none is given it is the union of the group class.
  const named = entries.some((e) => e.tag === ACL_TAG.USER || e.tag === ACL_TAG.GROUP);
  if (named && !entries.some((e) => e.tag === ACL_TAG.MASK)) {
    const union = entries
      .filter((e) => e.tag === ACL_TAG.USER || e.tag === ACL_TAG.GROUP || e.tag === ACL_TAG.GROUP_OBJ)
      .reduce((perm, e) => perm | e.perm, 0);
    entries.push({ tag: ACL_TAG.MASK, id: ACL_UNDEFINED_ID, perm: union });
  }
  // The kernel (posix_acl_valid) wants tag order, and libacl writes named ids ascending.
  return entries.sort((x, y) => x.tag - y.tag || x.id - y.id);
}

/**
 * The system.posix_acl_access / system.posix_acl_default value for a setfacl-style short text
 * ('u::rw-,u:1000:r--,g::r--,m::r--,o::---'); ids are numeric, a missing mask is computed.
 */
export function aclXattr(text: string): Buffer {
  const entries = parseAcl(text);
  const blob = Buffer.alloc(4 + entries.length * 8);
  blob.writeUInt32LE(ACL_XATTR_VERSION, 0);
  entries.forEach((entry, i) => {
    blob.writeUInt16LE(entry.tag, 4 + i * 8);
    blob.writeUInt16LE(entry.perm, 6 + i * 8);
    blob.writeUInt32LE(entry.id, 8 + i * 8);
  });
  return blob;
}

/**
 * The rwx bits (0o777) the kernel gives an inode when this access ACL is set: owner from u::,
 * group from the mask (or g:: without one), other from o::.
 */
export function aclModeBits(text: string): number {
  const entries = parseAcl(text);
  const perm = (tag: number): number => entries.find((e) => e.tag === tag)?.perm ?? 0;
  const hasMask = entries.some((e) => e.tag === ACL_TAG.MASK);
  return (perm(ACL_TAG.USER_OBJ) << 6) | (perm(hasMask ? ACL_TAG.MASK : ACL_TAG.GROUP_OBJ) << 3) | perm(ACL_TAG.OTHER);
}

/** True when the ACL says no more than the mode bits do (the kernel then stores no xattr). */
export function aclIsMinimal(text: string): boolean {
  return parseAcl(text).length === 3;
}
