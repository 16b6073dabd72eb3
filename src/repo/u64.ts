// u64 fields that hold byte counts and offsets (JS numbers, < 2^53), little-endian, as two u32
// halves: Buffer's BigInt readers and writers build intermediate BigInts, several times slower,
// and these fields are written for every index row and tree entry.
const TWO_32 = 0x100000000;

/** Writes `value` (a safe integer >= 0) at `at`; anything else is a bug upstream: RangeError. */
export function writeU64(buf: Buffer, at: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`u64 field: ${value} is not a byte count or offset`);
  buf.writeUInt32LE(value % TWO_32, at);
  buf.writeUInt32LE(Math.floor(value / TWO_32), at + 4);
}

export function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * TWO_32;
}
