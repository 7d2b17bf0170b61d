// Options + facts → Plan. Pure: the same inputs always give the same plan, so fast-check can drive
// it. The order of the steps is upstream's order of operations (nsenter-behaviour.md §3).
import type { Options, Source } from '../cli/options.ts';
import { decodeBytes } from '../kernel/bytes.ts';
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
  if (options.followContext) return fail('--follow-context is not supported yet');
  const enabled = enabledNamespaces(options, facts);
  const target = options.target;
  // -N replaces the network namespace whatever else named one (§5.5), so the target's ns/net is
  // not opened for it; --user-parent likewise decides the user namespace itself (§5.4).
  const netFromSocket = options.netSocket !== undefined;
  if (netFromSocket) enabled.delete('net');

  // Phase 1, what to open (§3 steps 5–6). Bare flags, -N and --user-parent need a target.
  const fromTarget = [...enabled.values()].some((source) => source.from === 'target');
  if ((fromTarget || netFromSocket || options.userParent) && target === undefined) return fail('no target PID specified');
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
  // Without a target, each of these fails with upstream's wording; `-S/-G follow` names the
  // empty string, so its line ends in a space (§5.2).
  const follow = options.setuid?.kind === 'follow' || options.setgid?.kind === 'follow';
  const needTarget = (wanted: boolean, what: string): string | undefined =>
    wanted && target === undefined ? `neither filename nor target pid supplied for ${what}` : undefined;
  const opensInOrder: [Source | undefined, string][] = [
    [options.root, 'root'],
    [options.wd, 'cwd'],
  ];
  for (const [source, what] of opensInOrder) {
    const missing = needTarget(source?.from === 'target', what);
    if (missing !== undefined) return fail(missing, files);
  }
  const rootSlot = options.root && open(options.root, `/proc/${target}/root`);
  const wdSlot = options.wd && open(options.wd, `/proc/${target}/cwd`);
  // -e: /proc/PID/environ comes next; nsctl reads it here, before anything is entered.
  const envMissing = needTarget(options.env, 'environ');
  if (envMissing !== undefined) return fail(envMissing, files);
  if (options.env && facts.environ?.ok === false) return fail(facts.environ.message, files);
  const followMissing = needTarget(follow, '');
  if (followMissing !== undefined) return fail(followMissing, files);
  const ownerSlot = follow ? slotOf({ kind: 'path', path: `/proc/${target}/` }) : undefined;
  let cgroupSlot: number | undefined;
  if (options.joinCgroup) {
    const cgroup = facts.cgroup;
    if (cgroup === undefined || cgroup.kind === 'not-v2') return fail('--join-cgroup is only supported in cgroup v2', files);
    if (cgroup.kind === 'error') return fail(cgroup.message, files);
    cgroupSlot = slotOf({ kind: 'append', path: `/sys/fs/cgroup/${cgroup.path.replace(/^\/+/, '')}/cgroup.procs`, what: 'cgroup.procs' });
  }
  // --user-parent asks NS_GET_USERNS of the user namespace to be entered, or of the target's.
  const userSource = options.userParent && !nsSlots.has('user') ? slotOf({ kind: 'path', path: targetNsPath(target ?? 0, 'user') }) : undefined;

  // Phase 2, what to do (§3 steps 8–24).
  const steps: Step[] = [];
  let nextSlot = files.length;
  if (options.targetInode !== undefined && target !== undefined) {
    steps.push({ op: 'check-target', pid: target, inode: options.targetInode });
  }
  if (options.userParent) {
    const from = nsSlots.get('user') ?? userSource!;
    const slot = nextSlot++;
    steps.push({ op: 'user-parent', slot, from });
    nsSlots.set('user', slot);
  }
  if (options.netSocket !== undefined) {
    const slot = nextSlot++;
    steps.push({ op: 'net-socket', slot, pid: target!, fd: options.netSocket });
    nsSlots.set('net', slot);
  }
  if (nsSlots.size === 0) return { ok: false, message: 'no namespace specified', openFirst: files };

  const userNs = nsSlots.has('user');
  const forceIds = userNs && !options.preserveCredentials;
  const uid = idValue(options.setuid) ?? (forceIds ? 0 : undefined);
  const gid = idValue(options.setgid) ?? (forceIds ? 0 : undefined);
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

  // -e (§7, step 18): upstream sets the variables after the switch; a bad entry fails there,
  // which is after every check above, so it is checked here, at the same point in the order.
  let env = caller.env;
  if (options.env && facts.environ?.ok === true) {
    const parsed = parseEnviron(facts.environ.data);
    if (!parsed.ok) return fail(parsed.message);
    env = parsed.env;
  }
  if (cgroupSlot !== undefined) steps.push({ op: 'join-cgroup', slot: cgroupSlot });
  // -S/-G follow (step 20): the owner of /proc/PID as seen now, through the new user namespace.
  if (ownerSlot !== undefined) steps.push({ op: 'stat-owner', slot: ownerSlot });

  if (nsSlots.has('pid') && !options.noFork) steps.push({ op: 'fork' });

  // Credentials last, in the child: groups, then gid, then uid (§3 step 22).
  if (gid !== undefined) {
    steps.push({ op: 'setgroups', attempt: 'after-switch' });
    steps.push({ op: 'setgid', gid });
  }
  if (uid !== undefined) steps.push({ op: 'setuid', uid });
  // --keep-caps whenever a user namespace was entered; upstream skips it when the user namespace
  // is the only one (its pass-1 mask of 0 means "all", §13.2): fixed here.
  if (options.keepCaps && userNs) steps.push({ op: 'keep-caps' });

  steps.push(execStep(options.program, env));
  return { ok: true, plan: { files, steps } };
}

export type EnvironResult = { readonly ok: true; readonly env: readonly string[] } | { readonly ok: false; readonly message: string };

/**
 * The target's environ (NUL-separated `NAME=value` entries) as an environment (§7): entries
 * without `=` and empty ones are skipped; for a repeated name the last value wins, at the place of
 * its last occurrence. Upstream builds the same set but in reverse order (a prepend list, §13.9);
 * nsctl keeps the target's order. A name-less `=x` entry makes upstream's setenv fail with EINVAL.
 * Bytes that are not UTF-8 pass through unchanged (src/kernel/bytes.ts).
 */
export function parseEnviron(data: Uint8Array): EnvironResult {
  const text = decodeBytes(data);
  const last = new Map<string, number>();
  const entries = text.split('\0');
  entries.forEach((entry, i) => {
    const eq = entry.indexOf('=');
    if (eq >= 0) last.set(entry.slice(0, eq), i);
  });
  if (last.has('')) return { ok: false, message: 'failed to set environment variables: Invalid argument' };
  const env: string[] = [];
  entries.forEach((entry, i) => {
    const eq = entry.indexOf('=');
    if (eq >= 0 && last.get(entry.slice(0, eq)) === i) env.push(entry);
  });
  return { ok: true, env };
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

function idValue(choice: Options['setuid']): number | 'owner' | undefined {
  if (choice === undefined) return undefined;
  return choice.kind === 'id' ? choice.value : 'owner';
}

function fail(message: string, openFirst?: readonly FileToOpen[]): PlanResult {
  return openFirst === undefined ? { ok: false, message } : { ok: false, message, openFirst: [...openFirst] };
}
