// The command-line parser against nsenter 2.42's rules (docs/upstream.md §1, §2, §10.2, §13).
import { describe, expect, test } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { shortOptionsFrom } from '../../src/cli/getopt.ts';
import { helpText, parseArgs, versionText, type Options, type ParseStop } from '../../src/cli/index.ts';
import { NSENTER_OPTIONS } from '../../src/cli/parse.ts';
import { NSCTL_OPTIONS, OPTION_SPECS } from '../../src/cli/table.ts';

function options(argv: readonly string[]): Options {
  const result = parseArgs(argv);
  if (result.stop !== undefined) throw new Error(`expected options, got ${JSON.stringify(result.stop)}`);
  return result.options!;
}

function stop(argv: readonly string[]): ParseStop | undefined {
  return parseArgs(argv).stop;
}

function earlyPaths(argv: readonly string[]): string[] {
  return parseArgs(argv).earlyFiles.map((file) => file.path);
}

const usage = (message: string | undefined): ParseStop => ({ kind: 'usage', message });
const error = (message: string): ParseStop => ({ kind: 'error', message });

describe('getopt complaints (glibc 2.36 wording, docs/upstream.md §10.2)', () => {
  test.each<[string[], string]>([
    [['-x'], "invalid option -- 'x'"],
    [['-ax'], "invalid option -- 'x'"],
    [['-+'], "invalid option -- '+'"],
    [['-:'], "invalid option -- ':'"],
    [['-t'], "option requires an argument -- 't'"],
    [['-S'], "option requires an argument -- 'S'"],
    [['-aN'], "option requires an argument -- 'N'"],
    [['--target'], "option '--target' requires an argument"],
    [['--targ'], "option '--target' requires an argument"],
    [['--setgid'], "option '--setgid' requires an argument"],
    [['--all=1'], "option '--all' doesn't allow an argument"],
    [['--al='], "option '--all' doesn't allow an argument"],
    [['--preserve=x'], "option '--preserve-credentials' doesn't allow an argument"],
    [['--p'], "option '--p' is ambiguous; possibilities: '--pid' '--preserve-credentials'"],
    [['--p=5'], "option '--p=5' is ambiguous; possibilities: '--pid' '--preserve-credentials'"],
    [['--n'], "option '--n' is ambiguous; possibilities: '--net' '--net-socket' '--no-fork'"],
    [['--ne'], "option '--ne' is ambiguous; possibilities: '--net' '--net-socket'"],
    [['--us'], "option '--us' is ambiguous; possibilities: '--user' '--user-parent'"],
    [['--w'], "option '--w' is ambiguous; possibilities: '--wd' '--wdns'"],
    [['--foo'], "unrecognized option '--foo'"],
    [['--foo=bar'], "unrecognized option '--foo=bar'"],
    [['---all'], "unrecognized option '---all'"],
    [['--follow-context=x'], "option '--follow-context' doesn't allow an argument"],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(stop(argv)).toEqual(usage(message));
  });

  test('--= is ambiguous among every long option, in table order', () => {
    const names = NSENTER_OPTIONS.long.map((option) => ` '--${option.name}'`).join('');
    expect(stop(['--='])).toEqual(usage(`option '--=' is ambiguous; possibilities:${names}`));
  });

  test('-Z and --follow-context are accepted, as by the SELinux builds every distribution ships', () => {
    for (const argv of [['-Z'], ['--follow-context'], ['--f'], ['-aZ'], ['-Zt', '5']]) {
      expect(parseArgs(argv).options, argv.join(' ')).toMatchObject({ followContext: true });
    }
    expect(parseArgs(['-t', '5', '-n', 'true']).options).toMatchObject({ followContext: false });
    // Only -Z and its long name mean it: nothing else a command line says changes.
    expect({ ...parseArgs(['-Z', '-t', '5', '-n', 'true']).options, followContext: false }).toEqual(parseArgs(['-t', '5', '-n', 'true']).options);
    expect(stop(['-aZ', '-x'])).toEqual(usage("invalid option -- 'x'"));
  });

  test('the first complaint wins and later options are not read', () => {
    expect(stop(['-x', '-y'])).toEqual(usage("invalid option -- 'x'"));
    expect(earlyPaths(['--net=/a', '-x', '--net=/b'])).toEqual(['/a']);
  });
});

