// Plan + what it was built from → the PlanDocument (document.ts). Pure, and it decides nothing:
// every answer is read off the plan a real run hands to the helper, the notes buildPlan kept of
// its own decisions (what --all left out, the nested order), the facts and the resolution. Options
// only name the reason for something the plan does (-F for no fork, -S for an id). A step type
// this code does not know still gets a line, made from its row in the record table, so a new step
// needs no change here to be shown.
import type { EarlyFile, Options, TargetName } from '../cli/index.ts';
import { camel, planRecord, type RecordSpec } from '../kernel/frames.ts';
import { NAMESPACES, type Namespace } from '../kernel/namespaces.ts';
import type { Plan, PlanNotes, Slot, Step } from '../plan/index.ts';
import type { NamespaceInodes, SystemFacts } from '../procfs/index.ts';
import type { Resolution as TargetResolution } from '../targets/index.ts';
import {
  PLAN_DOCUMENT_VERSION,
  type Credentials,
  type Cwd,
  type Environment,
  type FieldValue,
  type Fork,
  type IdChange,
  type LeftOut,
  type NamespaceEntry,
  type NamespaceSource,
  type Order,
  type PlanDocument,
  type Program,
  type Resolution,
  type Root,
  type ShellSource,
  type Step as DocumentStep,
  type Target,
} from './document.ts';

export interface ExplainInput {
  /** nsctl's arguments as it read them. */
  readonly argv: readonly string[];
  /** The options the plan was built from (after `-t KIND:NAME` was resolved). */
  readonly options: Options;
  /** `-t KIND:NAME` as given, with what it resolved to: a process (`resolution`) or, for netns:, `files`. */
  readonly named: { readonly target: TargetName; readonly resolution: TargetResolution | undefined; readonly files: readonly EarlyFile[] } | undefined;
  readonly facts: SystemFacts;
  readonly inodes: NamespaceInodes;
  readonly plan: Plan;
  readonly notes: PlanNotes;
}

/** What a slot holds, traced from the step that made it. */
type Origin =
  | { readonly kind: 'proc'; readonly pid: number; readonly path: string }
  | { readonly kind: 'target-file'; readonly path: string }
  /** Opened by path from the current directory; `inside`: after the first setns (`-W`, the saved cwd). */
  | { readonly kind: 'file'; readonly path: string; readonly inside: boolean }
  | { readonly kind: 'pidfd'; readonly pid: number }
  | { readonly kind: 'socket'; readonly pid: number; readonly fd: number }
  | { readonly kind: 'socket-netns'; readonly pid: number; readonly fd: number }
  | { readonly kind: 'owner'; readonly of: Origin }
  | { readonly kind: 'other'; readonly op: string };

type StepOf<Op extends Step['op']> = Extract<Step, { op: Op }>;

export function explainPlan(input: ExplainInput): PlanDocument {
  const { plan } = input;
  const origins = traceOrigins(plan.steps);
  const origin = (slot: Slot): Origin => origins.get(slot) ?? { kind: 'other', op: 'unknown' };
  const namespaces = namespaceEntries(plan.steps, origin, input);
  const root = rootOf(plan.steps, origin);
  return {
    version: PLAN_DOCUMENT_VERSION,
    argv: [...input.argv],
    resolution: resolutionOf(input.named),
    target: targetOf(input),
    namespaces,
    leftOut: input.notes.leftOut.map((left): LeftOut => ({ type: left.ns, inode: decimal(input.inodes.target[left.ns]), reason: left.reason })),
    order: orderOf(plan.steps, input, namespaces),
    root,
    cwd: cwdOf(plan.steps, origin, namespaces),
    environment: environmentOf(plan.steps, origin),
    cgroup: cgroupOf(plan.steps, origin),
    credentials: credentialsOf(plan.steps, origin, input.options),
    fork: forkOf(plan.steps, input.options),
    program: programOf(plan.steps, root !== null, namespaces.some((n) => n.type === 'mnt')),
    steps: plan.steps.map((step, i) => ({ op: step.op, record: planRecord(step.op)?.type ?? null, text: stepText(step, i, plan.steps, origin), fields: fieldsOf(step) })),
  };
}

