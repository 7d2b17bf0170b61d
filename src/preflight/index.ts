// Plan → the first failure the helper would report before it changes anything. --explain and
// --json perform nothing, yet must fail where a real run fails before its first side effect, with
// the same message and status. The helper's first steps only open and check (docs/plan-format.md,
// "Performing the plan"): this tries those same steps, in the plan's order, with the same
// credentials (the planner runs as the caller, as the helper does), and stops at the first step
// that would change something or that Node cannot try (a pidfd's inode, an ioctl). Read-only: it
// opens, reads and closes, nothing else. A real run never calls it.
//
// Some steps that would change things are known to fail without trying them, and a failure
// changes nothing, so the walk goes on past them (setns(2), and each namespace type's install
// check in the kernel):
// - setgroups without CAP_SETGID;
// - setns through the pidfd of a process the caller may not ptrace-read: the kernel checks that
//   first (EPERM), and the same check refuses reading its /proc/PID/ns links, which is how it is
//   tried here;
// - setns into any namespace but a user namespace without CAP_SYS_ADMIN in the caller's own user
//   namespace (every type's install needs it there, as long as no user namespace was entered
//   before; the walk has stopped at any setns that could have entered one). Only through a pidfd
//   or the target's /proc/PID/ns files, whose type is known: a file named on the command line may
//   be no namespace at all (EINVAL).
import { closeSync, constants, existsSync, openSync, readlinkSync } from 'node:fs';
import { encodeBytes } from '../kernel/bytes.ts';
import { strerrorOfCode } from '../kernel/errno.ts';
import { readWhole } from '../kernel/read.ts';
import type { Plan, Slot, Step } from '../plan/index.ts';
import { hasCapabilities, parseStartTime } from '../procfs/index.ts';

const CAP_SETGID = 6;
const CAP_SYS_ADMIN = 21;

/** The lines the helper would print (without `nsctl: `); it exits 1 after any of them. */
export interface PreflightFailure {
  readonly lines: readonly string[];
}

export function preflight(plan: Plan): PreflightFailure | undefined {
  // The path each slot was opened by, where it was opened by path; the PID of each pidfd.
  const capabilities = new Map<number, boolean>();
  const capable = (cap: number): boolean => capabilities.get(cap) ?? (capabilities.set(cap, hasCapabilities(cap)), capabilities.get(cap)!);
  const slots: Slots = { paths: new Map(), pidfds: new Map(), capable };
  for (const step of plan.steps) {
    const outcome = tryStep(step, slots);
    if (outcome === 'stop') return undefined;
    if (outcome !== 'ok') return outcome;
  }
  return undefined;
}

interface Slots {
  readonly paths: Map<Slot, string>;
  readonly pidfds: Map<Slot, number>;
  /** Whether the caller has this capability in its effective set; /proc/self/status read once. */
  readonly capable: (cap: number) => boolean;
}

function tryStep(step: Step, { paths, pidfds, capable }: Slots): 'ok' | 'stop' | PreflightFailure {
  switch (step.op) {
    case 'open': {
      const base = step.at === 'cwd' ? undefined : paths.get(step.at);
      if (step.at !== 'cwd' && base === undefined) return 'stop';
      const path = base === undefined ? step.path : `${base}/${step.path}`;
      const code = openError(path, step.how);
      if (code !== undefined && !(step.softDenied === true && (code === 'EACCES' || code === 'EPERM'))) return failure(step, code);
      paths.set(step.slot, path);
      return 'ok';
    }
    case 'pidfd':
      // pidfd_open fails only for a PID with no process (ESRCH); the check-start after it is the
      // one that tells whether it is still the planner's.
      pidfds.set(step.slot, step.pid);
      return existsSync(`/proc/${step.pid}`) ? 'ok' : failure(step, 'ESRCH');
    case 'setns': {
      const pid = pidfds.get(step.fd);
      const known = pid !== undefined || /^\/proc\/[0-9]+\/ns\/[a-z]+$/.test(paths.get(step.fd) ?? '');
      const refused = (pid !== undefined && ptraceDenied(pid, step.mask[0]!)) || (known && !step.mask.includes('user') && !capable(CAP_SYS_ADMIN));
      if (!refused) return 'stop';
      return step.soft === true ? 'ok' : failure(step, 'EPERM');
    }
    case 'setgroups':
      // Without CAP_SETGID it fails, which the first attempt only remembers; with it, it drops the groups.
      return step.afterSwitch !== true && !capable(CAP_SETGID) ? 'ok' : 'stop';
    case 'check-start': {
      const dir = paths.get(step.proc);
      if (dir === undefined) return 'stop';
      let stat: string;
      try {
        stat = readWhole(`${dir}/stat`).toString('latin1');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        return failure(step, code === 'ENOENT' ? 'ESRCH' : code);
      }
      return parseStartTime(stat) === step.start ? 'ok' : failure(step, 'ESRCH');
    }
    default:
      // check-inode needs the pidfd itself, pidfd-getfd, socket-netns and ns-owner an ioctl or
      // a descriptor of the target's, and every other step changes the process: the helper's.
      return 'stop';
  }
}

/** The caller may not ptrace-read `pid`: reading its namespace link is refused. */
function ptraceDenied(pid: number, ns: string): boolean {
  try {
    readlinkSync(`/proc/${pid}/ns/${ns}`);
    return false;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM';
  }
}

function openError(path: string, how: Extract<Step, { op: 'open' }>['how']): string | undefined {
  // O_NONBLOCK: a FIFO named on the command line must not hang an explanation (it changes no
  // error a regular file, directory or /proc file gives).
  const mode = how === 'append' ? constants.O_WRONLY | constants.O_APPEND : how === 'directory' ? constants.O_RDONLY | constants.O_DIRECTORY : constants.O_RDONLY;
  try {
    closeSync(openSync(pathBytes(path), mode | constants.O_NOCTTY | constants.O_NONBLOCK));
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'EIO';
  }
}

function failure(step: Step, code: string | undefined): PreflightFailure {
  const what = (step.fail as { readonly what: string }).what;
  const hint = 'hint' in step ? step.hint : undefined;
  return { lines: [`${what}: ${strerrorOfCode(code)}`, ...(hint === undefined || hint === '' ? [] : [hint])] };
}

function pathBytes(path: string): string | Buffer {
  if (path.isWellFormed()) return path;
  const bytes = encodeBytes(path);
  return bytes === undefined ? path : Buffer.from(bytes);
}
