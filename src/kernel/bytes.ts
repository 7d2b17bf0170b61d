// Arguments, environment entries and paths are bytes to Linux, not text. Node decodes them as
// UTF-8 and turns each invalid byte into U+FFFD for good, so `nsctl … printf %s $'\xff'` would
// run printf with three other bytes. Where nsctl must hand such bytes on unchanged, it decodes the
// raw bytes with Python's "surrogateescape" instead: valid UTF-8 becomes text as usual, and each
// byte that is not part of valid UTF-8 becomes the lone surrogate U+DC80 + (byte − 0x80). Lone
// surrogates never come out of Node's own decoding, so they stand for exactly those bytes, and
// encoding gives the original bytes back for any input.

import { isUtf8 } from 'node:buffer';

const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);

/** Raw bytes as a string that `encodeBytes` turns back into the same bytes. */
export function decodeBytes(bytes: Uint8Array): string {
  // Every run decodes the whole environment; Buffer's UTF-8 is the cheap path for the usual case.
  if (isUtf8(bytes)) return asBuffer(bytes).toString('utf8');
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const length = sequenceLength(bytes, i);
    if (length === 0) {
      out += String.fromCharCode(0xdc00 + bytes[i]!);
      i += 1;
    } else {
      out += asBuffer(bytes.subarray(i, i + length)).toString('utf8');
      i += length;
    }
  }
  return out;
}

/**
 * The bytes a string stands for: UTF-8, with each escaped byte (U+DC80–U+DCFF) restored. Undefined
 * for any other lone surrogate, which stands for no bytes at all.
 */
export function encodeBytes(text: string): Uint8Array | undefined {
  if (text.isWellFormed()) return utf8(text);
  const parts: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        parts.push(...utf8(text.slice(i, i + 2)));
        i++;
        continue;
      }
    }
    if (unit >= 0xdc80 && unit <= 0xdcff) parts.push(unit - 0xdc00);
    else if (unit >= 0xd800 && unit <= 0xdfff) return undefined;
    else parts.push(...utf8(text[i]!));
  }
  return Uint8Array.from(parts);
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 if none starts there (RFC 3629). */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  const continuation = (k: number, low = 0x80, high = 0xbf): boolean => {
    const b = bytes[i + k];
    return b !== undefined && b >= low && b <= high;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return continuation(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    // No overlong forms (E0 needs A0–BF) and no UTF-16 surrogates (ED needs 80–9F).
    const low = b0 === 0xe0 ? 0xa0 : 0x80;
    const high = b0 === 0xed ? 0x9f : 0xbf;
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    // No overlong forms (F0 needs 90–BF) and nothing above U+10FFFF (F4 needs 80–8F).
    const low = b0 === 0xf0 ? 0x90 : 0x80;
    const high = b0 === 0xf4 ? 0x8f : 0xbf;
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}
