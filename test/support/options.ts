// Options as the parser leaves them when no option is given: what a test spreads and then sets the
// few fields it is about. test/cli/parse.test.ts spells these defaults out on their own, as the
// parser's expected output, so a change to them is seen there.
import type { Options } from '../../src/cli/options.ts';

export const NO_OPTIONS: Options = {
  target: undefined,
  all: false,
  namespaces: {},
  root: undefined,
  wd: undefined,
  wdns: undefined,
  setuid: undefined,
  setgid: undefined,
  preserveCredentials: false,
  keepCaps: false,
  noFork: false,
  env: false,
  joinCgroup: false,
  netSocket: undefined,
  userParent: false,
  followContext: false,
  program: [],
};
