// Making nsctl as transparent as the program it runs (issue 4): signals sent to nsctl reach the
// program, terminal signals do not kill nsctl before the program decides, and a program that
// stops stops nsctl with it, so the shell's job control sees one job.
import { readFileSync } from 'node:fs';

/** Signals a process may send to nsctl's PID, passed on to the program. */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGHUP', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGCONT'];

/**
 * Signals the terminal sends to the whole foreground process group, which the program is in: when
 * nsctl is in the foreground they reach the program by themselves, and passing them on would
 * deliver them twice. Node cannot see who sent a signal (no siginfo), so nsctl asks the kernel
 * whether it is in the terminal's foreground group; if it is not, a process sent the signal.
 */
const FROM_TERMINAL: readonly NodeJS.Signals[] = ['SIGINT', 'SIGQUIT', 'SIGWINCH'];

export interface Relay {
  stop(): void;
}

/** Starts relaying signals to `child` until `stop()`. */
export function relaySignals(child: { readonly pid?: number | undefined; kill(signal: NodeJS.Signals): boolean }): Relay {
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  const fromTerminal = (signal: NodeJS.Signals): void => {
    if (!inForeground()) child.kill(signal);
  };
  // A child that stopped (SIGSTOP, SIGTSTP from Ctrl-Z, SIGTTIN) makes nsctl stop too, as
  // upstream's forking parent does, and a continued nsctl continues the child.
  const onChild = (): void => {
    if (child.pid !== undefined && isStopped(child.pid)) {
      process.kill(process.pid, 'SIGSTOP');
      child.kill('SIGCONT');
    }
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  for (const signal of FROM_TERMINAL) process.on(signal, fromTerminal);
  process.on('SIGCHLD', onChild);
  return {
    stop() {
      for (const signal of FORWARDED) process.off(signal, forward);
      for (const signal of FROM_TERMINAL) process.off(signal, fromTerminal);
      process.off('SIGCHLD', onChild);
    },
  };
}

/** /proc/self/stat: field 5 is our process group, field 8 the terminal's foreground group. */
function inForeground(): boolean {
  const fields = statFields('self');
  return fields !== undefined && fields[5] === fields[8] && fields[8] !== '-1';
}

function isStopped(pid: number): boolean {
  const state = statFields(String(pid))?.[3];
  return state === 'T';
}

/** The fields of /proc/PID/stat, numbered as in proc(5) (1-based), comm skipped safely. */
function statFields(pid: string): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const afterComm = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return ['', '', '', ...afterComm];
  } catch {
    return undefined;
  }
}
