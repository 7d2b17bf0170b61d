// nsctl(1): scripts/build-man.mjs writes the page that src/cli/man.ts makes from the option table;
// groff and man-db render it without a single warning, and every option of the table, every kind
// of -t KIND:NAME and every section is in what they render. Under CI=true a missing groff or man
// fails the test instead of skipping it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { flagsOf } from '../../src/cli/help.ts';
import { manPage, roffText } from '../../src/cli/man.ts';
import { TARGET_KINDS } from '../../src/cli/options.ts';
import { OPTION_SPECS } from '../../src/cli/table.ts';
import { needs } from '../support/gate.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'nsctl-manpage-'));
const page = join(dir, 'nsctl.1');

beforeAll(() => {
  const built = spawnSync('node', [join(REPO, 'scripts/build-man.mjs'), page], { encoding: 'utf8' });
  expect(built.stderr).toBe('');
  expect(built.status).toBe(0);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function run(argv: readonly string[], env: Record<string, string> = {}): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', LC_ALL: 'C.UTF-8', ...env } });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

/** The page as man shows it, wide enough that nothing wraps, spaces squeezed. */
function rendered(file: string): string {
  const result = run(['man', '-l', file], { MANWIDTH: '200' });
  expect(result.status).toBe(0);
  return result.stdout.replace(/[ \t]+/g, ' ');
}

describe('the man page', () => {
  test('scripts/build-man.mjs writes what src/cli/man.ts makes', () => {
    expect(readFileSync(page, 'utf8')).toBe(manPage());
  });

  test('roff control characters in text are escaped', () => {
    expect(roffText('.x and \\y, --net')).toBe('\\&.x and \\ey, \\-\\-net');
    expect(roffText("a\n'b")).toBe("a\n\\&'b");
  });

  describe.runIf(needs('groff', 'man'))('rendered by groff and man-db', () => {
    test('groff -ww: no warning at all', () => {
      expect(run(['groff', '-man', '-Tutf8', '-ww', '-z', page])).toEqual({ stdout: '', stderr: '', status: 0 });
    });

    test('man -l --warnings=all, 80 columns: no warning at all', () => {
      const result = run(['man', '--warnings=all', '-l', page], { MANWIDTH: '80' });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toContain('NSCTL(1)');
    });

    test('the warnings checked for are ones groff does give (a page with an unknown macro)', () => {
      const broken = join(dir, 'broken.1');
      writeFileSync(broken, `${manPage()}.XX not a macro\n`);
      expect(run(['groff', '-man', '-Tutf8', '-ww', '-z', broken]).stderr).toContain('XX');
    });

    test('every option of the table is there as --help names it, and -Z is not', () => {
      const text = rendered(page);
      for (const spec of OPTION_SPECS) {
        const flags = flagsOf(spec).trim().replace(/<([a-z]+)>/g, '$1');
        if (spec.hidden) expect(text).not.toContain(`-${spec.short},`);
        else expect(text, flags).toContain(flags);
      }
    });

    test('the sections, and every kind -t KIND:NAME knows', () => {
      const text = rendered(page);
      for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'TARGETS', 'EXIT STATUS', 'ENVIRONMENT', 'EXAMPLES', 'SEE ALSO']) {
        expect(text).toMatch(new RegExp(`^${section}$`, 'm'));
      }
      for (const kind of TARGET_KINDS) expect(text).toContain(`${kind}:`);
      expect(text).toContain('nsctl - run a program in the namespaces of another process');
    });
  });
});
