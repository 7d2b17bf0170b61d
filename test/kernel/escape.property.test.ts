// escapeUntrusted (src/kernel/escape.ts): what it prints is printable ASCII, and it reads back to
// exactly the bytes it was given, so two different byte strings never print the same.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBytes } from '../../src/kernel/bytes.ts';
import { escapeUntrusted } from '../../src/kernel/escape.ts';

/** The reader the format promises: bytes, with a lone surrogate as its own marker. */
function readBack(escaped: string): (number | string)[] {
  const out: (number | string)[] = [];
  for (let i = 0; i < escaped.length; ) {
    if (escaped[i] !== '\\') {
      out.push(escaped.charCodeAt(i));
      i += 1;
    } else if (escaped[i + 1] === '\\') {
      out.push(0x5c);
      i += 2;
    } else if (escaped[i + 1] === 'x' && /^[0-9a-f]{2}$/.test(escaped.slice(i + 2, i + 4))) {
      out.push(parseInt(escaped.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (escaped[i + 1] === 'u' && /^d[89a-f][0-9a-f]{2}$/.test(escaped.slice(i + 2, i + 6))) {
      out.push(`u${escaped.slice(i + 2, i + 6)}`);
      i += 6;
    } else {
      throw new Error(`not a valid escape at ${i}: ${escaped}`);
    }
  }
  return out;
}

/** What a string stands for, modelled independently: UTF-8 bytes, raw bytes, lone surrogates. */
function model(text: string): (number | string)[] {
  const out: (number | string)[] = [];
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code >= 0xdc80 && code <= 0xdcff) out.push(code - 0xdc00);
    else if (code >= 0xd800 && code <= 0xdfff) out.push(`u${code.toString(16)}`);
    else out.push(...Buffer.from(char, 'utf8'));
  }
  return out;
}

const anyUnits = fc.string({ maxLength: 40, unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)) });
const anyText = fc.oneof(anyUnits, fc.string({ maxLength: 40, unit: 'binary' }), fc.string({ maxLength: 40 }));

describe('escapeUntrusted', () => {
  it('prints printable ASCII only', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(escapeUntrusted(text)).toMatch(/^[\x20-\x7e]*$/);
      }),
    );
  });

  it('reads back to the bytes of any string, so it is injective on what strings stand for', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(readBack(escapeUntrusted(text))).toEqual(model(text));
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        // Raw bytes from /proc or a state file, as src/kernel/bytes.ts decodes them.
        expect(readBack(escapeUntrusted(decodeBytes(bytes)))).toEqual([...bytes]);
      }),
    );
  });

  it('different bytes never print the same', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), fc.uint8Array({ maxLength: 12 }), (a, b) => {
        fc.pre(Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0);
        expect(escapeUntrusted(decodeBytes(a))).not.toBe(escapeUntrusted(decodeBytes(b)));
      }),
    );
    // Pairs that differ in one byte, where collisions would hide.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 12 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (a, at, delta) => {
        const b = Uint8Array.from(a);
        const i = at % a.length;
        b[i] = (b[i]! + delta) % 256;
        expect(escapeUntrusted(decodeBytes(a))).not.toBe(escapeUntrusted(decodeBytes(b)));
      }),
    );
  });

  it('keeps printable ASCII, and shows what a terminal would have obeyed', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).filter((c) => c !== 0x5c).map((c) => String.fromCharCode(c)) }), (text) => {
        expect(escapeUntrusted(text)).toBe(text);
      }),
    );
    expect(escapeUntrusted('web\x1b[2J\n')).toBe('web\\x1b[2J\\x0a');
    expect(escapeUntrusted('a\\x41')).toBe('a\\\\x41');
    expect(escapeUntrusted('café\t')).toBe('caf\\xc3\\xa9\\x09');
    expect(escapeUntrusted(decodeBytes(Uint8Array.from([0x61, 0xff, 0xc3])))).toBe('a\\xff\\xc3');
    expect(escapeUntrusted('\ud800')).toBe('\\ud800');
    expect(escapeUntrusted('\u{1f600}')).toBe('\\xf0\\x9f\\x98\\x80');
  });
});