// ---- Slots --------------------------------------------------------------------------------------

function traceOrigins(steps: readonly Step[]): Map<Slot, Origin> {
  const origins = new Map<Slot, Origin>();
  let entered = false;
  for (const step of steps) {
    const made = madeBy(step, origins, entered);
    if (made !== undefined) origins.set(made.slot, made.origin);
    else for (const slot of newSlots(step)) if (!origins.has(slot)) origins.set(slot, { kind: 'other', op: step.op });
    if (step.op === 'setns') entered = true;
  }
  return origins;
}

function madeBy(step: Step, origins: ReadonlyMap<Slot, Origin>, entered: boolean): { slot: Slot; origin: Origin } | undefined {
  switch (step.op) {
    case 'open': {
      if (step.at === 'cwd') {
        const pid = /^\/proc\/([0-9]+)$/.exec(step.path)?.[1];
        if (step.how === 'directory' && pid !== undefined) return { slot: step.slot, origin: { kind: 'proc', pid: Number(pid), path: step.path } };
        return { slot: step.slot, origin: { kind: 'file', path: step.path, inside: entered } };
      }
      const base = origins.get(step.at);
      const path = base !== undefined && 'path' in base ? `${base.path}/${step.path}` : step.path;
      return { slot: step.slot, origin: base?.kind === 'proc' ? { kind: 'target-file', path } : { kind: 'file', path, inside: entered } };
    }
    case 'pidfd':
      return { slot: step.slot, origin: { kind: 'pidfd', pid: step.pid } };
    case 'pidfd-getfd': {
      const pidfd = origins.get(step.pidfd);
      return { slot: step.slot, origin: { kind: 'socket', pid: pidfd?.kind === 'pidfd' ? pidfd.pid : 0, fd: step.fd } };
    }
    case 'socket-netns': {
      const socket = origins.get(step.socket);
      return { slot: step.slot, origin: socket?.kind === 'socket' ? { kind: 'socket-netns', pid: socket.pid, fd: socket.fd } : { kind: 'other', op: step.op } };
    }
    case 'ns-owner':
      return { slot: step.slot, origin: { kind: 'owner', of: origins.get(step.of) ?? { kind: 'other', op: 'unknown' } } };
    default:
      return undefined;
  }
}

/** The slots a step creates, by its record's `new` fields: how a step type added later is traced. */
function newSlots(step: Step): Slot[] {
  const spec = planRecord(step.op);
  const values = step as unknown as Readonly<Record<string, unknown>>;
  return (spec?.fields ?? []).filter(([, kind]) => kind === 'new').flatMap(([name]) => {
    const value = values[camel(name)];
    return typeof value === 'number' ? [value] : [];
  });
}

function sourceOf(origin: Origin): NamespaceSource {
  switch (origin.kind) {
    case 'pidfd':
      return { kind: 'pidfd', pid: origin.pid };
    case 'target-file':
      return { kind: 'target-file', path: origin.path };
    case 'file':
      return { kind: 'file', path: origin.path };
    case 'socket-netns':
      return { kind: 'socket', pid: origin.pid, fd: origin.fd };
    case 'owner':
      return { kind: 'owner', of: sourceOf(origin.of) };
    case 'other':
      return { kind: 'other', op: origin.op };
    case 'proc':
      return { kind: 'other', op: 'open' };
    case 'socket':
      return { kind: 'other', op: 'pidfd-getfd' };
  }
}

// ---- Namespaces and their order -----------------------------------------------------------------

function setnsSteps(steps: readonly Step[]): StepOf<'setns'>[] {
  return steps.filter((s): s is StepOf<'setns'> => s.op === 'setns');
}

