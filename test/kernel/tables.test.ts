// The tables the helper and the TypeScript side must share, each checked against the other:
//  - CLONE_NEW* values (src/kernel/namespaces.ts), through the helper's `--check`;
//  - glibc's strerror texts (src/kernel/errno.ts), by compiling a program against helper/errno.c;
//  - the record table (src/kernel/frames.ts), by compiling a program against helper/decode.c;
//  - the mount API's flag values helper/mounts.c defines (musl lacks them), against the kernel's
//    headers;
//  - the planner's seccomp filter (helper/seccomp.c), run through a classic-BPF interpreter for
//    each of its six machines, with system call numbers and AUDIT_ARCH values from the kernel's
//    and musl's headers rather than from the helper.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { strerror } from '../../src/kernel/errno.ts';
import { CLONE_FLAG, NAMESPACES, PROC_NAME } from '../../src/kernel/namespaces.ts';
import { encodePlan, RECORDS } from '../../src/wire/index.ts';
import { needs } from '../support/gate.ts';
import { check, compileC, REPO } from '../support/helper.ts';
import { modelCheck } from '../support/wire-model.ts';

/** A plan that joins slot 0 with `mask`, written byte by byte (the encoder only takes names). */
function setnsPlan(mask: number): Uint8Array {
  const bytes = encodePlan({
    steps: [
      { op: 'open', slot: 0, at: 'cwd', how: 'read', path: 'ns', fail: { what: '' } },
      { op: 'setns', fd: 0, mask: ['user'], fail: { what: '' } },
      { op: 'exec', file: 'true', argv: ['true'], env: [], fail: { what: '' } },
    ],
  });
  // header 16 + open (8 + 12 + 4 + 2 + 4 + 4) + setns record header 8 + fd 4 = the mask
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = 16 + 34 + 8 + 4;
  expect(view.getUint32(at, true)).toBe(CLONE_FLAG.user);
  view.setUint32(at, mask, true);
  return bytes;
}

