// Running the helper: it gets the plan on a socket, the opened files as descriptors, and the
// terminal as it is. Its exit (or the program's, once it has exec'd) becomes nsctl's.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import type { StdioOptions } from 'node:child_process';
import type { Plan } from '../plan/index.ts';
import { decodeReply, encodePlan } from '../wire/index.ts';
import { failureMessage } from './messages.ts';
import { relaySignals } from './signals.ts';

export type Outcome =
  | { readonly kind: 'exited'; readonly code: number }
  | { readonly kind: 'signaled'; readonly signal: NodeJS.Signals }
  /** The helper failed before the program ran; `message` is upstream's sentence. */
  | { readonly kind: 'failed'; readonly code: number; readonly message: string };

/**
 * @param callerFds descriptors beyond stderr that the caller gave nsctl (bin/nsctl notes them):
 *   they reach the program at the same numbers, as with nsenter.
 */
export function runHelper(helperPath: string, plan: Plan, fds: readonly number[], callerFds: ReadonlySet<number>): Promise<Outcome> {
  // The channel goes above every descriptor this process has, so it never takes a caller's
  // number; the plan's files follow it.
  const channelFd = Math.max(2, ...readdirSync('/proc/self/fd').map(Number)) + 1;
  const stdio: StdioOptions = ['inherit', 'inherit', 'inherit'];
  for (let fd = 3; fd < channelFd; fd++) stdio.push(callerFds.has(fd) ? fd : 'ignore');
  stdio.push('pipe', ...fds);

  // The helper reads nothing from its environment; the program's environment is in the plan.
  const child = spawn(helperPath, ['run', String(channelFd)], { stdio, env: {} });
  const channel = child.stdio[channelFd] as unknown as NodeJS.ReadWriteStream;
  const reply: Buffer[] = [];
  channel.on('data', (chunk: Buffer) => reply.push(chunk));
  channel.on('error', () => {}); // EPIPE when the helper dies early; its exit says why.
  channel.end(encodePlan(plan, channelFd + 1));

  const relay = relaySignals(child);

  return new Promise((resolve) => {
    child.on('error', (error: NodeJS.ErrnoException) => {
      resolve({ kind: 'failed', code: 1, message: spawnFailure(helperPath, error) });
    });
    child.on('close', (code, signal) => {
      relay.stop();
      const decoded = decodeReply(Buffer.concat(reply));
      const message = failureMessage(plan.steps, decoded);
      // A step's failure exits as upstream would (1, or 126/127 for exec); anything else is
      // nsctl's own error.
      const failureCode = decoded.kind === 'step-failed' ? (code ?? 1) : 1;
      if (message !== undefined) resolve({ kind: 'failed', code: failureCode, message });
      else if (signal !== null) resolve({ kind: 'signaled', signal });
      else resolve({ kind: 'exited', code: code ?? 1 });
    });
  });
}

function spawnFailure(helperPath: string, error: NodeJS.ErrnoException): string {
  if (error.code === 'EACCES') {
    return (
      `cannot execute the helper ${helperPath}: permission denied (is it on a noexec mount?); ` +
      'copy it to an executable location and set NSCTL_HELPER to its path'
    );
  }
  return `cannot execute the helper ${helperPath}: ${error.message}`;
}
