// Options + facts → Plan. Pure: the same inputs always give the same plan, so fast-check can drive
// it. The order of the steps is upstream's order of operations (nsenter-behaviour.md §3).
import type { Options, Source } from '../cli/options.ts';
import { NAMESPACES, type Namespace } from '../kernel/namespaces.ts';
import { targetNsPath, type SystemFacts } from '../procfs/index.ts';
import type { FileToOpen, Plan, Step } from './plan.ts';

export type PlanResult =
  | { readonly ok: true; readonly plan: Plan }
  /**
   * `openFirst`: files upstream would have opened before it found this error; their open errors
   * come first.
   */
  | { readonly ok: false; readonly message: string; readonly openFirst?: readonly FileToOpen[] };

/** The caller's side of things the plan depends on. */
export interface Caller {
  /** The environment the program gets, as `NAME=value` strings in order. */
  readonly env: readonly string[];
}

/** glibc's execvp search list when PATH is unset (confstr _CS_PATH). */
export const DEFAULT_SEARCH_PATH = '/bin:/usr/bin';

/**
 * The namespaces to enter: those turned on by their own option, plus, for --all, every type the
 * kernel has except a user namespace that is already ours (§5.3).
 */
export function enabledNamespaces(options: Options, facts: SystemFacts): Map<Namespace, Source> {
  const enabled = new Map<Namespace, Source>();
  for (const ns of NAMESPACES) {
    const own = options.namespaces[ns];
    if (own !== undefined) enabled.set(ns, own);
    else if (options.all && facts.supported.has(ns) && !(ns === 'user' && facts.targetUserNsIsOurs === true)) {
      enabled.set(ns, { from: 'target' });
    }
  }
  return enabled;
}

export function buildPlan(options: Options, facts: SystemFacts, caller: Caller): PlanResult {
  const unsupported = notYetSupported(options);
  if (unsupported !== undefined) return fail(`${unsupported} is not supported yet`);
  const enabled = enabledNamespaces(options, facts);
  const target = options.target;

  // Phase 1, what to open (§3 steps 5–6). Bare flags need a target.
  const fromTarget = [...enabled.values()].some((source) => source.from === 'target');
  if (fromTarget && target === undefined) return fail('no target PID specified');
  const files: FileToOpen[] = [];
  const slotOf = (file: FileToOpen): number => files.push(file) - 1;
  const open = (source: Source, targetPath: string): number =>
    slotOf(source.from === 'file' ? { kind: 'early', index: source.early } : { kind: 'path', path: targetPath });

  const nsSlots = new Map<Namespace, number>();
  // Explicit files first, then the target's: the order upstream's descriptors come to exist in.
  for (const pass of ['file', 'target'] as const) {
    for (const [ns, source] of enabled) {
      if (source.from === pass) nsSlots.set(ns, open(source, targetNsPath(target ?? 0, ns)));
    }
  }
  const needTarget = (source: Source | undefined, what: string): string | undefined =>
    source?.from === 'target' && target === undefined ? `neither filename nor target pid supplied for ${what}` : undefined;
  const missing = needTarget(options.root, 'root') ?? needTarget(options.wd, 'cwd');
  if (missing !== undefined) return fail(missing);
  const rootSlot = options.root && open(options.root, `/proc/${target}/root`);
  const wdSlot = options.wd && open(options.wd, `/proc/${target}/cwd`);

  // Phase 2, what to do (§3 steps 9–24).
  if (enabled.size === 0) return { ok: false, message: 'no namespace specified', openFirst: files };
  const steps: Step[] = [];
  let nextSlot = files.length;

  const userNs = enabled.has('user');
  const forceIds = userNs && !options.preserveCredentials;
  const uid = numericId(options.setuid) ?? (forceIds ? 0 : undefined);
  const gid = numericId(options.setgid) ?? (forceIds ? 0 : undefined);
  if (forceIds) steps.push({ op: 'setgroups', attempt: 'before-switch' });

  // Two passes (§3 steps 12–13): first everything but the user namespace, failures ignored, so
  // a privileged caller enters them while it still has its privileges; then whatever is left,
  // user first, failures fatal, so an unprivileged caller gains its rights from the user
  // namespace before entering the rest.
  for (const [ns, slot] of inTableOrder(nsSlots)) {
    if (ns !== 'user') steps.push({ op: 'setns', slot, ns, soft: true });
  }
  for (const [ns, slot] of inTableOrder(nsSlots)) steps.push({ op: 'setns', slot, ns, soft: false });

  // Entering a mount namespace resets the cwd, so a cwd saved here is the new namespace's root
  // (`-m -r pwd` prints `/`), as upstream.
  // A bare -W names no directory: upstream keeps a null path, so it neither changes the directory
  // nor stops the cwd from being saved; only its exclusion with -w remains.
  const wdnsPath = options.wdns?.path;
  let cwdSlot = wdSlot;
  if (rootSlot !== undefined && wdSlot === undefined && wdnsPath === undefined) {
    cwdSlot = nextSlot++;
    steps.push({ op: 'save-cwd', slot: cwdSlot });
  }
  if (rootSlot !== undefined) steps.push({ op: 'chroot', slot: rootSlot });
  if (wdnsPath !== undefined) {
    cwdSlot = nextSlot++;
    steps.push({ op: 'open-late', slot: cwdSlot, path: wdnsPath });
  }
  if (cwdSlot !== undefined) steps.push({ op: 'chdir', slot: cwdSlot });

  if (enabled.has('pid') && !options.noFork) steps.push({ op: 'fork' });

  // Credentials last, in the child: groups, then gid, then uid (§3 step 22).
  if (gid !== undefined) {
    steps.push({ op: 'setgroups', attempt: 'after-switch' });
    steps.push({ op: 'setgid', gid });
  }
  if (uid !== undefined) steps.push({ op: 'setuid', uid });

  steps.push(execStep(options.program, caller.env));
  return { ok: true, plan: { files, steps } };
}

