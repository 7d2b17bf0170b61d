// src/kernel/namespaces.ts against the helper, which takes its CLONE_NEW* values from the C
// library's <sched.h>. The helper's `--check` dump names the namespace it knows for each nstype,
// so a wrong number on either side shows up as a wrong name or a rejected plan.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLONE_FLAG, NAMESPACES, PROC_NAME } from '../../src/kernel/namespaces.ts';
import { decodeWire, encodePlan, RecordType } from '../../src/wire/index.ts';

// NSCTL_TEST_HELPER points the tests at another build (an ASan build, or a qemu wrapper on CI).
const HELPER =
  process.env['NSCTL_TEST_HELPER'] ?? fileURLToPath(new URL(`../../prebuilds/linux-${process.arch}/nsctl-helper`, import.meta.url));

function check(bytes: Uint8Array): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(HELPER, ['--check'], { input: bytes, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A plan that joins slot 0 with `nstype`, written byte by byte (the encoder only takes names). */
function setnsPlan(nstype: number): Uint8Array {
  const bytes = encodePlan(
    {
      files: [{ kind: 'path', path: 'ns' }],
      steps: [
        { op: 'setns', slot: 0, ns: 'user', soft: false },
        { op: 'exec', file: 'true', argv: ['true'], env: [], searchPath: undefined },
      ],
    },
    4,
  );
  // header 16 + SLOTS record 16 + SETNS record header 8 + slot 4 = the nstype field
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect(view.getUint16(32, true)).toBe(RecordType.SETNS);
  view.setUint32(16 + 16 + 8 + 4, nstype, true);
  return bytes;
}

describe('CLONE_NEW* values', () => {
  it.each(NAMESPACES)('the helper knows %s by the same number', (ns) => {
    const r = check(setnsPlan(CLONE_FLAG[ns]));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const hex = CLONE_FLAG[ns].toString(16).padStart(8, '0');
    expect(r.stdout).toContain(`step 0 setns slot=0 nstype=0x${hex} ${ns} hard\n`);
  });

  it('the helper accepts no other single-bit nstype, and neither does TypeScript', () => {
    const known = new Set(Object.values(CLONE_FLAG));
    expect(known.size).toBe(8);
    for (let bit = 0; bit < 32; bit++) {
      const nstype = 2 ** bit;
      if (known.has(nstype)) continue;
      const reason = `record 1 (setns): unknown nstype 0x${nstype.toString(16)}`;
      expect(check(setnsPlan(nstype)).stderr).toBe(`nsctl-helper: invalid plan: ${reason}\n`);
      expect(decodeWire(setnsPlan(nstype))).toStrictEqual({ ok: false, reason });
    }
  });

  it('every namespace is a single, distinct bit and has a /proc name', () => {
    for (const ns of NAMESPACES) {
      const flag = CLONE_FLAG[ns];
      expect(flag > 0 && (flag & (flag - 1)) === 0, ns).toBe(true);
      expect(PROC_NAME[ns]).toMatch(/^[a-z]+$/);
    }
    expect(new Set(NAMESPACES).size).toBe(8);
  });
});