describe('long option names (docs/upstream.md §1, notes)', () => {
  test('an unambiguous prefix selects the option', () => {
    expect(options(['--pres']).preserveCredentials).toBe(true);
    expect(options(['--user-p']).userParent).toBe(true);
    expect(options(['--keep']).keepCaps).toBe(true);
    expect(options(['--tar', '7']).target).toBe(7);
    expect(options(['--mo=/x']).namespaces.mnt).toEqual({ from: 'file', early: 0 });
    expect(stop(['--vers'])).toEqual({ kind: 'version' });
  });

  test('an exact name beats a longer option it prefixes', () => {
    expect(options(['--net']).namespaces.net).toEqual({ from: 'target' });
    expect(options(['--user']).namespaces.user).toEqual({ from: 'target' });
    expect(options(['--wd']).wd).toEqual({ from: 'target' });
  });

  test('a required argument may be the next word or follow =', () => {
    expect(options(['--target', '5']).target).toBe(5);
    expect(options(['--target=5']).target).toBe(5);
    expect(options(['-t', '5']).target).toBe(5);
    expect(options(['-t5']).target).toBe(5);
  });
});

describe('clusters and optional arguments (docs/upstream.md §2.1–§2.3)', () => {
  test('-mu reads u as the mount namespace file', () => {
    expect(options(['-mu']).namespaces).toEqual({ mnt: { from: 'file', early: 0 } });
    expect(earlyPaths(['-mu'])).toEqual(['u']);
  });

  test('-nt 123 reads t as the net file and 123 as the program', () => {
    const parsed = options(['-nt', '123']);
    expect(parsed.namespaces).toEqual({ net: { from: 'file', early: 0 } });
    expect(parsed.target).toBeUndefined();
    expect(parsed.program).toEqual(['123']);
  });

  test('-am, -Ft123 and -t6160 -an', () => {
    expect(options(['-am'])).toMatchObject({ all: true, namespaces: { mnt: { from: 'target' } } });
    expect(options(['-Ft123'])).toMatchObject({ noFork: true, target: 123 });
    expect(options(['-t6160', '-an'])).toMatchObject({ target: 6160, all: true, namespaces: { net: { from: 'target' } } });
  });

  test.each([['-m'], ['--mount']])('%s /x means the target mount namespace and the program /x', (flag) => {
    const parsed = options([flag, '/x']);
    expect(parsed.namespaces).toEqual({ mnt: { from: 'target' } });
    expect(parsed.program).toEqual(['/x']);
    expect(earlyPaths([flag, '/x'])).toEqual([]);
  });

  test('-W /dir is a bare -W and the program /dir', () => {
    const parsed = options(['-W', '/dir']);
    expect(parsed.wdns).toEqual({ path: undefined });
    expect(parsed.program).toEqual(['/dir']);
  });

  test('options stop at the first non-option, and -- ends them', () => {
    expect(options(['-t', '1', '-m', 'true', '-n', '--']).program).toEqual(['true', '-n', '--']);
    expect(options(['-t', '1', '--', '-n']).program).toEqual(['-n']);
    expect(options(['-']).program).toEqual(['-']);
    expect(options(['']).program).toEqual(['']);
    expect(options(['--']).program).toEqual([]);
    expect(options([]).program).toEqual([]);
  });
});

