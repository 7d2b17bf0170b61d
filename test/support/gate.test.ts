// The skip gate (test/support/gate.ts), seen as a user sees it: a vitest run of
// test/support/gate-fixture.ts with a PATH that lacks the program the suite needs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lacking } from './gate.ts';
import { exec, REPO, scratch, toolsDir } from './pack.ts';

const VITEST = join(REPO, 'node_modules/vitest/vitest.mjs');
const FIXTURE = 'test/support/gate-fixture.ts';

describe('the skip gate', () => {
  const dir = scratch('gate');
  const config = join(dir, 'vitest.config.mjs');
  beforeAll(() => {
    toolsDir(join(dir, 'tools'), []);
    writeFileSync(config, `export default { test: { include: [${JSON.stringify(FIXTURE)}], reporters: ['default', './test/support/summary-reporter.ts'] } };\n`);
  });
  /** The fixture behind `needs(...requirements)`, with only node, npm and npx on PATH. */
  const gated = (requirements: string, env: Record<string, string> = {}) =>
    exec([process.execPath, VITEST, 'run', '--root', REPO, '--config', config], {
      PATH: join(dir, 'tools'),
      HOME: dir,
      NO_COLOR: '1',
      NSCTL_GATE_NEEDS: requirements,
      ...env,
    });

  it('skips a suite whose program is missing with one line on stderr: what, which Debian package, and the script', () => {
    const result = gated('zsh');
    expect(result.status).toBe(0);
    expect(result.stderr).toBe(
      `nsctl tests skipped: ${FIXTURE}: needs zsh (apt-get install zsh); scripts/install-test-deps installs all a full run needs\n`,
    );
    expect(result.stdout).toContain('0 passed, 0 failed, 1 skipped');
  });

  it('fails instead under CI=true, with the same words', () => {
    const result = gated('zsh', { CI: 'true' });
    expect(result.status).toBe(1);
    expect(`${result.stdout}${result.stderr}`).toContain(`CI=true, so not skipped: ${FIXTURE}: needs zsh (apt-get install zsh);`);
  });

  it('lets the suite run when the program is there (an absolute path too)', () => {
    const result = gated(`node ${process.execPath}`, { CI: 'true' });
    expect([result.status, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toContain('1 passed, 0 failed');
  });

  it('names root and every missing package once', () => {
    expect(lacking(true, ['docker', 'dockerd', 'qemu-s390x-static'])).toBe(
      'needs root; needs docker, dockerd, qemu-s390x-static (apt-get install docker.io qemu-user-static); scripts/install-test-deps installs all a full run needs',
    );
  });
});
