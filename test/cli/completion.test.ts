// `nsctl --completion bash|zsh|fish`, tried in the real shells. Each script is loaded as its header
// says, with a stand-in `nsctl` first on PATH that prints two containers and a netns for
// `--list-targets`, in a scratch directory holding one file and one directory:
// - bash: `complete -p`, then the completion function driven with COMP_WORDS/COMP_CWORD the way
//   bash splits a line (at = and :), and once through real readline in tmux to show that is how;
// - zsh: an interactive zsh in a zpty with compinit, the script on $fpath, Tab typed, and every
//   match compadd is given printed;
// - fish: `complete -C LINE` (HOME is the scratch directory, so no personal fish config is read).
// Under CI=true a missing shell fails the test instead of skipping it.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { completionScript } from '../../src/cli/completion.ts';
import { needs } from '../support/gate.ts';
import { OPTION_SPECS } from '../../src/cli/table.ts';

const SHOWN = OPTION_SPECS.filter((spec) => !spec.hidden);
const LONG_NAMES = SHOWN.flatMap((spec) => (spec.long === undefined ? [] : [`--${spec.long}`]));
const SHORT_NAMES = SHOWN.flatMap((spec) => (spec.short === undefined ? [] : [`-${spec.short}`]));
const TARGETS = ['docker:web', 'podman:db', 'netns:blue'];

