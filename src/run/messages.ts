// The helper reports (step, sub-operation, errno); this turns it into upstream's sentence
// (nsenter-behaviour.md §10), so the helper carries no text.
import { PROC_NAME } from '../kernel/namespaces.ts';
import { strerror } from '../kernel/errno.ts';
import type { Step } from '../plan/index.ts';
import type { HelperReply } from '../wire/index.ts';

type StepFailure = Extract<HelperReply, { kind: 'step-failed' }>;

/** The one line nsctl prints for a reply, or undefined for none (the helper exec'd). */
export function failureMessage(steps: readonly Step[], reply: HelperReply): string | undefined {
  switch (reply.kind) {
    case 'none':
      return undefined;
    case 'step-failed':
      return `${whatFailed(steps[reply.step], reply)}: ${strerror(reply.errno)}`;
    case 'setup-failed':
      return `${reply.message}: ${strerror(reply.errno)}`;
    case 'invalid-plan':
      return `internal error: the helper rejected the plan: ${reply.message}`;
    case 'malformed':
      return `internal error: unreadable reply from the helper: ${reply.reason}`;
  }
}

function whatFailed(step: Step | undefined, reply: StepFailure): string {
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
      // The shell came from the target's /etc/passwd (or is the fallback).
      return `failed to execute the login shell (${step.fallback} or the passwd shell)`;
    case undefined:
      return `internal error: the helper reported step ${reply.step}, which the plan does not have`;
  }
}

const CHROOT_PARTS: Readonly<Record<number, string>> = {
  1: 'change directory by root file descriptor failed',
  2: 'chroot failed',
  3: 'cannot change directory to /',
};