function namespaceEntries(steps: readonly Step[], origin: (slot: Slot) => Origin, input: ExplainInput): NamespaceEntry[] {
  // One entry per namespace and descriptor: pass 2 retries pass 1's, and the nested order enters
  // a user namespace per level.
  const entries: NamespaceEntry[] = [];
  const seen = new Set<string>();
  for (const step of setnsSteps(steps)) {
    for (const ns of step.mask) {
      if (seen.has(`${ns} ${step.fd}`)) continue;
      seen.add(`${ns} ${step.fd}`);
      const from = origin(step.fd);
      entries.push({ type: ns, inode: decimal(inodeOf(ns, from, input)), source: sourceOf(from) });
    }
  }
  return entries;
}

/** A namespace's inode where nsctl could read it: the target's links, named files, the helper's answer on owners. */
function inodeOf(ns: Namespace, from: Origin, input: ExplainInput): bigint | undefined {
  switch (from.kind) {
    case 'pidfd':
    case 'target-file':
      return input.inodes.target[ns];
    case 'file':
      return input.inodes.files.get(from.path);
    case 'owner': {
      // Only known when the helper was asked who owns what (an unprivileged caller, a foreign user namespace).
      const tree = input.facts.userNamespaces;
      if (tree === undefined || from.of.kind !== 'target-file') return undefined;
      const of = NAMESPACES.find((candidate) => from.of.kind === 'target-file' && from.of.path.endsWith(`/ns/${candidate}`));
      if (of === undefined) return undefined;
      return of === 'user' ? tree.parents[0] : tree.owners[of];
    }
    default:
      return undefined;
  }
}

function orderOf(steps: readonly Step[], input: ExplainInput, namespaces: readonly NamespaceEntry[]): Order {
  const joins = setnsSteps(steps);
  if (input.notes.nesting !== undefined) {
    const inode = (ns: Namespace): string | null => namespaces.find((n) => n.type === ns)?.inode ?? null;
    // Each user namespace on the way is its own setns; the plan's steps give them in order.
    return {
      kind: 'nested',
      sequence: joins.flatMap((join) => join.mask.map((ns) => ({ type: ns, inode: ns === 'user' ? userInodeOf(join, steps, input) : inode(ns) }))),
    };
  }
  return {
    kind: 'two-pass',
    pass1: joins.filter((j) => j.soft === true).flatMap((j) => j.mask),
    pass2: joins.filter((j) => j.soft !== true).flatMap((j) => j.mask),
    pidfdSetns: input.facts.pidfdSetns,
  };
}

/** In the nested order: which user namespace a setns enters — its place in the chain buildPlan noted. */
function userInodeOf(join: StepOf<'setns'>, steps: readonly Step[], input: ExplainInput): string | null {
  const chain = input.notes.nesting?.chain ?? [];
  const users = setnsSteps(steps).filter((j) => j.mask.includes('user'));
  // The chain's levels that own nothing are skipped by the plan, except the innermost (the target's).
  const entered = chain.filter((ino, i) => i === chain.length - 1 || [...(input.notes.nesting?.owner.values() ?? [])].includes(ino));
  return decimal(entered[users.indexOf(join)]);
}

// ---- Root, directory, environment, cgroup ----------------------------------------------------

function rootOf(steps: readonly Step[], origin: (slot: Slot) => Origin): Root | null {
  const chroot = steps.findIndex((s) => s.op === 'chroot');
  const before = steps[chroot - 1];
  if (chroot < 0 || before?.op !== 'fchdir') return null;
  const from = origin(before.slot);
  if (from.kind === 'target-file') return { kind: 'target', path: from.path };
  return { kind: 'file', path: 'path' in from ? from.path : '?' };
}