const dir = mkdtempSync(join(tmpdir(), 'nsctl-completion-'));
const bin = join(dir, 'bin');
const files = join(dir, 'files');
const zshFunctions = join(dir, 'zsh');
const env = { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`, HOME: dir, LC_ALL: 'C', TERM: 'xterm' };

beforeAll(() => {
  mkdirSync(bin);
  mkdirSync(join(files, 'dir'), { recursive: true });
  mkdirSync(zshFunctions);
  writeFileSync(join(files, 'netns-a'), '');
  mkdirSync(join(files, 'with space'));
  writeFileSync(join(files, 'with space', 'a b*'), '');
  writeFileSync(
    join(bin, 'nsctl'),
    "#!/bin/sh\n[ \"$1\" = --list-targets ] && printf 'docker\\tweb\\tabc123\\t4242\\npodman\\tdb\\tdef456\\t4343\\nnetns\\tblue\\t-\\t-\\n'\n",
  );
  chmodSync(join(bin, 'nsctl'), 0o755);
  writeFileSync(join(dir, 'nsctl.bash'), completionScript('bash'));
  writeFileSync(join(zshFunctions, '_nsctl'), completionScript('zsh'));
  writeFileSync(join(dir, 'nsctl.fish'), completionScript('fish'));
  writeFileSync(join(dir, 'drive.bash'), DRIVE_BASH);
  writeFileSync(join(dir, 'capture.zsh'), CAPTURE_ZSH);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function run(command: string, args: readonly string[]): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync(command, args, { cwd: files, env, encoding: 'utf8', timeout: 30_000 });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

// ---- bash ---------------------------------------------------------------------------------------

/** Sources the script, sets COMP_LINE/COMP_POINT/COMP_WORDS/COMP_CWORD, runs _nsctl, prints COMPREPLY. */
const DRIVE_BASH = `source "$1"; shift
eval "$1"; shift
COMP_LINE=$1; COMP_POINT=\${#1}; shift
COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1))
_nsctl
printf '%s\\n' "\${COMPREPLY[@]}"
`;

/** COMP_WORDS as bash makes them from `line`: words at blanks, and = and : runs as words of their own. */
function bashWords(line: string): string[] {
  // A blank after a backslash is part of the word.
  return line.split(/(?<!\\)\s+/).flatMap((token) => token.match(/[=:]+|[^=:]+/g) ?? ['']);
}

function bashComplete(line: string, setup = ''): string[] {
  const result = run('bash', ['--norc', '--noprofile', join(dir, 'drive.bash'), join(dir, 'nsctl.bash'), setup, line, ...bashWords(line)]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return lines(result.stdout);
}

describe('bash', () => {
  test('the script registers _nsctl for nsctl', () => {
    const result = run('bash', ['--norc', '--noprofile', '-c', `source ${join(dir, 'nsctl.bash')} && complete -p nsctl`]);
    expect(result).toEqual({ stdout: 'complete -F _nsctl nsctl\n', stderr: '', status: 0 });
  });

  test('COMP_WORDS are split the way the test says bash splits them', () => {
    expect(bashWords('nsctl -t docker:w')).toEqual(['nsctl', '-t', 'docker', ':', 'w']);
    expect(bashWords('nsctl --net=')).toEqual(['nsctl', '--net', '=']);
    expect(bashWords('nsctl -t ')).toEqual(['nsctl', '-t', '']);
  });

  test('- offers every option, short and long, and the =FILE forms of the optional arguments', () => {
    const offered = bashComplete('nsctl -');
    expect(offered).toEqual(expect.arrayContaining([...SHORT_NAMES, ...LONG_NAMES, '--net=', '--mount=', '--root=', '--wdns=']));
    expect(offered).toEqual(expect.arrayContaining(['-Z', '--follow-context']));
    expect(offered).not.toContain('--target=');
    expect(offered).toHaveLength(new Set(offered).size);
  });

  test.each<[string, string[]]>([
    ['nsctl --ne', ['--net', '--net=', '--net-socket']],
    ['nsctl --v', ['--version', '--verbose']],
    ['nsctl --compl', ['--completion']],
    ['nsctl -S f', ['follow']],
    ['nsctl --setg=', ['follow']],
    ['nsctl --completion ', ['bash', 'zsh', 'fish']],
    ['nsctl --co z', ['zsh']],
    // After = and : bash replaces only what follows them, so that is what is offered.
    ['nsctl --completion=z', ['zsh']],
    ['nsctl -t docker:', ['web']],
    ['nsctl -t docker:w', ['web']],
    ['nsctl --target=po', ['podman:db']],
    // An abbreviation is read as the option it selects.
    ['nsctl --tar ne', ['netns:blue']],
    ['nsctl --targ=ne', ['netns:blue']],
    ['nsctl -at ne', ['netns:blue']],
    ['nsctl -N ', []],
  ])('%j offers %j', (line, expected) => {
    expect(bashComplete(line)).toEqual(expected);
  });

  test('-t offers PIDs and the KIND:NAME of every --list-targets line', () => {
    const offered = bashComplete('nsctl -t ');
    expect(offered).toEqual(expect.arrayContaining([String(process.pid), '1', ...TARGETS]));
  });

  test('=FILE and =DIR complete file names after the =', () => {
    expect(bashComplete('nsctl --net=').sort()).toEqual(['dir', 'netns-a', 'with space']);
    // Names with blanks and glob characters stay whole.
    expect(bashComplete('nsctl --net=wi')).toEqual(['with space']);
    // What is typed is dequoted first, as nsctl will get it.
    expect(bashComplete('nsctl --net=with\\ space/a')).toEqual(['with space/a b*']);
    expect(bashComplete("nsctl -t 'docker:w")).toEqual(['web']);
    expect(bashComplete(`nsctl --net=${files}/ne`)).toEqual([`${files}/netns-a`]);
    expect(bashComplete(`nsctl -t 1 --mou=${files}/`).sort()).toEqual([`${files}/dir`, `${files}/netns-a`, `${files}/with space`]);
    expect(bashComplete(`nsctl --root=${files}/`).sort()).toEqual([`${files}/dir`, `${files}/with space`]);
    expect(bashComplete(`nsctl --wdn=${files}/d`)).toEqual([`${files}/dir`]);
  });

  test('the first word that is not an option is the program: command names, then its own arguments', () => {
    expect(bashComplete('nsctl ech')).toEqual(['echo']);
    expect(bashComplete('nsctl -t 1 -n ech')).toEqual(['echo']);
    // -nt: t is -n's attached file, so the next word is the program, not -t's target.
    expect(bashComplete('nsctl -nt ech')).toEqual(['echo']);
    // An optional argument is never the next word: --net ech is the program ech.
    expect(bashComplete('nsctl --net ech')).toEqual(['echo']);
    expect(bashComplete('nsctl -t 1 -- ech')).toEqual(['echo']);
    // Past the program, nsctl's options are the program's words.
    expect(bashComplete('nsctl -t 1 sh --n')).toEqual([]);
    expect(bashComplete('nsctl -t 1 -- --n')).toEqual([]);
  });

  test("with bash-completion loaded, the program's completion gets its place in COMP_WORDS", () => {
    const fake = '_command_offset() { COMPREPLY=("offset:$1"); }';
    expect(bashComplete('nsctl -t 1 ls --col', fake)).toEqual(['offset:3']);
    // --net=/x is three of bash's words.
    expect(bashComplete('nsctl --net=/x ls -', fake)).toEqual(['offset:4']);
    expect(bashComplete('nsctl -- ls', fake)).toEqual(['offset:2']);
  });

  test.runIf(needs('tmux'))('real readline in tmux completes -t docker:w, --net=FILE and a unique option', () => {
    // The server's socket in our directory: -L would leave /tmp/tmux-0 and the socket behind.
    const t = (...args: string[]) => spawnSync('tmux', ['-S', join(dir, 'tmux'), ...args], { cwd: files, env, encoding: 'utf8' });
    const screenShows = (text: string): boolean => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        if (t('capture-pane', '-p', '-t', 'c').stdout.includes(text)) return true;
        spawnSync('sleep', ['0.1']);
      }
      return false;
    };
    try {
      expect(t('new-session', '-d', '-s', 'c', '-x', '200', '-y', '20', 'bash --norc --noprofile -i').status).toBe(0);
      t('send-keys', '-t', 'c', `PS1='ready$ '; source ${join(dir, 'nsctl.bash')}; clear`, 'Enter');
      expect(screenShows('ready$')).toBe(true);
      const cases: [string, string][] = [
        // (tmux drops the space readline adds after a finished word.)
        ['nsctl -t docker:w', 'ready$ nsctl -t docker:web'],
        [`nsctl --net=${files}/ne`, `ready$ nsctl --net=${files}/netns-a`],
        [`nsctl --root=${files}/d`, `ready$ nsctl --root=${files}/dir/`],
        ['nsctl --host', 'ready$ nsctl --host-tools'],
        ['nsctl --ex', 'ready$ nsctl --explain'],
      ];
      for (const [typed, shown] of cases) {
        t('send-keys', '-t', 'c', typed, 'Tab');
        expect(screenShows(shown), `${typed} → ${shown}`).toBe(true);
        t('send-keys', '-t', 'c', 'C-u', 'C-l');
      }
    } finally {
      t('kill-server');
    }
  });
});

// ---- zsh ----------------------------------------------------------------------------------------

/**
 * zsh -f capture.zsh FPATH-DIR LINE: starts an interactive zsh in a pseudo-terminal, runs compinit
 * with FPATH-DIR first, replaces compadd with a function that prints every match it is given
 * (<HIT>, with IPREFIX) and then adds them as usual, types LINE and Tab, and reads up to the
 * <END> the post-completion hook prints.
 */
const CAPTURE_ZSH = `zmodload zsh/zpty || exit 2
zpty z zsh -f -i
zpty -w z "PS1= PROMPT= RPROMPT=; fpath=($1 \\$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd() { if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "$@"; return $?; fi; local -a __hits; builtin compadd -A __hits "$@"; local h; for h in $__hits; do print -r -- "<HIT>$IPREFIX$h"; done; builtin compadd "$@"; }'
zpty -w z '_capture_end() { print -r -- "<END>"; }; comppostfuncs=(_capture_end)'
zpty -w z "bindkey '^I' complete-word; zstyle ':completion:*' list-prompt ''"
zpty -w z 'print -r -- "<READY>"'
zpty -r z ignored '*<READY>*'
zpty -n -w z "$2"$'\\t'
zpty -r z out '*<END>*' || exit 3
print -r -- "$out" | tr -d '\\r' | grep -ao '<HIT>.*' | sed 's/^<HIT>//' | sort -u
zpty -d z
`;

function zshComplete(line: string): string[] {
  const result = run('zsh', ['-f', join(dir, 'capture.zsh'), zshFunctions, line]);
  expect(result.status).toBe(0);
  return lines(result.stdout);
}

describe.runIf(needs('zsh'))('zsh', () => {
  test('-<Tab> offers every option, short and long', () => {
    const offered = zshComplete('nsctl -');
    expect(offered).toEqual(expect.arrayContaining([...SHORT_NAMES, ...LONG_NAMES, '-Z', '--follow-context']));
  });

  test.each<[string, string[]]>([
    ['nsctl --ne', ['--net', '--net-socket']],
    ['nsctl --completion ', ['bash', 'fish', 'zsh']],
    ['nsctl -S ', ['follow']],
    ['nsctl -t docker:', ['docker:web']],
    [`nsctl --net=${files}/ne`, ['--net=netns-a']],
    // (zsh quotes what it inserts.)
    [`nsctl --root=${files}/`, ['--root=dir', '--root=with\\ space']],
    // An optional argument attached to a short option (zsh prints the directory part apart).
    [`nsctl -n${files}/ne`, ['-nnetns-a']],
  ])('%j offers %j', (line, expected) => {
    expect(zshComplete(line)).toEqual(expected);
  });

  test('-t offers PIDs and the KIND:NAME of every --list-targets line', () => {
    expect(zshComplete('nsctl -t ')).toEqual(expect.arrayContaining(['1', ...TARGETS]));
  });

  test('the first word that is not an option is the program: command names, then its own completion', () => {
    expect(zshComplete('nsctl -t 1 -n ech')).toContain('echo');
    expect(zshComplete('nsctl ech')).toContain('echo');
    const afterProgram = zshComplete('nsctl -t 1 ls --');
    expect(afterProgram).not.toContain('--net');
    expect(afterProgram).toContain('--color');
  });
});

// ---- fish ---------------------------------------------------------------------------------------

function fishComplete(line: string): string[] {
  const result = run('fish', ['-c', `source ${join(dir, 'nsctl.fish')}; complete -C $argv[1]`, line]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  // Each line is WORD, or WORD<Tab>DESCRIPTION.
  return lines(result.stdout).map((line) => line.split('\t')[0]!);
}

describe.runIf(needs('fish'))('fish', () => {
  test('- offers every option, short and long, and the =FILE forms', () => {
    const offered = fishComplete('nsctl -');
    expect(offered).toEqual(expect.arrayContaining([...SHORT_NAMES, ...LONG_NAMES, '--net=', '--root=', '-Z', '--follow-context']));
  });

  test.each<[string, string[]]>([
    ['nsctl --ne', ['--net', '--net=', '--net-socket']],
    ['nsctl --completion ', ['bash', 'fish', 'zsh']],
    ['nsctl --completion=z', ['--completion=zsh']],
    ['nsctl -S ', ['follow']],
    ['nsctl -t docker:', ['docker:web']],
    ['nsctl -at ne', ['netns:blue']],
    // fish does not resolve an abbreviation itself; the script does.
    ['nsctl --tar po', ['podman:db']],
    ['nsctl --setu ', ['follow']],
    ['nsctl -N ', []],
  ])('%j offers %j', (line, expected) => {
    expect(fishComplete(line).sort()).toEqual([...expected].sort());
  });

  test('=FILE and =DIR complete file names after the =', () => {
    expect(fishComplete(`nsctl --net=${files}/ne`)).toEqual([`--net=${files}/netns-a`]);
    expect(fishComplete(`nsctl --root=${files}/d`)).toEqual([`--root=${files}/dir/`]);
    expect(fishComplete(`nsctl --net=${files}/with\\ space/a`)).toEqual([`--net=${files}/with space/a b*`]);
  });

  test('-t offers PIDs and the KIND:NAME of every --list-targets line', () => {
    expect(fishComplete('nsctl -t ')).toEqual(expect.arrayContaining(['1', ...TARGETS]));
  });

  test('the first word that is not an option is the program: command names, then its own completion', () => {
    expect(fishComplete('nsctl ech')).toContain('echo');
    expect(fishComplete('nsctl -t 1 -n ech')).toContain('echo');
    expect(fishComplete('nsctl --net ech')).toContain('echo');
    expect(fishComplete('nsctl -t 1 -- ech')).toContain('echo');
    const afterProgram = fishComplete('nsctl -t 1 ls --col');
    expect(afterProgram).toContain('--color');
    expect(fishComplete('nsctl -t 1 ls --ne')).not.toContain('--net');
  });
});
