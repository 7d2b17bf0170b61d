// The fuzzer's seeds (scripts/fuzz-seeds.mjs), as the decoders see them: every one a valid plan or
// query, and every plan step type among them, so the fuzzer starts from all of the format. The
// fuzz run itself is a CI job (test/jobs/decode.fuzz.test.ts).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RECORDS } from '../../src/wire/index.ts';
import { check } from '../support/helper.ts';
import { tempDir } from '../support/pack.ts';
import { decodeQueryFrame, modelCheck } from '../support/wire-model.ts';

const SEEDS = fileURLToPath(new URL('../../scripts/fuzz-seeds.mjs', import.meta.url));

describe('the seeds', () => {
  it('are valid plans (every step type among them) and queries, as both decoders see them', () => {
    const dir = tempDir('seeds');
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
  });
});