describe('leading = (2.42, docs/upstream.md §2.4)', () => {
  test.each<[string[], string]>([
    [['-n=/proc/1/ns/net'], '/proc/1/ns/net'],
    [['--net==/x'], '/x'],
    [['--net===x'], '=x'],
    [['--net=/x'], '/x'],
    [['--net='], ''],
    [['-n='], ''],
    [['-U=:42'], ':42'],
    [['-w=/x'], '/x'],
    [['--wd==/x'], '/x'],
    // -r keeps its = (upstream's quirk, docs/upstream.md §13.4): `-r=/` opens "=/".
    [['-r=/'], '=/'],
    [['--root==/'], '=/'],
  ])('%j opens %j', (argv, path) => {
    expect(earlyPaths(argv)).toEqual([path]);
  });

  test('-W=/usr and --wdns==/usr mean /usr', () => {
    expect(options(['-W=/usr']).wdns).toEqual({ path: '/usr' });
    expect(options(['--wdns==/usr']).wdns).toEqual({ path: '/usr' });
    expect(options(['-W==/usr']).wdns).toEqual({ path: '=/usr' });
  });
});

describe('bare flags and files (docs/upstream.md §2.5, §2.6)', () => {
  test('an explicit file beats a bare flag, in either order', () => {
    expect(options(['-n', '--net=/x']).namespaces.net).toEqual({ from: 'file', early: 0 });
    expect(options(['--net=/x', '-n']).namespaces.net).toEqual({ from: 'file', early: 0 });
  });

  test('every repeated file is listed for opening, and the last one wins', () => {
    const result = parseArgs(['--net=/a', '-u', '--net=/b', '-m/c']);
    expect(result.earlyFiles).toEqual([{ path: '/a' }, { path: '/b' }, { path: '/c' }]);
    expect(result.options?.namespaces).toEqual({
      net: { from: 'file', early: 1 },
      uts: { from: 'target' },
      mnt: { from: 'file', early: 2 },
    });
  });

  test('every namespace option maps to its namespace', () => {
    expect(options(['-m', '-u', '-i', '-n', '-p', '-C', '-U', '-T']).namespaces).toEqual({
      mnt: { from: 'target' },
      uts: { from: 'target' },
      ipc: { from: 'target' },
      net: { from: 'target' },
      pid: { from: 'target' },
      cgroup: { from: 'target' },
      user: { from: 'target' },
      time: { from: 'target' },
    });
  });

  test.each<[string[], Options['root']]>([
    [['-r/x'], { from: 'file', early: 0 }],
    [['-r'], { from: 'target' }],
    [['-r', '-r/x'], { from: 'target' }],
    [['-r/x', '-r'], { from: 'target' }],
    [['-r/x', '-r/y'], { from: 'file', early: 1 }],
    [[], undefined],
  ])('root of %j', (argv, root) => {
    expect(options(argv).root).toEqual(root);
  });

  test.each<[string[], Options['wd']]>([
    [['-w/x'], { from: 'file', early: 0 }],
    [['-w/x', '-w'], { from: 'target' }],
    [['-w', '--wd=/x'], { from: 'target' }],
    [[], undefined],
  ])('wd of %j', (argv, wd) => {
    expect(options(argv).wd).toEqual(wd);
  });

  test('a bare -r or -w still lists the earlier directory for opening', () => {
    expect(earlyPaths(['-r/x', '-r', '-w/y', '-w'])).toEqual(['/x', '/y']);
  });

  test('a bare -W clears an earlier -W DIR', () => {
    expect(options(['-W/a', '-W']).wdns).toEqual({ path: undefined });
    expect(options(['-W', '-W/a']).wdns).toEqual({ path: '/a' });
    expect(options([]).wdns).toBeUndefined();
  });
});

