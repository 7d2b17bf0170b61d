// nsenter vs nsctl on the table of command lines in scripts/conformance-cases.mjs, plus generated
// ones: each case is a test of its own, named by its command line ({P} and the like stand for the
// targets' PIDs), and must give the same stdout, stderr and exit status as nsenter (or 2.42 where
// recorded). scripts/conformance, which runs the same cases on its own, is run once too, on the
// table. Needs root and the tools the bench checks for; under CI=true a missing one fails the tests.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needs } from '../support/gate.ts';
import { CASES, caseName, generatedLines, generatedName, startBench, type Bench, type Outcome } from '../../scripts/conformance-cases.mjs';

const SCRIPT = fileURLToPath(new URL('../../scripts/conformance', import.meta.url));

/** nsctl gave what nsenter gave (or what was recorded); the message names the line as run. */
function expectSame(outcome: Outcome, statusOnly = false): void {
  const line = `nsenter ${outcome.args.join(' ')}`;
  if (statusOnly) expect(outcome.got.status, line).toBe(outcome.want.status);
  else expect(outcome.got, line).toStrictEqual(outcome.want);
  expect(outcome.ok, line).toBe(true);
}

describe.runIf(needs('root', 'unshare', 'setpriv', 'python3', 'cc', '/usr/bin/nsenter'))('conformance with nsenter', () => {
  let bench: Bench | undefined;
  beforeAll(() => {
    bench = startBench();
  }, 120_000);
  afterAll(() => bench?.stop());

  describe('the table', () => {
    for (const c of CASES) {
      it(caseName(c), () => expectSame(bench!.runCase(c), c.compare === 'status'));
    }
  });

  describe('generated command lines', () => {
    for (const raw of generatedLines()) {
      it(generatedName(raw), () => expectSame(bench!.runGenerated(raw)));
    }
  });

  it('scripts/conformance, on its own, prints an ok line for each case of the table, then N passed, 0 failed', () => {
    const r = spawnSync(SCRIPT, ['--table'], { encoding: 'utf8', timeout: 170_000 });
    const lines = r.stdout.trimEnd().split('\n');
    const failures = lines.slice(0, -1).filter((line) => !line.startsWith('ok'));
    expect(failures.join('\n') + r.stderr).toBe('');
    expect(lines.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    expect(r.status).toBe(0);
    expect(lines.slice(0, -1)).toHaveLength(CASES.length);
  }, 180_000);
});
