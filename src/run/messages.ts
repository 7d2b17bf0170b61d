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
    case 'check-target':
      return reply.subOp === 1 ? 'failed to statx() pidfd' : `failed to obtain a valid file descriptor for PID ${step.pid}`;
    case 'net-socket':
      return NET_SOCKET_PARTS[reply.subOp]?.(step) ?? 'net-socket failed';
    case 'user-parent':
      return 'failed to open parent namespace';
    case 'join-cgroup':
      return 'write cgroup.procs failed';
    case 'stat-owner':
      return 'fstat of the target failed';
    case 'keep-caps':
      return KEEP_CAPS_PARTS[reply.subOp] ?? 'keep-caps failed';
    case 'exec':
      return `failed to execute ${step.file}`;
    case 'exec-login-shell':
      // The shell came from the target's /etc/passwd (or is the fallback); the helper says which.
      return `failed to execute ${reply.detail ?? `the login shell (${step.fallback} or the passwd shell)`}`;
    case undefined:
      return `internal error: the helper reported step ${reply.step}, which the plan does not have`;
  }
}

// nsenter names its own descriptor numbers here (`pidfd_getfd(3, 99)`); the helper's would be
// meaningless to the user, so the sentence uses the ones nsenter has in the same situation: its
// pidfd is 3 (after stdin, stdout, stderr) and the fetched socket 4 (§10.2).
const NET_SOCKET_PARTS: Readonly<Record<number, (step: { pid: number; fd: number }) => string>> = {
  1: (step) => `failed to pidfd_open() for ${step.pid}`,
  2: (step) => `pidfd_getfd(3, ${step.fd})`,
  3: () => 'ioctl(4, SIOCGSKNS)',
};

const KEEP_CAPS_PARTS: Readonly<Record<number, string>> = {
  1: 'capget failed',
  2: 'capset failed',
  3: 'prctl(PR_CAP_AMBIENT) failed',
};

const CHROOT_PARTS: Readonly<Record<number, string>> = {
  1: 'change directory by root file descriptor failed',
  2: 'chroot failed',
  3: 'cannot change directory to /',
};