describe('CLONE_NEW* values', () => {
  it.each(NAMESPACES)('the helper knows %s by the same number', (ns) => {
    const r = check(setnsPlan(CLONE_FLAG[ns]));
    expect({ status: r.status, stderr: r.stderr }).toStrictEqual({ status: 0, stderr: '' });
    expect(r.stdout).toContain(`step 1 setns fd=0 mask=${ns} texts=[""] hint=""\n`);
  });

  it('the helper names every namespace of a mask, in table order', () => {
    const all = NAMESPACES.reduce((m, ns) => m | CLONE_FLAG[ns], 0) >>> 0;
    expect(check(setnsPlan(all)).stdout).toContain(`mask=${NAMESPACES.join('+')} `);
  });

  it('the helper accepts no other bit, and neither does the model', () => {
    const known = new Set(Object.values(CLONE_FLAG));
    for (let bit = 0; bit < 32; bit++) {
      const mask = 2 ** bit;
      if (known.has(mask)) continue;
      const reason = `record 1 (setns): mask: mask 0x${mask.toString(16)} has unknown bits`;
      expect(check(setnsPlan(mask)).stderr).toBe(`nsctl-helper: invalid plan: ${reason}\n`);
      expect(modelCheck(setnsPlan(mask))).toStrictEqual({ ok: false, reason });
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

const haveCc = needs('cc');
const include = ['-I', `${REPO}helper`];

describe.runIf(haveCc)('tables compiled from the helper', () => {
  it("helper/errno.c has glibc's text for every errno src/kernel/errno.ts knows, and the same fallback", () => {
    const program = compileC(
      'errno-table',
      '#include <stdio.h>\n#include "helper.h"\nint main(void) {\n  char buf[32];\n' +
        '  for (int i = -1; i <= 200; i++) printf("%d\\t%s\\n", i, error_text(i, buf));\n  return 0;\n}\n',
      [...include, `${REPO}helper/errno.c`],
    );
    const lines = spawnSync(program, { encoding: 'utf8' }).stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(202);
    for (const line of lines) {
      const [n, text] = line.split('\t');
      // Unknown numbers (0, 41, 58, …) are "Unknown error N" on both sides.
      if (Number(n) > 0) expect(text, `errno ${n}`).toBe(strerror(Number(n)));
      else expect(text).toBe(`Unknown error ${n}`);
    }
  });

  it('helper/decode.c has the record table of src/kernel/frames.ts, row for row', () => {
    const program = compileC(
      'record-table',
      `#include <stdio.h>
#include "plan.h"
static const char *KIND[] = {"u32", "u64", "new", "slot", "base", "opt-slot", "mask", "str", "list", "enum"};
int main(void) {
  for (unsigned t = 0; t < 200; t++) {
    const struct record_spec *r = record_spec((uint16_t)t);
    if (!r) continue;
    printf("%u %s flags:", t, r->name);
    for (unsigned i = 0; i < 1; i++) if (r->flags[i]) printf(" %s", r->flags[i]);
    printf(" fields:");
    for (unsigned i = 0; i < r->nfields; i++) {
      printf(" %s=%s", r->fields[i].name, KIND[r->fields[i].kind]);
      if (r->fields[i].enum_names) { printf("("); for (const char *const *e = r->fields[i].enum_names; *e; e++) printf("%s%s", e == r->fields[i].enum_names ? "" : ",", *e); printf(")"); }
    }
    printf(" texts:");
    for (unsigned i = 0; i < r->ntexts; i++) printf(" %s", r->texts[i]);
    printf("\\n");
  }
  return 0;
}
`,
      [...include, `${REPO}helper/decode.c`],
    );
    const expected = RECORDS.filter((r) => r.frame === 'plan').map((r) => {
      const fields = r.fields.map(([name, kind]) => ` ${name}=${typeof kind === 'object' ? `enum(${kind.enum.join(',')})` : kind}`);
      return `${r.type} ${r.name} flags:${r.flags.map((f) => ` ${f}`).join('')} fields:${fields.join('')} texts:${r.texts.map((t) => ` ${t}`).join('')}`;
    });
    expect(spawnSync(program, { encoding: 'utf8' }).stdout.trimEnd().split('\n')).toEqual(expected);
  });
});

describe.runIf(haveCc)("the mount API's flags", () => {
  it("helper/mounts.c defines them with the values of the kernel's headers", () => {
    const source = readFileSync(`${REPO}helper/mounts.c`, 'utf8');
    const names = ['OPEN_TREE_CLONE', 'AT_RECURSIVE', 'MOVE_MOUNT_F_EMPTY_PATH', 'MOVE_MOUNT_T_SYMLINKS'];
    const ours = names.map((name) => `${name} ${new RegExp(`^#define ${name} (0x[0-9a-f]+)$`, 'm').exec(source)?.[1]}`);
    const program = compileC(
      'mount-flags',
      '#include <stdio.h>\n#include <linux/mount.h>\n#include <linux/fcntl.h>\nint main(void) {\n' +
        names.map((name) => `  printf("${name} %#x\\n", ${name});\n`).join('') +
        '  return 0;\n}\n',
    );
    expect(spawnSync(program, { encoding: 'utf8' }).stdout.trimEnd().split('\n')).toEqual(ours);
  });
});

// ---- The seccomp filter ------------------------------------------------------------------------

interface Insn {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

const RET_ALLOW = 0x7fff0000;
const RET_KILL_PROCESS = 0x80000000;
const RET_EPERM = 0x00050001;
const RET_ENOSYS = 0x00050026;

/** Classic BPF as seccomp runs it: loads of 32-bit words of seccomp_data, jumps, returns. */
function runFilter(program: readonly Insn[], data: Uint8Array, littleEndian: boolean): number {
  const view = new DataView(data.buffer);
  let acc = 0;
  for (let pc = 0; pc < program.length; ) {
    const { code, jt, jf, k } = program[pc]!;
    if (code === 0x20) {
      acc = view.getUint32(k, littleEndian);
      pc++;
    } else if (code === 0x15) pc += 1 + (acc === k ? jt : jf);
    else if (code === 0x06) return k;
    else throw new Error(`unexpected BPF instruction 0x${code.toString(16)} at ${pc}`);
  }
  throw new Error('fell off the end of the filter');
}

/** struct seccomp_data { int nr; u32 arch; u64 ip; u64 args[6]; } in a machine's byte order. */
function seccompData(nr: number, arch: number, arg0: bigint, littleEndian: boolean): Uint8Array {
  const data = new Uint8Array(64);
  const view = new DataView(data.buffer);
  view.setUint32(0, nr >>> 0, littleEndian);
  view.setUint32(4, arch >>> 0, littleEndian);
  view.setBigUint64(16, arg0, littleEndian);
  return data;
}

/** `#define __NR_<name> <n>` (or SYS_<name>) from a header, with x32's __X32_SYSCALL_BIT. */
function syscallNumber(header: string, name: string): number {
  const text = readFileSync(header, 'utf8');
  const m = new RegExp(`#define\\s+(?:__NR_|SYS_)${name}\\s+\\(?\\s*(__X32_SYSCALL_BIT\\s*\\+\\s*)?(\\d+)\\s*\\)?\\s*$`, 'm').exec(text);
  if (m === null) throw new Error(`${name} not in ${header}`);
  return (m[1] ? 0x40000000 : 0) + Number(m[2]);
}

const ASM = '/usr/include/x86_64-linux-gnu/asm';
const musl = (triplet: string): string => `/usr/include/${triplet}/bits/syscall.h`;
const MACHINES = [
  { name: 'x86_64', arch: 'AUDIT_ARCH_X86_64', header: `${ASM}/unistd_64.h`, le: true, socketcall: false },
  { name: 'x32', arch: 'AUDIT_ARCH_X86_64', header: `${ASM}/unistd_x32.h`, le: true, socketcall: false },
  { name: 'i386', arch: 'AUDIT_ARCH_I386', header: `${ASM}/unistd_32.h`, le: true, socketcall: true },
  { name: 'aarch64', arch: 'AUDIT_ARCH_AARCH64', header: musl('aarch64-linux-musl'), le: true, socketcall: false },
  // EABI has no socketcall (the kernel's is for the old ABI only, which seccomp filters exclude).
  { name: 'arm', arch: 'AUDIT_ARCH_ARM', header: musl('arm-linux-musleabihf'), le: true, socketcall: false },
  { name: 'ppc64le', arch: 'AUDIT_ARCH_PPC64LE', header: musl('powerpc64le-linux-musl'), le: true, socketcall: true },
  { name: 's390x', arch: 'AUDIT_ARCH_S390X', header: musl('s390x-linux-musl'), le: false, socketcall: true },
] as const;

describe.runIf(haveCc)("the planner's seccomp filter, machine by machine", () => {
  // The filter as the helper builds it, and the kernel's AUDIT_ARCH values from <linux/audit.h>.
  const archNames = [...new Set(MACHINES.map((m) => m.arch))];
  const load = (): { program: Insn[]; arch: Record<string, number> } => {
    const program = compileC(
      'seccomp-filter',
      `#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <linux/audit.h>
#include "helper.h"
int main(void) {
  size_t len;
  const uint8_t *p = planner_filter(&len);
${archNames.map((a) => `  printf("arch ${a} %u\\n", (unsigned)${a});`).join('\n')}
  for (size_t i = 0; i < len; i++) {
    uint16_t code; uint32_t k;
    memcpy(&code, p + 8 * i, 2); memcpy(&k, p + 8 * i + 4, 4);
    printf("insn %u %u %u %u\\n", code, p[8 * i + 2], p[8 * i + 3], k);
  }
  return 0;
}
`,
      [...include, `${REPO}helper/seccomp.c`],
    );
    const out = spawnSync(program, { encoding: 'utf8' }).stdout.trimEnd().split('\n');
    const arch: Record<string, number> = {};
    const insns: Insn[] = [];
    for (const line of out) {
      const [what, ...rest] = line.split(' ');
      if (what === 'arch') arch[rest[0]!] = Number(rest[1]);
      else {
        const [code, jt, jf, k] = rest.map(Number) as [number, number, number, number];
        insns.push({ code, jt, jf, k });
      }
    }
    return { program: insns, arch };
  };

  it.each(MACHINES)('$name: listen and socketcall(SYS_LISTEN) fail with EPERM, io_uring_setup with ENOSYS, the rest is allowed', (m) => {
    const { program, arch } = load();
    const audit = arch[m.arch]!;
    const run = (nr: number, arg0 = 0n): number => runFilter(program, seccompData(nr, audit, arg0, m.le), m.le);
    const listen = syscallNumber(m.header, 'listen');
    const ioUring = syscallNumber(m.header, 'io_uring_setup');
    expect(run(listen)).toBe(RET_EPERM);
    expect(run(ioUring)).toBe(RET_ENOSYS);
    for (const other of ['connect', 'bind', 'socket', 'accept4', 'read', 'openat', 'execve', 'rt_sigaction']) {
      let nr: number;
      try {
        nr = syscallNumber(m.header, other);
      } catch {
        continue; // not every machine has every call (aarch64 has no plain open, for one)
      }
      expect(run(nr), other).toBe(RET_ALLOW);
    }
    if (m.socketcall) {
      const socketcall = syscallNumber(m.header, 'socketcall');
      expect(run(socketcall, 4n)).toBe(RET_EPERM); // SYS_LISTEN
      expect(run(socketcall, 4n | (1n << 32n))).toBe(RET_EPERM); // the kernel reads an int
      expect(run(socketcall, 3n)).toBe(RET_ALLOW); // SYS_CONNECT
      expect(run(socketcall, 2n)).toBe(RET_ALLOW); // SYS_BIND
    } else {
      expect(() => syscallNumber(m.header, 'socketcall'), 'this machine has a socketcall after all').toThrow();
    }
  });

  it('a system call made any other way kills the planner', () => {
    const { program } = load();
    // AUDIT_ARCH_PPC64 (big-endian), AUDIT_ARCH_S390, AUDIT_ARCH_MIPS, and nonsense.
    for (const arch of [0x80000015, 0x00000016, 0x00000008, 0, 0xffffffff]) {
      expect(runFilter(program, seccompData(50, arch, 0n, true), true)).toBe(RET_KILL_PROCESS);
    }
  });
});
