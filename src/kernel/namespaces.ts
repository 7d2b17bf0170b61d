// Namespace types and the kernel's CLONE_NEW* flags. helper/decode.c has the same numbers
// (NAMESPACE_BITS); test/kernel/tables.test.ts checks that the two agree.

export type Namespace = 'user' | 'cgroup' | 'ipc' | 'uts' | 'net' | 'pid' | 'mnt' | 'time';

/**
 * Upstream nsenter's table order. It matters: --all walks it, and the second entry pass walks it
 * too, which puts the user namespace first for callers who failed to enter the rest without it
 * (docs/upstream.md §3, steps 12–13).
 */
export const NAMESPACES: readonly Namespace[] = ['user', 'cgroup', 'ipc', 'uts', 'net', 'pid', 'mnt', 'time'];

/** setns(2) nstype values, from <linux/sched.h>. */
export const CLONE_FLAG: Readonly<Record<Namespace, number>> = {
  user: 0x10000000,
  cgroup: 0x02000000,
  ipc: 0x08000000,
  uts: 0x04000000,
  net: 0x40000000,
  pid: 0x20000000,
  mnt: 0x00020000,
  time: 0x00000080,
};

/** The file name under /proc/PID/ns/, which is also how upstream names a namespace in errors. */
export const PROC_NAME: Readonly<Record<Namespace, string>> = {
  user: 'user',
  cgroup: 'cgroup',
  ipc: 'ipc',
  uts: 'uts',
  net: 'net',
  pid: 'pid',
  mnt: 'mnt',
  time: 'time',
};