describe('--wd and --wdns exclude each other (docs/upstream.md §2.7)', () => {
  test.each<[string[], string]>([
    [['-w', '-W/usr'], 'options --wd and --wdns cannot be combined'],
    [['-W/usr', '-w'], 'options --wdns and --wd cannot be combined'],
    [['-W', '-w'], 'options --wdns and --wd cannot be combined'],
    [['--wd=/x', '--wdns'], 'options --wd and --wdns cannot be combined'],
  ])('%j: %s', (argv, message) => {
    expect(stop(argv)).toEqual(error(message));
  });

  test('the check comes when the second one is seen, before it opens anything', () => {
    expect(earlyPaths(['-w/x', '-W/y'])).toEqual(['/x']);
    expect(earlyPaths(['-W/x', '-w/y'])).toEqual([]);
  });

  test('repeating one of them is fine', () => {
    expect(options(['-w', '-w/x']).wd).toEqual({ from: 'target' });
    expect(options(['-W/a', '-W/b']).wdns).toEqual({ path: '/b' });
  });
});

describe('help and version stop where they stand (docs/upstream.md §2.5)', () => {
  test.each<[string[], ParseStop]>([
    [['-h'], { kind: 'help' }],
    [['--help'], { kind: 'help' }],
    [['-h', '-x'], { kind: 'help' }],
    [['-x', '-h'], usage("invalid option -- 'x'")],
    [['-V'], { kind: 'version' }],
    [['--version', '--bogus'], { kind: 'version' }],
    [['-ahx'], { kind: 'help' }],
    [['-S', 'abc', '-h'], error("failed to parse uid: 'abc'")],
  ])('%j', (argv, expected) => {
    expect(stop(argv)).toEqual(expected);
  });

  test('files before -h are still listed, later ones are not', () => {
    expect(earlyPaths(['--net=/a', '-h', '--net=/b'])).toEqual(['/a']);
  });

  test('-h after the program belongs to the program', () => {
    expect(options(['true', '-h']).program).toEqual(['true', '-h']);
  });
});

describe('-S and -G (strtoul_or_err, uid_t cast, docs/upstream.md §2.8)', () => {
  test.each<[string, number]>([
    ['0', 0],
    ['1000', 1000],
    [' 5', 5],
    ['\t\n5', 5],
    ['+5', 5],
    ['007', 7],
    ['-0', 0],
    ['4294967295', 4294967295],
    ['4294967296', 0],
    ['4294967297', 1],
    ['18446744073709551615', 4294967295],
  ])('-S %j is uid %d', (text, uid) => {
    expect(options(['-S', text]).setuid).toEqual({ kind: 'id', value: uid });
    expect(options([`--setgid=${text}`]).setgid).toEqual({ kind: 'id', value: uid });
  });

  test.each<[string, string]>([
    ['abc', "failed to parse uid: 'abc'"],
    ['', "failed to parse uid: ''"],
    ['5 ', "failed to parse uid: '5 '"],
    ['12x', "failed to parse uid: '12x'"],
    ['0x10', "failed to parse uid: '0x10'"],
    ['+-5', "failed to parse uid: '+-5'"],
    ['Follow', "failed to parse uid: 'Follow'"],
    ['-1', "failed to parse uid: '-1': Numerical result out of range"],
    [' -7', "failed to parse uid: ' -7': Numerical result out of range"],
    // The range check comes before the check for junk.
    ['-1x', "failed to parse uid: '-1x': Numerical result out of range"],
    ['18446744073709551616', "failed to parse uid: '18446744073709551616': Numerical result out of range"],
    ['99999999999999999999x', "failed to parse uid: '99999999999999999999x': Numerical result out of range"],
  ])('-S %j: %s', (text, message) => {
    expect(stop(['-S', text])).toEqual(error(message));
    expect(stop(['-G', text])).toEqual(error(message.replace('uid', 'gid')));
  });

  test('follow takes the id from the target', () => {
    expect(options(['-S', 'follow', '-G', 'follow'])).toMatchObject({
      setuid: { kind: 'follow' },
      setgid: { kind: 'follow' },
    });
  });

  test('a later -S replaces an earlier one', () => {
    expect(options(['-S', 'follow', '-S5']).setuid).toEqual({ kind: 'id', value: 5 });
  });
});