function cwdOf(steps: readonly Step[], origin: (slot: Slot) => Origin, namespaces: readonly NamespaceEntry[]): Cwd {
  const chroot = steps.findIndex((s) => s.op === 'chroot');
  const last = steps.map((s) => s.op).lastIndexOf('fchdir');
  // The fchdir just before chroot is the root's; a working directory is a later one.
  const step = last > chroot ? steps[last] : undefined;
  if (step?.op === 'fchdir') {
    const from = origin(step.slot);
    if (from.kind === 'target-file') return { kind: 'target', path: from.path };
    if (from.kind === 'file' && from.inside) return from.path === '.' ? { kind: 'saved' } : { kind: 'in-namespace', path: from.path };
    if (from.kind === 'file') return { kind: 'file', path: from.path };
  }
  return namespaces.some((n) => n.type === 'mnt') ? { kind: 'mount-root' } : { kind: 'unchanged' };
}

function environmentOf(steps: readonly Step[], origin: (slot: Slot) => Origin): Environment {
  const environ = steps.filter((s): s is StepOf<'environ'> => s.op === 'environ');
  const exec = execStep(steps);
  const first = environ[0];
  const fromTarget = exec?.targetEnv === true;
  const source = first === undefined ? undefined : origin(first.fd);
  return {
    from: fromTarget ? 'target' : 'caller',
    names: fromTarget || exec === undefined ? null : exec.env.map(nameOf),
    environ: first === undefined ? null : { path: source !== undefined && 'path' in source ? source.path : '?', lateRead: environ.some((s) => s.late === true) },
    dropped: first?.drop ?? [],
  };
}

function cgroupOf(steps: readonly Step[], origin: (slot: Slot) => Origin): { procs: string } | null {
  const join = steps.find((s): s is StepOf<'join-cgroup'> => s.op === 'join-cgroup');
  if (join === undefined) return null;
  const from = origin(join.slot);
  return { procs: 'path' in from ? from.path : '?' };
}

// ---- Credentials, fork, program ----------------------------------------------------------------

function credentialsOf(steps: readonly Step[], origin: (slot: Slot) => Origin, options: Options): Credentials {
  const owner = steps.find((s): s is StepOf<'stat-owner'> => s.op === 'stat-owner');
  const ownerOf = owner === undefined ? '?' : pathOf(origin(owner.slot));
  const change = (op: 'setgid' | 'setuid', option: Options['setuid']): IdChange => {
    const step = steps.find((s): s is StepOf<'setgid'> | StepOf<'setuid'> => s.op === op);
    if (step === undefined) return { kind: 'unchanged' };
    if (step.owner === true) return { kind: 'owner', of: ownerOf };
    return { kind: 'id', id: step.id, because: option === undefined ? 'user-namespace' : 'option' };
  };
  return {
    groups: steps.some((s) => s.op === 'setgroups') ? 'cleared' : 'kept',
    gid: change('setgid', options.setgid),
    uid: change('setuid', options.setuid),
    keepCaps: steps.some((s) => s.op === 'keep-caps'),
  };
}

function forkOf(steps: readonly Step[], options: Options): Fork {
  if (steps.some((s) => s.op === 'fork')) return { fork: true, reason: 'pid-namespace' };
  const pid = setnsSteps(steps).some((s) => s.mask.includes('pid'));
  return { fork: false, reason: pid && options.noFork ? 'no-fork-option' : 'no-pid-namespace' };
}

type ExecStep = StepOf<'exec'> | StepOf<'exec-login-shell'>;

function execStep(steps: readonly Step[]): ExecStep | undefined {
  return steps.find((s): s is ExecStep => s.op === 'exec' || s.op === 'exec-login-shell');
}

/** The first NAME=value of `name`, as getenv finds it. */
function valueIn(env: readonly string[], name: string): string | undefined {
  return env.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
}

