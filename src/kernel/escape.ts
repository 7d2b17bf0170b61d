// Text that a target or another user controls — container names, engine IDs, paths read from
// engine state or /proc — must never reach the caller's terminal raw: a name holding ESC [ 2 J
// clears the screen, one holding a newline forges a line of output, and on kernels that still
// allow it a terminal escape can even push input. So such text is printed as plain ASCII that
// still says exactly which bytes were there (docs/security.md, "Text from targets in messages").
//
//   printable ASCII (0x20–0x7e)   as is, except `\`, which becomes `\\`
//   every other byte              `\xHH`, lower-case hex: the bytes of the character's UTF-8
//                                 encoding, or the raw byte an escaped byte from bytes.ts stands for
//   a lone surrogate standing     `\uHHHH` (only a JavaScript string can hold one; it is no byte,
//   for no byte                   so it gets a form no byte sequence produces)
//
// Every `\` in the output starts one of `\\`, `\xHH`, `\uHHHH`, so the output reads back
// unambiguously: two strings give the same output exactly when they stand for the same bytes.

const PLAIN = /^[\x20-\x5b\x5d-\x7e]*$/;

export function escapeUntrusted(text: string): string {
  if (PLAIN.test(text)) return text;
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code === 0x5c) out += '\\\\';
    else if (code >= 0x20 && code <= 0x7e) out += char;
    else if (code >= 0xdc80 && code <= 0xdcff) out += hexByte(code - 0xdc00); // a raw byte (bytes.ts)
    else if (code >= 0xd800 && code <= 0xdfff) out += `\\u${code.toString(16)}`;
    else for (const byte of Buffer.from(char, 'utf8')) out += hexByte(byte);
  }
  return out;
}

const hexByte = (byte: number): string => `\\x${byte.toString(16).padStart(2, '0')}`;
