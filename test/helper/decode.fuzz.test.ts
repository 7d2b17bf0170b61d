// A short libFuzzer run over the helper's frame decoder (scripts/fuzz: helper/fuzz/fuzz_plan.c
// linked with helper/decode.c alone) as part of every test run: any crash, sanitizer report or
// broken invariant fails the test. Needs clang and libclang-rt-14-dev; skipped without them,
// except under CI=true where it must run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RECORDS } from '../../src/wire/index.ts';
import { check } from '../support/helper.ts';
import { decodeQueryFrame, modelCheck } from '../support/wire-model.ts';

const FUZZ = fileURLToPath(new URL('../../scripts/fuzz', import.meta.url));
const SEEDS = fileURLToPath(new URL('../../scripts/fuzz-seeds.mjs', import.meta.url));
const SECONDS = 20;
const haveClang = spawnSync('clang', ['--version']).status === 0;
const ci = process.env['CI'] === 'true';

describe.runIf(haveClang || ci)('the frame decoder under libFuzzer, ASan and UBSan', () => {
  it(`survives ${SECONDS} s of fuzzing from the encoder's seeds with no crash`, () => {
    if (!haveClang) throw new Error('CI=true: the fuzz run needs clang and libclang-rt-14-dev');
    const work = mkdtempSync(join(tmpdir(), 'nsctl-fuzz-'));
    try {
      const artifacts = join(work, 'crashes');
      const r = spawnSync(FUZZ, [String(SECONDS), '--corpus', join(work, 'corpus'), '--artifacts', artifacts], {
        encoding: 'utf8',
        timeout: (SECONDS + 90) * 1000,
        maxBuffer: 64 * 1024 * 1024,
      });
      const tail = `${r.stderr}`.split('\n').slice(-40).join('\n');
      expect(r.error, tail).toBeUndefined();
      expect(r.status, tail).toBe(0);
      expect(readdirSync(artifacts), tail).toEqual([]);
      const runs = Number(/stat::number_of_executed_units:\s+(\d+)/.exec(r.stderr)?.[1] ?? 0);
      expect(runs, tail).toBeGreaterThan(100_000); // it really fuzzed
      expect(r.stderr).not.toMatch(/ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, (SECONDS + 120) * 1000);
});

describe('the seeds', () => {
  it('are valid plans (every step type among them) and queries, as both decoders see them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsctl-seeds-'));
    try {
      const r = spawnSync(process.execPath, [SEEDS, dir, '40'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const ops = new Set<string>();
      let queries = 0;
      for (const name of readdirSync(dir)) {
        const bytes = readFileSync(join(dir, name));
        if (bytes.subarray(0, 4).toString('latin1') === 'NSCQ') {
          expect(decodeQueryFrame(bytes).ok).toBe(true);
          queries++;
          continue;
        }
        const model = modelCheck(bytes);
        if (!model.ok) throw new Error(`${name}: ${model.reason}`);
        expect(check(bytes)).toStrictEqual({ status: 0, signal: null, stdout: model.dump, stderr: '' });
        for (const m of model.dump.matchAll(/^step \d+ (\S+)/gm)) ops.add(m[1]!);
      }
      expect(queries).toBe(2);
      expect([...ops].sort()).toEqual(RECORDS.filter((r) => r.frame === 'plan' && r.name !== 'end').map((r) => r.name).sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
