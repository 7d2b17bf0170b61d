// `nsctl --completion bash|zsh|fish`: a completion script for each shell, made from the one option
// table (table.ts) that --help and the man page use. Each script reads the words before the cursor
// the way getopt does (options end at the first word that is not one, or at `--`; a required
// argument may be the next word; an optional one must be attached), so it offers options, then an
// option's argument, then the program and the program's own completion. `-t` offers PIDs and the
// KIND:NAME of every line `nsctl --list-targets` prints (KIND, NAME, ID, PID, tab-separated).
//
// The bash and fish scripts resolve abbreviated long options before the cursor with the lookup
// the parser uses (getopt.ts lookupLong), so `--tar ` is known to want a target: they carry the
// list of words that select each option, computed here (fish's own option handling knows full
// names only). zsh's _arguments, which the zsh script uses as designed, knows full names only.
import packageJson from '../../package.json' with { type: 'json' };
import { lookupLong } from './getopt.ts';
import { NSCTL_OPTIONS, OPTION_SPECS, type CompletionShell, type Completer, type OptionSpec } from './table.ts';

const PROGRAM = 'nsctl';
/** How long `nsctl --list-targets` may take before the completion gives up on it, in seconds. */
const LIST_TIMEOUT = 5;

/** The completion script for `shell`. */
export function completionScript(shell: CompletionShell): string {
  switch (shell) {
    case 'bash':
      return bashScript();
    case 'zsh':
      return zshScript();
    case 'fish':
      return fishScript();
  }
}

// ---- What every script needs from the table -----------------------------------------------------

const SHOWN = OPTION_SPECS.filter((spec) => !spec.hidden);
const WITH_ARGUMENT = SHOWN.filter((spec) => spec.argument !== 'none' && spec.value !== undefined);

/** Every `--word` (full name or abbreviation) that selects `spec`, shortest first. */
export function longWordsFor(spec: OptionSpec): string[] {
  const name = spec.long;
  if (name === undefined) return [];
  const words: string[] = [];
  for (let length = 1; length <= name.length; length++) {
    const match = lookupLong(name.slice(0, length), NSCTL_OPTIONS);
    if (match.kind === 'found' && match.option.key === spec.key) words.push(`--${name.slice(0, length)}`);
  }
  return words;
}

/** The short letters with this argument rule, for a shell's `[…]` pattern. */
function lettersWith(argument: OptionSpec['argument']): string {
  return OPTION_SPECS.filter((spec) => spec.short !== undefined && spec.argument === argument)
    .map((spec) => spec.short)
    .join('');
}

function completerOf(spec: OptionSpec): Completer {
  return spec.value?.completer ?? { kind: 'nothing' };
}

const header = (shell: CompletionShell, load: string, save: string): string =>
  [
    `# ${shell} completion for ${PROGRAM}, made by \`${PROGRAM} --completion ${shell}\` (${PROGRAM} ${packageJson.version}).`,
    `# Load it now:    ${load}`,
    `# or for good:    ${save}`,
  ].join('\n');

// ---- bash ---------------------------------------------------------------------------------------

