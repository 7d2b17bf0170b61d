// The escaped-bytes codec (src/kernel/bytes.ts): any bytes survive the trip through a string, and
// text that is UTF-8 is just text.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBytes, encodeBytes } from '../../src/kernel/bytes.ts';

const utf8 = new TextEncoder();
/** encodeBytes may give a Buffer; compare contents only. */
const plain = (bytes: Uint8Array | undefined): Uint8Array | undefined => (bytes === undefined ? undefined : Uint8Array.from(bytes));
// Bytes that are often not UTF-8: continuation bytes, lead bytes, and the edges RFC 3629 rules out.
const awkwardByte = fc.constantFrom(0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90);
const bytes = fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), awkwardByte), { maxLength: 40 }).map((list) => Uint8Array.from(list));

describe('decodeBytes / encodeBytes', () => {
  it('gives back the very bytes it was given, whatever they are', () => {
    fc.assert(
      fc.property(bytes, (input) => {
        expect(plain(encodeBytes(decodeBytes(input)))).toEqual(input);
      }),
      { numRuns: 5000 },
    );
  });

  it('decodes UTF-8 as plain text and encodes text as plain UTF-8', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        expect(decodeBytes(utf8.encode(text))).toBe(text);
        expect(plain(encodeBytes(text))).toEqual(utf8.encode(text));
      }),
    );
  });

  it('escapes exactly the bytes that are not part of valid UTF-8', () => {
    fc.assert(
      fc.property(bytes, (input) => {
        const text = decodeBytes(input);
        const escapes = [...text].filter((c) => c.length === 1 && c.charCodeAt(0) >= 0xdc80 && c.charCodeAt(0) <= 0xdcff);
        const valid = new TextDecoder('utf-8', { fatal: true });
        let isUtf8 = true;
        try {
          valid.decode(input);
        } catch {
          isUtf8 = false;
        }
        expect(escapes.length === 0).toBe(isUtf8);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses a lone surrogate that is not an escaped byte', () => {
    for (const lone of ['\ud800', '\udbff', '\udc00', '\udc7f', 'a\ud83d', '\ude00b']) expect(encodeBytes(lone)).toBeUndefined();
    expect(plain(encodeBytes('\udc80\udcff'))).toEqual(Uint8Array.from([0x80, 0xff]));
    expect(plain(encodeBytes('\ud83d\ude00'))).toEqual(utf8.encode('😀'));
    expect(decodeBytes(Uint8Array.from([0xed, 0xa0, 0x80]))).toBe('\udced\udca0\udc80'); // an encoded surrogate is not UTF-8
    expect(decodeBytes(Uint8Array.from([0xe2, 0x82, 0x41]))).toBe('\udce2\udc82A');
  });
});