function programOf(steps: readonly Step[], newRoot: boolean, mountNamespace: boolean): Program {
  const exec = execStep(steps);
  if (exec === undefined) return { kind: 'exec', file: '', argv: [], search: false, path: null };
  const known = exec.targetEnv !== true;
  if (exec.op === 'exec') {
    const search = !exec.file.includes('/');
    // The helper searches the PATH of the program's environment, /bin:/usr/bin when it has none.
    return { kind: 'exec', file: exec.file, argv: [...exec.argv], search, path: search && known ? (valueIn(exec.env, 'PATH') ?? '/bin:/usr/bin') : null };
  }
  const shell = known ? valueIn(exec.env, 'SHELL') : undefined;
  const chosen = shell !== undefined && shell !== '' ? shell : null;
  const uid = steps.find((s): s is StepOf<'setuid'> => s.op === 'setuid');
  const lookup: ShellSource[] = [
    { from: 'SHELL', value: chosen, known },
    { from: 'passwd', uid: uid === undefined ? 'caller' : uid.owner === true ? 'owner' : uid.id, root: newRoot ? 'new-root' : mountNamespace ? 'mount-namespace' : 'caller' },
    { from: 'fallback', value: exec.fallback },
  ];
  return { kind: 'login-shell', shell: chosen, lookup };
}

// ---- Resolution and target ---------------------------------------------------------------------

function resolutionOf(named: ExplainInput['named']): Resolution | null {
  if (named === undefined) return null;
  const { target, resolution, files } = named;
  if (resolution === undefined) {
    const file = files[0]?.path ?? null;
    return { kind: target.kind, name: target.name, pid: null, file, id: null, source: file ?? '' };
  }
  return { kind: target.kind, name: target.name, pid: resolution.identity.pid, file: null, id: resolution.id === '' ? null : resolution.id, source: resolution.source };
}

function targetOf(input: ExplainInput): Target | null {
  const pid = input.options.target;
  if (pid === undefined) return null;
  const check = input.plan.steps.find((s): s is StepOf<'check-start'> => s.op === 'check-start');
  const inode = input.plan.steps.find((s): s is StepOf<'check-inode'> => s.op === 'check-inode');
  return { pid, startTime: check === undefined ? null : String(check.start), pidfdInode: inode === undefined ? null : String(inode.inode) };
}

// ---- Steps ---------------------------------------------------------------------------------------

/** Text in a line of output: as it is when plain, else as a JSON string (every control byte escaped). */
export function shown(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./~^-]+$/.test(text) ? text : JSON.stringify(text);
}

function pathOf(origin: Origin): string {
  return 'path' in origin ? origin.path : origin.kind;
}

function describe(origin: Origin): string {
  switch (origin.kind) {
    case 'proc':
      return `the target's ${origin.path}`;
    case 'target-file':
      return shown(origin.path);
    case 'file':
      return origin.path === '.' ? 'the current directory' : shown(origin.path);
    case 'pidfd':
      return `the pidfd of PID ${origin.pid}`;
    case 'socket':
      return `the copy of PID ${origin.pid}'s descriptor ${origin.fd}`;
    case 'socket-netns':
      return `the network namespace of PID ${origin.pid}'s socket ${origin.fd}`;
    case 'owner':
      return `the user namespace that owns ${describe(origin.of)}`;
    case 'other':
      return `what the ${origin.op} step made`;
  }
}

/** What a slot is for, from the first later step that uses it. */
function purposeOf(slot: Slot, steps: readonly Step[], from: number): string | undefined {
  for (let i = from + 1; i < steps.length; i++) {
    const step = steps[i]!;
    switch (step.op) {
      case 'setns':
        if (step.fd === slot) return `for the ${step.mask.join(', ')} namespace${step.mask.length > 1 ? 's' : ''}`;
        break;
      case 'fchdir':
        if (step.slot === slot) return steps[i + 1]?.op === 'chroot' ? 'for the new root' : 'for the working directory';
        break;
      case 'environ':
        if (step.fd === slot) return "for the target's environment (-e)";
        break;
      case 'join-cgroup':
        if (step.slot === slot) return 'for the cgroup to join (-c)';
        break;
      case 'check-start':
        if (step.proc === slot) {
          const files = steps.slice(i + 1).some((s) => s.op === 'open' && s.at === slot);
          return `the target's directory, through which the helper checks the process${files ? ' and opens its files' : ''}`;
        }
        break;
      case 'ns-owner':
        if (step.of === slot) return 'to ask which user namespace owns it';
        break;
      case 'pidfd-getfd':
        if (step.pidfd === slot) return "to copy the target's socket (-N)";
        break;
      case 'socket-netns':
        if (step.socket === slot) return 'to find its network namespace (-N)';
        break;
      default:
        break;
    }
  }
  return undefined;
}

