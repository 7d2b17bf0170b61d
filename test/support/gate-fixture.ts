// Not a test file of its own: test/support/gate.test.ts runs it in a vitest of its own, with the
// requirements in NSCTL_GATE_NEEDS, to see what the gate prints, throws or lets through.
import { describe, it } from 'vitest';
import { needs } from './gate.ts';

describe.runIf(needs(...(process.env['NSCTL_GATE_NEEDS'] ?? '').split(' ')))('behind the gate', () => {
  it('runs', () => {});
});
