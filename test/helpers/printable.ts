// printable.ts - turns raw bytes (names, paths, xattr values) into one unambiguous line for test
// output. Valid UTF-8 stays readable; a byte that is not part of a valid UTF-8 sequence, a control
// byte and the backslash itself become \xNN, so 'f\xff' (invalid) and 'f\u{fffd}' (a real
// replacement character) never print alike.

function sequenceLength(bytes: Buffer, i: number): number {
  const b0 = bytes[i]!;
  let need: number;
  let min: number;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xc2 && b0 <= 0xdf) [need, min] = [1, 0x80];
  else if (b0 >= 0xe0 && b0 <= 0xef) [need, min] = [2, 0x800];
  else if (b0 >= 0xf0 && b0 <= 0xf4) [need, min] = [3, 0x10000];
  else return 0;
  if (i + need >= bytes.length) return 0; // truncated sequence
  let cp = b0 & (0xff >> (need + 2));
  for (let k = 1; k <= need; k++) {
    const b = bytes[i + k]!;
    if ((b & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return need + 1;
}

function hexByte(b: number): string {
  return `\\x${b.toString(16).padStart(2, '0')}`;
}

/** A path or name as one readable line; invalid UTF-8, controls and '\' shown as \xNN. */
export function printablePath(bytes: Buffer): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const len = sequenceLength(bytes, i);
    const b = bytes[i]!;
    if (len === 0 || (len === 1 && (b < 0x20 || b === 0x7f || b === 0x5c))) {
      out += hexByte(b);
      i += 1;
    } else {
      out += bytes.toString('utf8', i, i + len);
      i += len;
    }
  }
  return out;
}

/** An xattr value or similar: quoted text when it is printable ASCII, else hex; long ones cut. */
export function printableValue(bytes: Buffer, max = 96): string {
  const text = bytes.length > 0 && bytes.every((b) => b >= 0x20 && b < 0x7f);
  const shown = text ? JSON.stringify(bytes.toString('latin1')) : `hex:${bytes.toString('hex')}`;
  return shown.length <= max ? shown : `${shown.slice(0, max)}… (${bytes.length} bytes)`;
}
