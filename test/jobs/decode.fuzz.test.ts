// A short libFuzzer run over the helper's frame decoder (scripts/fuzz: helper/fuzz/fuzz_plan.c
// linked with helper/decode.c alone): any crash, sanitizer report or broken invariant fails the
// test. A CI job (test/jobs/, left out of `npm test` by vitest.config.ts): .ci/run starts it as a step
// of its own. Needs clang and libclang-rt-14-dev, and fails without them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FUZZ = fileURLToPath(new URL('../../scripts/fuzz', import.meta.url));
const SECONDS = 20;
const haveClang = spawnSync('clang', ['--version']).status === 0;

describe('the frame decoder under libFuzzer, ASan and UBSan', () => {
  it(`survives ${SECONDS} s of fuzzing from the encoder's seeds with no crash`, () => {
    if (!haveClang) throw new Error('the fuzz run needs clang and libclang-rt-14-dev');
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