/** Single-quoted for bash, zsh and fish alike: `'…'` with each `'` written as `'\''`. */
function quoted(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A `case` pattern list: `--tar|--targ|--targe|--target`. */
function casePattern(words: readonly string[]): string {
  // Every long name selects its own option at least (test/cli/parse.test.ts checks the table).
  if (words.length === 0) throw new Error('an option no word selects');
  return words.join('|');
}

function bashValueCase(): string {
  const arms = WITH_ARGUMENT.map((spec) => {
    const completer = completerOf(spec);
    let action: string;
    switch (completer.kind) {
      // One candidate a line, read with mapfile: names with blanks or * in them stay whole.
      case 'target':
        action = 'mapfile -t words < <(_nsctl_targets); _nsctl_add "$prefix" "$cur" "$keep" "${words[@]}"';
        break;
      case 'file':
        action = 'compopt -o filenames 2>/dev/null; mapfile -t words < <(compgen -f -- "$value"); _nsctl_add "$prefix" "$cur" "$keep" "${words[@]}"';
        break;
      case 'directory':
        action = 'compopt -o filenames 2>/dev/null; mapfile -t words < <(compgen -d -- "$value"); _nsctl_add "$prefix" "$cur" "$keep" "${words[@]}"';
        break;
      case 'choices':
        action = `_nsctl_add "$prefix" "$cur" "$keep" ${completer.words.join(' ')}`;
        break;
      case 'nothing':
        action = ':';
        break;
    }
    return `    ${quoted(spec.key)}) ${action} ;;`;
  });
  return arms.join('\n');
}

/** The key of the option a `--word` before `=` selects, for each option that takes an argument. */
function bashLongKeyCase(): string {
  return WITH_ARGUMENT.filter((spec) => spec.long !== undefined)
    .map((spec) => `    ${casePattern(longWordsFor(spec))}) printf %s ${quoted(spec.key)} ;;`)
    .join('\n');
}

function bashScript(): string {
  const options = SHOWN.flatMap((spec) => {
    const words: string[] = [];
    if (spec.short !== undefined) words.push(`-${spec.short}`);
    if (spec.long !== undefined) words.push(`--${spec.long}`);
    if (spec.long !== undefined && spec.argument === 'optional') words.push(`--${spec.long}=`);
    return words;
  });
  return `${header('bash', `source <(${PROGRAM} --completion bash)`, `${PROGRAM} --completion bash > ~/.local/share/bash-completion/completions/${PROGRAM}`)}

# The words before the cursor, as nsctl reads them. bash splits words at = and : (COMP_WORDBREAKS);
# they are glued back where the command line has no space, so that --net=/x and -t docker:web are
# one word each. Sets _nsctl_words, _nsctl_index (where each starts in COMP_WORDS) and _nsctl_cword.
_nsctl_glue() {
  local line=\${COMP_LINE:0:COMP_POINT} pos=0 before i word last
  _nsctl_words=() _nsctl_index=()
  for ((i = 0; i <= COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    before=$pos
    while [[ \${line:pos:1} == [[:space:]] ]]; do ((pos++)); done
    last=$((\${#_nsctl_words[@]} - 1))
    if ((i > 0 && pos == before)) && [[ $word == [=:]* || \${_nsctl_words[last]} == *[=:] ]]; then
      _nsctl_words[last]+=$word
    else
      _nsctl_words+=("$word") _nsctl_index+=("$i")
    fi
    ((pos += \${#word}))
  done
  _nsctl_cword=$((\${#_nsctl_words[@]} - 1))
  # Only what is left of the cursor counts.
  local excess=$((pos - \${#line}))
  ((excess > 0)) && _nsctl_words[_nsctl_cword]=\${_nsctl_words[_nsctl_cword]:0:\${#_nsctl_words[_nsctl_cword]}-excess}
  return 0
}

# Prints the key of the option whose argument is the next word after $1, if any.
_nsctl_wants_word() {
  case $1 in
    --*=*) return ;;
${OPTION_SPECS.filter((spec) => spec.argument === 'required' && spec.long !== undefined)
  .map((spec) => `    ${casePattern(longWordsFor(spec))}) printf %s ${quoted(spec.key)}; return ;;`)
  .join('\n')}
    --*) return ;;
  esac
  # A cluster: its letters up to the first that takes an argument; that one takes the next word
  # only if it ends the cluster.
  local rest=\${1#-} c
  while [[ -n $rest ]]; do
    c=\${rest:0:1} rest=\${rest:1}
    case $c in
      [${lettersWith('required')}]) [[ -z $rest ]] && printf %s "$c"; return ;;
      [${lettersWith('optional')}]) return ;;
    esac
  done
}

# Prints the key of the option the long word $1 (before its =) selects.
_nsctl_long_key() {
  case $1 in
${bashLongKeyCase()}
  esac
}

# PIDs, then KIND:NAME for each line of nsctl --list-targets (KIND, NAME, ID, PID, tab-separated).
_nsctl_targets() {
  local proc kind name rest nsctl=\${COMP_WORDS[0]}
  [[ $nsctl == */* && -x $nsctl ]] || nsctl=${PROGRAM}
  for proc in /proc/[0-9]*; do printf '%s\\n' "\${proc#/proc/}"; done
  while IFS=$'\\t' read -r kind name rest; do
    [[ -n $kind && -n $name ]] && printf '%s:%s\\n' "$kind" "$name"
  done < <(timeout ${LIST_TIMEOUT} "$nsctl" --list-targets 2>/dev/null)
}

# $1 without the shell's quoting (backslashes, single and double quotes), as the word will reach nsctl.
_nsctl_dequote() {
  local in=$1 out= c
  while [[ -n $in ]]; do
    c=\${in:0:1} in=\${in:1}
    case $c in
      \\\\) c=\${in:0:1} in=\${in:1} ;;
      \\\'|\\\") continue ;;
    esac
    out+=$c
  done
  printf '%s' "$out"
}

# _nsctl_add PREFIX CUR KEEP WORD...: offers PREFIX+WORD for each WORD that makes a word starting
# with CUR, without the KEEP that bash does not replace (the part up to its last = or :).
_nsctl_add() {
  local prefix=$1 cur=$2 keep=$3 word
  shift 3
  for word; do
    word=$prefix$word
    [[ $word == "$cur"* ]] && COMPREPLY+=("\${word:\${#keep}}")
  done
}

_nsctl() {
  local _nsctl_words _nsctl_index _nsctl_cword
  _nsctl_glue
  COMPREPLY=()
  local cur i=1 word pending=
  cur=$(_nsctl_dequote "\${_nsctl_words[_nsctl_cword]}")
  # What readline replaces: the word after its last = or : when bash splits there.
  local breaks= keep
  [[ $COMP_WORDBREAKS == *=* ]] && breaks+='='
  [[ $COMP_WORDBREAKS == *:* ]] && breaks+=':'
  local replaced=$cur
  [[ -n $breaks ]] && replaced=\${cur##*[$breaks]}
  keep=\${cur:0:\${#cur}-\${#replaced}}

  for ((i = 1; i < _nsctl_cword; i++)); do
    word=\${_nsctl_words[i]}
    if [[ -n $pending ]]; then pending=; continue; fi
    case $word in
      --) _nsctl_program $((i + 1)); return ;;
      -|''|[!-]*) _nsctl_program "$i"; return ;;
    esac
    pending=$(_nsctl_wants_word "$word")
  done

  local key= value=$cur prefix= words=()
  if [[ -n $pending ]]; then
    key=$pending
  elif [[ $cur == --*=* ]]; then
    key=$(_nsctl_long_key "\${cur%%=*}") value=\${cur#*=} prefix=\${cur%%=*}=
    [[ -n $key ]] || return 0
  elif [[ $cur == -* ]]; then
    _nsctl_add '' "$cur" "$keep" ${options.join(' ')}
    [[ \${#COMPREPLY[@]} == 1 && \${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
    return 0
  else
    _nsctl_program "$_nsctl_cword"
    return 0
  fi
  case $key in
${bashValueCase()}
  esac
  return 0
}

# The program and its arguments, from word $1 on: bash-completion's own completion of that command
# line when it is loaded, else command names, then file names.
_nsctl_program() {
  local first=\${_nsctl_index[$1]}
  if declare -F _command_offset >/dev/null; then
    _command_offset "$first"
  elif ((COMP_CWORD == first)); then
    mapfile -t COMPREPLY < <(compgen -c -- "\${COMP_WORDS[COMP_CWORD]}" | sort -u)
  else
    compopt -o default 2>/dev/null
    COMPREPLY=()
  fi
}

complete -F _nsctl ${PROGRAM}
`;
}

