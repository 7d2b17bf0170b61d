// The prebuilt helpers of every architecture (prebuilds/), and prebuilds/machines, which bin/nsctl
// reads to pick one:
//  - each machines line names an existing helper whose first line (bytes 0–15: the ELF magic,
//    class, data and version, then the machine's name stamped into the identification's padding
//    and a newline) is its ident with NUL bytes dropped — exactly what `IFS= read -r` gives in
//    dash, bash and busybox sh — and whose ELF header says the machine that `uname -m` names;
//  - under qemu-user, each foreign helper decodes and dumps plans exactly as the model does, and
//    rejects bad ones with the same reason;
//  - `run` under qemu-user gets as far as the planner's seccomp filter, which qemu-user refuses
//    (it does not emulate seccomp for its guest): the helper then refuses to start the planner, as
//    it must on any kernel without seccomp filters. Nothing of the plan runs there, so the steps
//    are tested with the native helper (test/helper/hardening.test.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodePlan } from '../../src/wire/index.ts';
import { helperCommand, prebuiltHelper, REPO, tempFile, type Ran } from '../support/helper.ts';
import { needs } from '../support/gate.ts';
import { modelCheck, validPlan } from '../support/wire-model.ts';

/** process.arch of each helper → qemu-user's name, ELF e_machine and `uname -m` names. */
const HELPERS = [
  { arch: 'x64', qemu: 'x86_64', machine: 0x3e, unames: ['x86_64'] },
  { arch: 'arm64', qemu: 'aarch64', machine: 0xb7, unames: ['aarch64'] },
  { arch: 'arm', qemu: 'arm', machine: 0x28, unames: ['armv7l', 'armv8l'] },
  { arch: 'ppc64', qemu: 'ppc64le', machine: 0x15, unames: ['ppc64le'] },
  { arch: 's390x', qemu: 's390x', machine: 0x16, unames: ['s390x'] },
] as const;
const FOREIGN = HELPERS.filter((h) => h.arch !== process.arch);

describe('prebuilds/machines', () => {
  const lines = readFileSync(join(REPO, 'prebuilds/machines'), 'latin1').split('\n');

  it('has one line per supported uname -m, each "<uname -m> <dir> <ident>"', () => {
    expect(lines.pop()).toBe(''); // ends with a newline
    expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(HELPERS.flatMap((h) => h.unames.map((u) => `${u} linux-${h.arch}`)));
    for (const line of lines) expect(line.split(' ')).toHaveLength(3);
  });

  it.each(HELPERS.map((h) => [h.arch, h] as const))('linux-%s: the ident is the first line, its machine stamped in, and the ELF header names that machine', (_, { arch, machine }) => {
    const bytes = readFileSync(prebuiltHelper(arch));
    expect(bytes.indexOf(0x0a)).toBe(15);
    expect(bytes.subarray(9, 15).toString('latin1').replace(/\0+$/, '')).toBe(arch);
    const ident = Buffer.from(bytes.subarray(0, 15).filter((b) => b !== 0)).toString('latin1');
    for (const line of lines.filter((l) => l.split(' ')[1] === `linux-${arch}`)) expect(line.split(' ')[2]).toBe(ident);
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const littleEndian = bytes[5] === 1;
    expect(view.getUint16(18, littleEndian)).toBe(machine); // e_machine
    expect(view.getUint16(16, littleEndian)).toBe(2); // ET_EXEC: static, not PIE
  });

  const shells = [['dash'], ['bash'], ['busybox', 'sh']];
  it.runIf(needs('dash', 'bash', 'busybox')).each(HELPERS.map((h) => h.arch))('linux-%s: `IFS= read -r x < helper` is the ident in dash, bash and busybox sh', (arch) => {
    const ident = lines.find((l) => l.split(' ')[1] === `linux-${arch}`)!.split(' ')[2]!;
    for (const sh of shells) {
      const r = spawnSync(sh[0]!, [...sh.slice(1), '-c', 'IFS= read -r x < "$1"; printf %s "$x"', 'sh', prebuiltHelper(arch)], { encoding: 'latin1' });
      expect(r.stdout, sh.join(' ')).toBe(ident);
    }
  });

  it('names this machine', () => {
    const uname = spawnSync('uname', ['-m'], { encoding: 'utf8' }).stdout.trim();
    expect(lines.find((l) => l.startsWith(`${uname} `))?.split(' ')[1]).toBe(`linux-${process.arch}`);
  });
});

const haveQemu = needs(...FOREIGN.map((h) => `qemu-${h.qemu}-static`));

describe.runIf(haveQemu)('foreign helpers under qemu-user', () => {
  const qemu = (h: (typeof HELPERS)[number], args: string[], input?: Uint8Array): Ran =>
    helperCommand(args, { helper: prebuiltHelper(h.arch), via: [`qemu-${h.qemu}-static`], input });

  it.each(FOREIGN.map((h) => [h.arch, h] as const))("linux-%s: --check prints the model's dump for valid plans and its reason for damaged ones", (_, h) => {
    const plans = fc.sample(validPlan, { numRuns: 25, seed: 42 });
    for (const plan of plans) {
      const bytes = encodePlan(plan);
      const model = modelCheck(bytes);
      if (!model.ok) throw new Error(model.reason);
      expect(qemu(h, ['--check'], bytes)).toStrictEqual({ status: 0, signal: null, stdout: model.dump, stderr: '' });
      for (const cut of [bytes.length - 1, 20, 3]) {
        const reason = modelCheck(bytes.subarray(0, cut));
        if (reason.ok) throw new Error('a cut plan passed');
        expect(qemu(h, ['--check'], bytes.subarray(0, cut))).toStrictEqual({ status: 1, signal: null, stdout: '', stderr: `nsctl-helper: invalid plan: ${reason.reason}\n` });
      }
    }
  });

  it.each(FOREIGN.map((h) => [h.arch, h] as const))('linux-%s: run refuses to start the planner without its seccomp filter, and nothing runs', (_, h) => {
    const marker = `${tempFile('marker-dir', '')}.ran`;
    const script = tempFile('planner.sh', `echo ran > '${marker}'\n`);
    expect(qemu(h, ['run', '/bin/sh', script])).toStrictEqual({
      status: 1,
      signal: null,
      stdout: '',
      stderr: 'nsctl: cannot run the planner: seccomp: Invalid argument\n',
    });
    expect(existsSync(marker)).toBe(false);
    // The command line is checked before anything else.
    expect(qemu(h, ['run'])).toMatchObject({ status: 2, stderr: expect.stringContaining('nsctl-helper: run needs NODE and SCRIPT\n') });
  });
});
