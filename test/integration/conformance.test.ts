// Runs scripts/conformance (nsenter vs nsctl on a table of command lines plus generated ones).
// Needs root and the tools the script checks for; under CI=true a missing one fails the test.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/conformance', import.meta.url));
const canRun = process.getuid?.() === 0 || process.env['CI'] === 'true';

describe.runIf(canRun)('conformance with nsenter', () => {
  it('gives the same stdout, stderr and exit status as nsenter (or 2.42 where recorded)', () => {
    const r = spawnSync(SCRIPT, [], { encoding: 'utf8', timeout: 170_000 });
    const lines = r.stdout.trimEnd().split('\n');
    const failures = lines.slice(0, -1).filter((line) => !line.startsWith('ok'));
    expect(failures.join('\n') + r.stderr).toBe('');
    expect(lines.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    expect(r.status).toBe(0);
  }, 180_000);
});