function stepText(step: Step, index: number, steps: readonly Step[], origin: (slot: Slot) => Origin): string {
  const hint = 'hint' in step && typeof step.hint === 'string' && step.hint !== '' ? ` (if it fails: ${step.hint})` : '';
  return describeStep(step, index, steps, origin) + hint;
}

function describeStep(step: Step, index: number, steps: readonly Step[], origin: (slot: Slot) => Origin): string {
  const purpose = (slot: Slot): string => {
    const what = purposeOf(slot, steps, index);
    return what === undefined ? '' : ` — ${what}`;
  };
  switch (step.op) {
    case 'open': {
      const from = origin(step.slot);
      const path = step.at === 'cwd' ? shown(step.path) : shown(pathOf(from));
      const used = purposeOf(step.slot, steps, index);
      const early = step.at === 'cwd' && from.kind === 'file' && !from.inside;
      const why = used ?? (early ? 'named on the command line and superseded; opened anyway, so that its error comes where nsenter\'s would' : undefined);
      const soft = step.softDenied === true ? '; if that is refused, it is read late, after the credential change' : '';
      return `open ${path}${step.how === 'directory' ? ' (directory)' : step.how === 'append' ? ' for writing' : ''}${why === undefined ? '' : ` — ${why}`}${soft}`;
    }
    case 'pidfd':
      return `take a pidfd of PID ${step.pid}${purpose(step.slot) === '' ? ' (no later step uses it)' : purpose(step.slot)}`;
    case 'check-start':
      return `check that ${describe(origin(step.proc))} still belongs to the process that started at ${step.start}: a PID reused since nsctl read it is refused`;
    case 'check-inode':
      return `check that the pidfd's inode is ${step.inode} (-t PID:INODE)`;
    case 'pidfd-getfd':
      return `copy descriptor ${step.fd} of the target (pidfd_getfd)${purpose(step.slot)}`;
    case 'socket-netns':
      return `the network namespace of that socket (SIOCGSKNS)${purpose(step.slot)}`;
    case 'ns-owner':
      return `the user namespace that owns ${describe(origin(step.of))} (NS_GET_USERNS)${purpose(step.slot)}`;
    case 'setns': {
      // The helper skips what an earlier setns through the same descriptor entered (docs/plan-format.md).
      const earlier = steps.slice(0, index).findIndex((s) => s.op === 'setns' && s.fd === step.fd);
      const left = earlier < 0 ? '' : ` (only what step ${earlier + 1} did not enter)`;
      const what = `${step.mask.join(', ')} through ${describe(origin(step.fd))}${left}`;
      return step.soft === true ? `enter ${what}; a failure is ignored` : `enter ${what}; a failure is fatal`;
    }
    case 'setgroups': {
      // The helper reports an after-switch failure only when an earlier attempt failed too.
      const first = steps.slice(0, index).some((s) => s.op === 'setgroups');
      if (step.afterSwitch !== true) return 'drop the supplementary groups (setgroups) while nsctl still has its privileges; a failure is only remembered';
      return first
        ? 'drop the supplementary groups (setgroups) again; a failure counts only if the first attempt failed too'
        : 'drop the supplementary groups (setgroups); a failure is ignored';
    }
    case 'setgid':
    case 'setuid': {
      const which = step.op === 'setgid' ? 'gid' : 'uid';
      return step.owner === true ? `set the ${which} to the owner's, as read just before` : `set the ${which} to ${step.id}`;
    }
    case 'stat-owner':
      return `read the owner of ${describe(origin(step.slot))} as seen from inside (-S/-G follow)`;
    case 'fchdir':
      return `change directory to ${describe(origin(step.slot))}${steps[index + 1]?.op === 'chroot' ? ', the new root' : ''}`;
    case 'chroot':
      return `chroot ${shown(step.path)}: the current directory becomes the root`;
    case 'chdir':
      return `change directory to ${shown(step.path)}`;
    case 'environ': {
      const drop = step.drop.length > 0 ? `, without the dynamic loader's variables (${step.drop.length} names)` : '';
      return step.late === true
        ? `only if that open was refused: open environ through ${describe(origin(step.proc === 'none' ? -1 : step.proc))} now, with the new credentials, and load it${drop}`
        : `load the target's environment from ${describe(origin(step.fd))}${drop}`;
    }
    case 'join-cgroup':
      return `write this process's PID to ${describe(origin(step.slot))}`;
    case 'fork':
      return 'fork: the program runs in the child, inside the PID namespace; the helper waits as its parent';
    case 'keep-caps':
      return 'keep the capabilities across exec: permitted → inheritable → ambient';
    case 'exec': {
      const env = step.targetEnv === true ? "the target's environment" : `${step.env.length} variables`;
      return `exec ${shown(step.file)} with argv ${JSON.stringify(step.argv)} and ${env}`;
    }
    case 'exec-login-shell': {
      const env = step.targetEnv === true ? "the target's environment" : `${step.env.length} variables`;
      return `exec the login shell ($SHELL, else the passwd shell, else ${shown(step.fallback)}) with ${env}`;
    }
    default:
      return genericText(step);
  }
}

