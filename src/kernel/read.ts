// Reading a whole file that reports no size (/proc), with plain reads.
import { closeSync, openSync, readSync } from 'node:fs';

/**
 * A /proc file whole; throws what open or read throws. Not readFileSync: /proc files report
 * size 0, which sends it down a path that cost ~0.4 ms more per file on the test VM (bench/results.md).
 */
export function readWhole(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    return readAll(fd, Infinity)!;
  } finally {
    closeSync(fd);
  }
}

/** Everything left to read on `fd`, or undefined once it passes `limit` bytes. */
function readAll(fd: number, limit: number): Buffer | undefined {
  let buffer = Buffer.allocUnsafe(16 * 1024);
  let got = 0;
  for (;;) {
    if (got === buffer.length) {
      const bigger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(bigger, 0, 0, got);
      buffer = bigger;
    }
    const n = readSync(fd, buffer, got, buffer.length - got, null);
    if (n === 0) return buffer.subarray(0, got);
    got += n;
    if (got > limit) return undefined;
  }
}
