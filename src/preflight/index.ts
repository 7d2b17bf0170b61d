// Plan → the first failure the helper would report before it changes anything. --explain and
// --json perform nothing, yet must fail where a real run fails before its first side effect, with
// the same message and status. The helper's first steps only open and check (docs/plan-format.md,
// "Performing the plan"): this tries those same steps, in the plan's order, with the same
// credentials (the planner runs as the caller, as the helper does), and stops at the first step
// that would change something or that Node cannot try (a pidfd's inode, an ioctl). Read-only: it
// opens, reads and closes, nothing else. A real run never calls it.
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { encodeBytes } from '../kernel/bytes.ts';
import { strerrorOfCode } from '../kernel/errno.ts';
import { readWhole } from '../kernel/read.ts';
import type { Plan, Slot, Step } from '../plan/index.ts';
import { parseStartTime } from '../procfs/index.ts';

/** The lines the helper would print (without `nsctl: `); it exits 1 after any of them. */
export interface PreflightFailure {
  readonly lines: readonly string[];
}

export function preflight(plan: Plan): PreflightFailure | undefined {
  // The path each slot was opened by, where it was opened by path (a pidfd has none).
  const paths = new Map<Slot, string>();
  for (const step of plan.steps) {
    const outcome = tryStep(step, paths);
    if (outcome === 'stop') return undefined;
    if (outcome !== 'ok') return outcome;
  }
  return undefined;
}

function tryStep(step: Step, paths: Map<Slot, string>): 'ok' | 'stop' | PreflightFailure {
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
      return existsSync(`/proc/${step.pid}`) ? 'ok' : failure(step, 'ESRCH');
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