// ---- zsh ----------------------------------------------------------------------------------------

/** Text inside an _arguments `[description]`. */
function zshDescription(text: string): string {
  return text.replace(/([\\[\]:])/g, '\\$1');
}

function zshAction(completer: Completer): string {
  switch (completer.kind) {
    case 'target':
      return '_nsctl_targets';
    case 'file':
      return '_files';
    case 'directory':
      return '_files -/';
    case 'choices':
      return `(${completer.words.join(' ')})`;
    case 'nothing':
      return ' ';
  }
}

/** One option as _arguments specs: both names, excluding each other once given. */
function zshSpecs(spec: OptionSpec): string {
  const names: string[] = [];
  // _arguments: `-t+` argument attached or next word; `-n-` attached only; `--target=` after = or
  // next word; `--net=-` after = only.
  if (spec.short !== undefined) names.push(`-${spec.short}${spec.argument === 'required' ? '+' : spec.argument === 'optional' ? '-' : ''}`);
  if (spec.long !== undefined) names.push(`--${spec.long}${spec.argument === 'required' ? '=' : spec.argument === 'optional' ? '=-' : ''}`);
  const given = [spec.short === undefined ? [] : [`-${spec.short}`], spec.long === undefined ? [] : [`--${spec.long}`]].flat();
  const exclusion = `(${given.join(' ')})`;
  let argument = '';
  if (spec.value !== undefined && spec.argument !== 'none') {
    const colons = spec.argument === 'optional' ? '::' : ':';
    argument = `${colons}${spec.value.name}:${zshAction(spec.value.completer)}`;
  }
  const description = `[${zshDescription(spec.summary)}]`;
  const nameList = names.length === 1 ? names[0]! : `{${names.join(',')}}`;
  return `${quoted(exclusion)}${nameList}${quoted(description + argument)}`;
}

