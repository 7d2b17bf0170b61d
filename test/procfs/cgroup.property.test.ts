// parseCgroupV2Path (src/procfs/cgroup.ts), the `-c` cgroup path, over generated /proc/PID/cgroup
// text whose paths hold colons and, for the hostile cases, newlines that forge extra lines.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCgroupV2Path } from '../../src/procfs/cgroup.ts';

// Cgroup names: anything but `/` and NUL; colons on purpose, and `0::`-like runs.
const name = fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom('a', 'b', ':', '0', '.', '-', ' ', 'é') });
const path = fc.array(name, { maxLength: 5 }).map((parts) => `/${parts.join('/')}`);
const v1Line = fc.record({ id: fc.integer({ min: 1, max: 13 }), controllers: fc.constantFrom('cpu', 'memory', 'pids,net_cls', 'name=systemd'), path });
const v1Lines = fc.array(v1Line, { maxLength: 8 }).map((lines) => lines.map((l) => `${l.id}:${l.controllers}:${l.path}\n`).join(''));

describe('the -c cgroup path', () => {
  it('is the whole path of the 0:: line, colons included, on pure v2 and hybrid hosts', () => {
    fc.assert(
      fc.property(v1Lines, path, (v1, v2) => {
        expect(parseCgroupV2Path(`${v1}0::${v2}\n`)).toBe(v2);
      }),
    );
  });

  it('a cgroup named `x:/victim` stays x:/victim (the last colon would say /victim)', () => {
    expect(parseCgroupV2Path('0::/x:/victim\n')).toBe('/x:/victim');
    expect(parseCgroupV2Path('1:name=systemd:/\n0::/a/x:/victim\n')).toBe('/a/x:/victim');
  });

  it('without a 0:: line, is the first line\'s path, as nsenter takes it', () => {
    fc.assert(
      fc.property(v1Line, v1Lines, (first, rest) => {
        fc.pre(!rest.includes('0::'));
        expect(parseCgroupV2Path(`${first.id}:${first.controllers}:${first.path}\n${rest}`)).toBe(first.path);
      }),
    );
  });

  it('never answers a path a newline in a cgroup name forged: the true one, or none', () => {
    // A name with `\n0::/victim` (or any forged line) inside the v1 or the v2 path.
    const forged = fc.tuple(path, fc.constantFrom('0::', '5:cpu:', '0::/', ''), path).map(([a, mark, b]) => `${a}\n${mark}${b}`);
    fc.assert(
      fc.property(v1Lines, forged, fc.boolean(), path, (v1, hostile, inV1, clean) => {
        const text = inV1 ? `${v1}3:cpu:${hostile}\n0::${clean}\n` : `${v1}0::${hostile}\n`;
        const truth = inV1 ? clean : hostile;
        const got = parseCgroupV2Path(text);
        if (got !== undefined) expect(got).toBe(truth);
      }),
    );
    expect(parseCgroupV2Path('0::/mine/a\n0::/victim\n')).toBeUndefined();
    expect(parseCgroupV2Path('3:cpu:/a\n0::/victim\n0::/mine\n')).toBeUndefined();
    expect(parseCgroupV2Path('0::/mine/a\n5:cpu:/victim\n')).toBeUndefined();
  });

  it('text without a hierarchy line has no path', () => {
    for (const text of ['', '\n', 'garbage', '0:', 'x::/a', '0::relative']) expect(parseCgroupV2Path(text)).toBeUndefined();
  });
});
