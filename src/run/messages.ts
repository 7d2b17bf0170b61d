// The helper reports (step, sub-operation, errno); this turns it into upstream's sentence
// (nsenter-behaviour.md §10), so the helper carries no text.
import { PROC_NAME } from '../kernel/namespaces.ts';
import { strerror } from '../kernel/errno.ts';
import type { Step } from '../plan/index.ts';
import { INVALID_PLAN, type HelperReply } from '../wire/index.ts';

export function failureMessage(steps: readonly Step[], reply: HelperReply): string {
  if (reply.subOp === INVALID_PLAN) return `internal error: the helper rejected the plan: ${reply.message}`;
  const step = steps[reply.step];
  return `${whatFailed(step, reply)}: ${strerror(reply.errno)}`;
}

function whatFailed(step: Step | undefined, reply: HelperReply): string {
  switch (step?.op) {
    case 'setns':
      return `reassociate to namespace 'ns/${PROC_NAME[step.ns]}' failed`;
    case 'setgroups':
      return 'setgroups failed';
    case 'setgid':
      return 'setgid() failed';
    case 'setuid':
      return 'setuid() failed';
    case 'save-cwd':
    case 'open-late':
      return 'cannot open current working directory';
    case 'chroot':
      return CHROOT_PARTS[reply.subOp] ?? 'chroot failed';
    case 'chdir':
      return 'change directory by working directory file descriptor failed';
    case 'fork':
      return 'fork failed';
    case 'exec':
      return `failed to execute ${step.file}`;
    case 'exec-login-shell':
      // The shell came from the target's /etc/passwd; the helper names it in its reply.
      return `failed to execute ${reply.message}`;
    case undefined:
      return `internal error: the helper reported step ${reply.step}, which the plan does not have`;
  }
}

const CHROOT_PARTS: Readonly<Record<number, string>> = {
  1: 'change directory by root file descriptor failed',
  2: 'chroot failed',
  3: 'cannot change directory to /',
};