function zshScript(): string {
  const specs = SHOWN.map((spec) => `    ${zshSpecs(spec)} \\`).join('\n');
  return `#compdef ${PROGRAM}
${header('zsh', `source <(${PROGRAM} --completion zsh)      (after compinit)`, `${PROGRAM} --completion zsh > "\${fpath[1]}/_${PROGRAM}"`)}

# Every process, and KIND:NAME for each line of nsctl --list-targets (KIND, NAME, ID, PID,
# tab-separated). Not _pids: by default it lists only the processes of this terminal.
_nsctl_targets() {
  _alternative 'processes:process ID:_nsctl_pids' 'containers:container:_nsctl_named_targets'
}

_nsctl_pids() {
  local pid comm
  local -a processes
  ps -e -o pid=,comm= 2>/dev/null | while read -r pid comm; do processes+=("$pid:$comm"); done
  _describe -t processes 'process ID' processes -o nosort
}

_nsctl_named_targets() {
  local nsctl=\${words[1]} kind name id pid
  local -a targets
  [[ $nsctl == */* && -x $nsctl ]] || nsctl=${PROGRAM}
  while IFS=$'\\t' read -r kind name id pid; do
    [[ -n $kind && -n $name ]] && targets+=("\${kind}\\\\:\${name//:/\\\\:}:\${id} (PID \${pid})")
  done < <(timeout ${LIST_TIMEOUT} $nsctl --list-targets 2>/dev/null)
  _describe -t containers container targets
}

_nsctl() {
  # -s: short options cluster; -S: -- ends the options; -A '-*': so does the first word that is
  # not an option, as getopt reads nsctl's command line.
  _arguments -s -S -A '-*' : \\
${specs}
    '(-):program:_command_names -e' \\
    '*::argument:_normal'
}

if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  _nsctl "$@"
else
  compdef _nsctl ${PROGRAM}
fi
`;
}

// ---- fish ----------------------------------------------------------------------------------------

/** fish's `-a` for a value, or undefined when nothing is offered. */
function fishValues(completer: Completer): string | undefined {
  switch (completer.kind) {
    case 'target':
      return '(__nsctl_targets)';
    case 'file':
      return '(__nsctl_paths)';
    case 'directory':
      return '(__nsctl_directories)';
    case 'choices':
      return completer.words.join(' ');
    case 'nothing':
      return undefined;
  }
}

/**
 * The option itself, with its values for fish's own handling of `-t VALUE`, `--target VALUE` and
 * `--net=VALUE` (`-x`: a required argument and no file names; `-f`: no file names as the next word,
 * which is the program when the argument is optional).
 */
function fishOption(spec: OptionSpec): string {
  const parts = [`complete -c ${PROGRAM} -n __nsctl_in_options`];
  if (spec.short !== undefined) parts.push(`-s ${spec.short}`);
  if (spec.long !== undefined) parts.push(`-l ${spec.long}`);
  parts.push(spec.argument === 'required' ? '-x' : '-f');
  const values = spec.argument === 'none' ? undefined : fishValues(completerOf(spec));
  if (values !== undefined) parts.push(`-a ${quoted(values)}`);
  parts.push(`-d ${quoted(spec.summary)}`);
  return parts.join(' ');
}

/** The values after an abbreviation (`--tar `), which fish itself does not resolve. */
function fishPendingValue(spec: OptionSpec): string {
  const values = fishValues(completerOf(spec));
  const action = values === undefined ? '' : ` -a ${quoted(values)}`;
  return `complete -c ${PROGRAM} -n ${quoted(`__nsctl_pending ${spec.key}`)} -x${action}`;
}

