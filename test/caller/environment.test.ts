import { describe, expect, it } from 'vitest';
import { programEnvironment } from '../../src/caller/index.ts';

/** An environment object as the NAME=value entries programEnvironment takes. */
const entries = (env: Record<string, string>): string[] => Object.entries(env).map(([name, value]) => `${name}=${value}`);

describe('programEnvironment', () => {
  it('keeps the caller\'s environment in order outside npm exec', () => {
    expect(programEnvironment(entries({ B: '2', A: '1', npm_config_x: 'y', COLOR: '0' }))).toEqual(['B=2', 'A=1', 'npm_config_x=y', 'COLOR=0']);
  });

  it('takes out what npx added: npm_* variables, INIT_CWD, NODE, COLOR, EDITOR=vi and the PATH prefix', () => {
    const env = {
      PATH: '/root/.npm/_npx/1/node_modules/.bin:/w/node_modules/.bin:/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin:/usr/bin:/x/node_modules/.bin',
      npm_command: 'exec',
      npm_node_execpath: '/usr/bin/node',
      NODE: '/usr/bin/node',
      INIT_CWD: '/w',
      COLOR: '1',
      EDITOR: 'vi',
      HOME: '/root',
    };
    // Only the entries npm put in front go; a node_modules/.bin the user had later stays.
    expect(programEnvironment(entries(env))).toEqual(['PATH=/usr/bin:/x/node_modules/.bin', 'HOME=/root']);
    expect(programEnvironment(entries({ ...env, EDITOR: 'nano', NODE: '/opt/node' }))).toContain('EDITOR=nano');
    expect(programEnvironment(entries({ ...env, NODE: '/opt/node' }))).toContain('NODE=/opt/node');
  });

  it('keeps repeated names, entries without =, and escaped bytes, as execve got them', () => {
    const raw = ['A=1', 'A=2', 'JUNK', 'B=x\udcff', '\udcfeN=1'];
    expect(programEnvironment(raw)).toEqual(raw);
  });
});