describe('-t as the 2.42 releases read it (docs/upstream.md §2.8, §10.2)', () => {
  test.each<[string, number, bigint | undefined]>([
    ['1', 1, undefined],
    ['6160', 6160, undefined],
    [' +42', 42, undefined],
    ['2147483647', 2147483647, undefined],
    ['6160:12345', 6160, 12345n],
    ['6160:18446744073709551615', 6160, 18446744073709551615n],
  ])('-t %j', (text, pid, inode) => {
    const parsed = options(['-t', text]);
    expect(parsed.target).toBe(pid);
    expect(parsed.targetInode).toBe(inode);
  });

  test.each(['abc', '', '0', '-5', '12x', '12 ', '2147483648', '99999999999999999999', '6160:0', '6160:', '6160:abc', '6160:-1', '6160:1:2', ':5'])(
    '-t %j is an invalid PID argument',
    (text) => {
      expect(stop(['-t', text])).toEqual(error('invalid PID argument'));
    },
  );

  test('a later -t replaces an earlier one (2.42; master refuses the second)', () => {
    expect(options(['-t', '1', '-t', '2'])).toMatchObject({ target: 2 });
    expect(options(['-t', '5:7', '-t', '6']).targetInode).toBeUndefined();
  });
});

describe('-N (docs/upstream.md §2.8, §13.5)', () => {
  test.each<[string, number]>([
    ['0', 0],
    ['3', 3],
    [' +3', 3],
    ['2147483647', 2147483647],
  ])('-N %j is descriptor %d', (text, fd) => {
    expect(options(['-N', text]).netSocket).toBe(fd);
  });

  test.each<[string, string]>([
    ['abc', "failed to parse file descriptor: 'abc'"],
    ['', "failed to parse file descriptor: ''"],
    ['3x', "failed to parse file descriptor: '3x'"],
    ['4294967296', "failed to parse file descriptor: '4294967296': Numerical result out of range"],
    ['2147483648', "failed to parse file descriptor: '2147483648': Numerical result out of range"],
    ['99999999999999999999', "failed to parse file descriptor: '99999999999999999999': Numerical result out of range"],
    // Upstream ignores negative descriptors silently; nsctl refuses them.
    ['-1', "failed to parse file descriptor: '-1': Numerical result out of range"],
  ])('-N %j: %s', (text, message) => {
    expect(stop(['-N', text])).toEqual(error(message));
  });
});

describe('plain flags', () => {
  test('nothing given gives the defaults', () => {
    expect(parseArgs([])).toEqual({
      earlyFiles: [],
      stop: undefined,
      options: {
        target: undefined,
        targetInode: undefined,
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
        explain: false,
        json: false,
        pty: false,
        hostTools: false,
      },
    });
  });

  test('each flag sets its field', () => {
    expect(options(['-a', '-e', '-c', '-F', '--preserve-credentials', '--keep-caps', '--user-parent'])).toMatchObject({
      all: true,
      env: true,
      joinCgroup: true,
      noFork: true,
      preserveCredentials: true,
      keepCaps: true,
      userParent: true,
    });
    expect(options(['--all', '--env', '--join-cgroup', '--no-fork'])).toMatchObject({
      all: true,
      env: true,
      joinCgroup: true,
      noFork: true,
    });
  });
});