/** A step this version does not describe: its record's name, type, flags and fields, as the dump shows them. */
function genericText(step: { readonly op: string }): string {
  const spec = planRecord(step.op);
  if (spec === undefined) return `${step.op} (a step this nsctl cannot describe)`;
  const values = step as unknown as Readonly<Record<string, unknown>>;
  const flags = spec.flags.filter((flag) => values[camel(flag)] === true);
  const fields = spec.fields.map(([name]) => `${name}=${plainValue(values[camel(name)])}`);
  return [`${spec.name} (record ${spec.type})`, ...flags, ...fields].join(' ');
}

function plainValue(value: unknown): string {
  if (typeof value === 'string') return shown(value);
  if (Array.isArray(value)) return `[${value.map(plainValue).join(',')}]`;
  return String(value);
}

/** A step's record as JSON: flags and fields by their camelCase names, then its texts; env as names. */
function fieldsOf(step: Step): { [name: string]: FieldValue } {
  const spec: RecordSpec | undefined = planRecord(step.op);
  const values = step as unknown as Readonly<Record<string, unknown>>;
  const names = spec === undefined ? Object.keys(values).filter((k) => k !== 'op' && k !== 'fail' && k !== 'hint') : [...spec.flags, ...spec.fields.map(([name]) => name)].map(camel);
  const fields: { [name: string]: FieldValue } = {};
  for (const name of names) {
    const value = values[name];
    if (spec?.flags.map(camel).includes(name) === true) fields[name] = value === true;
    else if (name === 'env' && Array.isArray(value)) fields[name] = value.map((entry) => nameOf(String(entry)));
    else fields[name] = jsonValue(value);
  }
  fields['fail'] = jsonValue(values['fail'] ?? {});
  fields['hint'] = typeof values['hint'] === 'string' ? values['hint'] : '';
  return fields;
}

function jsonValue(value: unknown): FieldValue {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(String);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
  return String(value);
}

function nameOf(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

function decimal(value: bigint | undefined): string | null {
  return value === undefined ? null : value.toString();
}