function fishScript(): string {
  const required = OPTION_SPECS.filter((spec) => spec.argument === 'required' && spec.long !== undefined && !spec.hidden);
  const arms = required.map((spec) => `            case ${longWordsFor(spec).join(' ')}\n                set pending ${quoted(spec.key)}`).join('\n');
  return `${header('fish', `${PROGRAM} --completion fish | source`, `${PROGRAM} --completion fish > ~/.config/fish/completions/${PROGRAM}.fish`)}

# Where the words before the cursor leave us, read as getopt reads them, as two lines: "option" and
# nothing (the next word is an option or the program), "value" and the key of the option whose
# argument it is, or "program" and the token the program starts at (the options are over).
function __nsctl_state
    set -l tokens (commandline -opc)
    set -l pending
    set -l i 1
    while test $i -lt (count $tokens)
        set i (math $i + 1)
        set -l word $tokens[$i]
        if test -n "$pending"
            set pending
            continue
        end
        switch $word
            case --
                printf '%s\\n' program (math $i + 1)
                return
            case '--*=*'
${arms}
            case '--*'
            case - ''
                printf '%s\\n' program $i
                return
            case '-*'
                set pending (__nsctl_cluster_wants_word $word)
            case '*'
                printf '%s\\n' program $i
                return
        end
    end
    if test -n "$pending"
        printf '%s\\n' value $pending
    else
        printf '%s\\n' option ''
    end
end

# The letter of a short-option cluster ($argv[1]) whose argument is the next word, if any: the
# first letter that takes an argument, when it ends the cluster.
function __nsctl_cluster_wants_word
    set -l rest (string sub -s 2 -- $argv[1])
    while test -n "$rest"
        set -l c (string sub -l 1 -- $rest)
        set rest (string sub -s 2 -- $rest)
        if string match -qr -- '^[${lettersWith('required')}]$' $c
            test -z "$rest"; and echo $c
            return
        else if string match -qr -- '^[${lettersWith('optional')}]$' $c
            return
        end
    end
end

function __nsctl_in_options
    set -l state (__nsctl_state)
    test "$state[1]" != program
end

# True when the word at the cursor is the argument of the option with key $argv[1].
function __nsctl_pending
    set -l state (__nsctl_state)
    test "$state[1]" = value -a "$state[2]" = "$argv[1]"
end

function __nsctl_wants_program
    set -l state (__nsctl_state)
    test "$state[1]" = program; and return 0
    test "$state[1]" = option; and not string match -q -- '-*' (commandline -ct)
end

# The program and its own completion, from the token where it starts.
function __nsctl_program
    set -l state (__nsctl_state)
    set -l tokens (commandline -opc) (commandline -ct)
    set -l start (math (count (commandline -opc)) + 1)
    test "$state[1]" = program; and set start $state[2]
    __fish_complete_subcommand --commandline $tokens[$start..-1]
end

# The value being typed, unquoted, without a leading --name= (fish puts that back in front of
# each candidate).
function __nsctl_value
    set -l token (commandline -ct | string unescape)
    or set token (commandline -ct)
    string replace -r -- '^--[^=]*=' '' $token
end

function __nsctl_paths
    __fish_complete_path (__nsctl_value)
end

function __nsctl_directories
    __fish_complete_directories (__nsctl_value)
end

# Every process, and KIND:NAME for each line of nsctl --list-targets (KIND, NAME, ID, PID,
# tab-separated).
function __nsctl_targets
    __fish_complete_pids
    set -l nsctl (commandline -opc)[1]
    string match -q -- '*/*' $nsctl; and test -x $nsctl; or set nsctl ${PROGRAM}
    timeout ${LIST_TIMEOUT} $nsctl --list-targets 2>/dev/null | while read -l -d \\t kind name id pid
        test -n "$kind" -a -n "$name"; and printf '%s:%s\\t%s\\n' $kind $name "container $id (PID $pid)"
    end
end

complete -c ${PROGRAM} -e
complete -c ${PROGRAM} -n __nsctl_wants_program -f -a '(__nsctl_program)'
${SHOWN.map(fishOption).join('\n')}
${required.map(fishPendingValue).join('\n')}
`;
}