describe("nsenter 2.42's option table, as the one table makes it", () => {
  test('the short options are those of its optstring, with the same argument rules', () => {
    const optstring = '+ahVt:m::u::i::n::N:p::C::U::T::S:G:r::w::W::ecFZ';
    const rules = (options: typeof NSENTER_OPTIONS.short) => Object.fromEntries(options.map((option) => [option.letter, option.argument]));
    expect(rules(NSENTER_OPTIONS.short)).toEqual(rules(shortOptionsFrom(optstring)));
    expect(NSENTER_OPTIONS.short).toHaveLength(shortOptionsFrom(optstring).length);
  });

  test('the long options are its long options, in its order (the order of ambiguity messages)', () => {
    expect(NSENTER_OPTIONS.long.map((option) => `${option.name}:${option.argument}:${option.key}`)).toEqual([
      'all:none:a',
      'help:none:h',
      'version:none:V',
      'target:required:t',
      'mount:optional:m',
      'uts:optional:u',
      'ipc:optional:i',
      'net:optional:n',
      'net-socket:required:N',
      'pid:optional:p',
      'user:optional:U',
      'cgroup:optional:C',
      'time:optional:T',
      'setuid:required:S',
      'setgid:required:G',
      'root:optional:r',
      'wd:optional:w',
      'wdns:optional:W',
      'env:none:e',
      'no-fork:none:F',
      'join-cgroup:none:c',
      'preserve-credentials:none:preserve-credentials',
      'keep-caps:none:keep-caps',
      'user-parent:none:user-parent',
      'follow-context:none:Z',
    ]);
    expect(NSENTER_OPTIONS.extensions).toBeUndefined();
  });

  test("nsctl's own options are long only, and each one's full name selects it", () => {
    const extensions = OPTION_SPECS.filter((spec) => spec.extension);
    expect(extensions.map((spec) => spec.long)).toEqual(['list-targets', 'verbose', 'explain', 'json', 'pty', 'host-tools', 'completion']);
    for (const spec of extensions) {
      expect(spec.short).toBeUndefined();
      // A name that were a prefix of one of nsenter's would never reach the extension.
      expect(NSENTER_OPTIONS.long.some((option) => option.name.startsWith(spec.long!))).toBe(false);
    }
    expect(NSCTL_OPTIONS.extensions?.map((option) => option.name)).toEqual(extensions.map((spec) => spec.long));
  });
});

describe("nsctl's own long options (docs/compat.md)", () => {
  test.each<[string[], ParseStop]>([
    // nsenter's abbreviations keep their meaning however many extensions share their first letters.
    [['--v'], { kind: 'version' }],
    [['--ver'], { kind: 'version' }],
    [['--vers'], { kind: 'version' }],
    [['--h'], { kind: 'help' }],
    [['--p'], usage("option '--p' is ambiguous; possibilities: '--pid' '--preserve-credentials'")],
    [['--pt=x'], usage("option '--pty' doesn't allow an argument")],
    [['--pty=x'], usage("option '--pty' doesn't allow an argument")],
    [['--explain='], usage("option '--explain' doesn't allow an argument")],
    [['--list-targets=x'], usage("option '--list-targets' doesn't allow an argument")],
    [['--completion'], usage("option '--completion' requires an argument")],
    [['--comp'], usage("option '--completion' requires an argument")],
    [['--completion', 'tcsh'], error("unsupported shell for --completion: 'tcsh' (bash, zsh or fish)")],
    [['--completion='], error("unsupported shell for --completion: '' (bash, zsh or fish)")],
    [['--completion', 'bash'], { kind: 'completion', shell: 'bash' }],
    [['--completion=zsh'], { kind: 'completion', shell: 'zsh' }],
    [['--co', 'fish', '-x'], { kind: 'completion', shell: 'fish' }],
    [['-x', '--completion', 'bash'], usage("invalid option -- 'x'")],
    [['--foo'], usage("unrecognized option '--foo'")],
    [['--verbose'], error('option --verbose works only with --list-targets')],
    [['--verb', '-t', '1'], error('option --verbose works only with --list-targets')],
  ])('%j', (argv, expected) => {
    expect(stop(argv)).toEqual(expected);
  });

  test('--c stays --cgroup, as in nsenter: --completion needs at least --co', () => {
    expect(options(['--c']).namespaces.cgroup).toEqual({ from: 'target' });
    expect(options(['--c=/x']).namespaces.cgroup).toEqual({ from: 'file', early: 0 });
    expect(stop(['--co', 'bash'])).toEqual({ kind: 'completion', shell: 'bash' });
  });

  test('--e is --env and --j is --join-cgroup, as in nsenter; --ex and --js are the extensions', () => {
    expect(options(['--e'])).toMatchObject({ env: true, explain: false });
    expect(options(['--en'])).toMatchObject({ env: true, explain: false });
    expect(options(['--ex'])).toMatchObject({ env: false, explain: true });
    expect(options(['--j'])).toMatchObject({ joinCgroup: true, json: false });
    expect(options(['--jo'])).toMatchObject({ joinCgroup: true, json: false });
    expect(options(['--js'])).toMatchObject({ joinCgroup: false, json: true });
    expect(options(['--ho'])).toMatchObject({ hostTools: true });
    expect(options(['--pt'])).toMatchObject({ pty: true });
  });

  test('each flag sets its field and nothing else', () => {
    const parsed = options(['-t', '1', '-a', '--explain', '--json', '--pty', '--host-tools', 'sh']);
    expect(parsed).toMatchObject({ target: 1, all: true, explain: true, json: true, pty: true, hostTools: true, program: ['sh'] });
    expect(options(['-t', '1', '-a'])).toMatchObject({ explain: false, json: false, pty: false, hostTools: false });
  });

  test('after the program they are the program\'s', () => {
    expect(options(['sh', '--pty'])).toMatchObject({ pty: false, program: ['sh', '--pty'] });
    expect(options(['--', '--explain'])).toMatchObject({ explain: false, program: ['--explain'] });
  });

  test('--list-targets reads the rest of the command line for --verbose, in either order', () => {
    expect(stop(['--list-targets'])).toEqual({ kind: 'list-targets', verbose: false });
    expect(stop(['--list-targets', '--verbose'])).toEqual({ kind: 'list-targets', verbose: true });
    expect(stop(['--verbose', '--list-targets'])).toEqual({ kind: 'list-targets', verbose: true });
    expect(stop(['--l', '--verb'])).toEqual({ kind: 'list-targets', verbose: true });
    // A word after the program is the program's, as everywhere.
    expect(stop(['--list-targets', 'sh', '--verbose'])).toEqual({ kind: 'list-targets', verbose: false });
  });

  test('--list-targets: errors anywhere on the line are reported, --help still stops where it stands', () => {
    expect(stop(['--list-targets', '-x'])).toEqual(usage("invalid option -- 'x'"));
    expect(stop(['--list-targets', '-S', 'abc'])).toEqual(error("failed to parse uid: 'abc'"));
    expect(stop(['--list-targets', '--help'])).toEqual({ kind: 'help' });
  });
});