/**
 * The program, or the login shell (§3 step 24): $SHELL if set and not empty, else the passwd shell
 * of the final uid inside the final root, else /bin/sh.
 */
function execStep(program: readonly string[], env: readonly string[]): Step {
  const [file, ...args] = program;
  if (file !== undefined) {
    const searchPath = lookup(env, 'PATH') ?? DEFAULT_SEARCH_PATH;
    return { op: 'exec', file, argv: [file, ...args], env, searchPath };
  }
  const shell = lookup(env, 'SHELL');
  if (shell !== undefined && shell !== '') {
    return { op: 'exec', file: shell, argv: [`-${shell.slice(shell.lastIndexOf('/') + 1)}`], env, searchPath: undefined };
  }
  return { op: 'exec-login-shell', fallback: '/bin/sh', env };
}

/** getenv(3) over an environment list: the first entry with that name wins, as in glibc. */
function lookup(env: readonly string[], name: string): string | undefined {
  const prefix = `${name}=`;
  return env.find((entry) => entry.startsWith(prefix))?.slice(prefix.length);
}

function inTableOrder(slots: ReadonlyMap<Namespace, number>): [Namespace, number][] {
  return NAMESPACES.flatMap((ns): [Namespace, number][] => {
    const slot = slots.get(ns);
    return slot === undefined ? [] : [[ns, slot]];
  });
}

function numericId(choice: Options['setuid']): number | undefined {
  return choice?.kind === 'id' ? choice.value : undefined;
}

/**
 * Options nsenter has that nsctl does not carry out yet. Refusing them beats running the program
 * in a state the user did not ask for.
 */
function notYetSupported(options: Options): string | undefined {
  if (options.targetInode !== undefined) return '--target PID:INODE';
  if (options.env) return '--env';
  if (options.joinCgroup) return '--join-cgroup';
  if (options.netSocket !== undefined) return '--net-socket';
  if (options.userParent) return '--user-parent';
  if (options.keepCaps) return '--keep-caps';
  if (options.followContext) return '--follow-context';
  if (options.setuid?.kind === 'follow') return '--setuid follow';
  if (options.setgid?.kind === 'follow') return '--setgid follow';
  return undefined;
}

function fail(message: string): PlanResult {
  return { ok: false, message };
}