describe('help and version texts', () => {
  test('the version is the package version', () => {
    expect(versionText()).toBe(`nsctl ${packageJson.version}\n`);
  });

  test('the help names every long option we accept, ours too, each on one line of its own, and nothing we do not', () => {
    const help = helpText();
    const lines = help.split('\n');
    for (const option of [...NSCTL_OPTIONS.long, ...NSCTL_OPTIONS.extensions!]) {
      const rows = lines.filter((line) => new RegExp(`^  (-\\S, |    )--${option.name}(\\[|\\s|$)`).test(line));
      expect(rows, option.name).toHaveLength(1);
    }
    for (const option of NSENTER_OPTIONS.short) {
      const rows = lines.filter((line) => line.startsWith(`  -${option.letter}, `));
      expect(rows, option.letter).toHaveLength(1);
    }
  });

  test('the help shows how each argument is given: attached for optional ones, a word for required ones', () => {
    const help = helpText();
    expect(help).toContain('  -n, --net[=<file>] ');
    expect(help).toContain('  -t, --target <target> ');
    expect(help).toContain('      --completion <shell> ');
    expect(help).toContain('  -r, --root[=<dir>] ');
  });

  test('the help points at something an installed user has: the man page', () => {
    expect(helpText()).not.toContain('docs/');
    expect(helpText()).toContain('man nsctl');
  });

  test('the help fits in 80 columns and ends with one newline', () => {
    const help = helpText();
    for (const line of help.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(help.endsWith('\n')).toBe(true);
    expect(help.endsWith('\n\n')).toBe(false);
  });
});
