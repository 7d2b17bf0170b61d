// The plan wire format's numbers and its byte-level model (docs/plan-format.md).
// helper/nsctl-helper.c has the same constants; the property tests check that both ends agree.

export const MAGIC = 'NSCP';
export const VERSION = 1;
export const HEADER_LEN = 16;
export const RECORD_HEADER_LEN = 8;
/** Largest body the helper accepts (8 MiB); checked before any body byte is read. */
export const BODY_MAX = 8 * 1024 * 1024;
/** Inherited descriptors (the SLOTS count). */
export const MAX_INHERITED = 16;
/** Slots in total: inherited ones plus those SAVE_CWD and OPEN_LATE create. */
export const MAX_SLOTS = 32;
/** ARG and ENV records together. */
export const MAX_STRINGS = 1_000_000;
/** Step indices run 0..65534; 0xFFFF means "no step" in a reply. */
export const MAX_STEPS = 65535;
/** first_fd + count may not exceed this (the kernel's largest possible fs.nr_open). */
export const FD_LIMIT = 1_048_576;

export const RecordType = {
  END: 1,
  SLOTS: 2,
  SETNS: 3,
  SETGROUPS: 4,
  SETGID: 5,
  SETUID: 6,
  SAVE_CWD: 7,
  OPEN_LATE: 8,
  CHROOT: 9,
  CHDIR: 10,
  FORK: 11,
  ARG: 12,
  ENV: 13,
  SEARCH_PATH: 14,
  EXEC: 15,
  EXEC_LOGIN_SHELL: 16,
  CHECK_TARGET: 17,
  NET_SOCKET: 18,
  USER_PARENT: 19,
  JOIN_CGROUP: 20,
  STAT_OWNER: 21,
  KEEP_CAPS: 22,
} as const;

export const FLAG_SETNS_SOFT = 1;
export const FLAG_SETGROUPS_AFTER_SWITCH = 1;
/** SETGID/SETUID: use the id the last STAT_OWNER read; the payload id must then be 0. */
export const FLAG_ID_OWNER = 1;
/** Largest pid and descriptor number a record may carry (both are C ints in the helper). */
export const INT_MAX = 0x7fffffff;

/** Payload shape: a fixed length, a string, or a u32 slot followed by a string. */
export type PayloadShape = number | 'string' | 'slot+string';

export interface RecordInfo {
  readonly name: string;
  /** The flag bits this type defines. */
  readonly flags: number;
  readonly payload: PayloadShape;
  /** Counts as one step (one entry of Plan.steps). */
  readonly isStep: boolean;
}

export const RECORD_INFO: Readonly<Record<number, RecordInfo>> = {
  1: { name: 'end', flags: 0, payload: 0, isStep: false },
  2: { name: 'slots', flags: 0, payload: 8, isStep: false },
  3: { name: 'setns', flags: FLAG_SETNS_SOFT, payload: 8, isStep: true },
  4: { name: 'setgroups', flags: FLAG_SETGROUPS_AFTER_SWITCH, payload: 0, isStep: true },
  5: { name: 'setgid', flags: FLAG_ID_OWNER, payload: 4, isStep: true },
  6: { name: 'setuid', flags: FLAG_ID_OWNER, payload: 4, isStep: true },
  7: { name: 'save-cwd', flags: 0, payload: 4, isStep: true },
  8: { name: 'open-late', flags: 0, payload: 'slot+string', isStep: true },
  9: { name: 'chroot', flags: 0, payload: 4, isStep: true },
  10: { name: 'chdir', flags: 0, payload: 4, isStep: true },
  11: { name: 'fork', flags: 0, payload: 0, isStep: true },
  12: { name: 'arg', flags: 0, payload: 'string', isStep: false },
  13: { name: 'env', flags: 0, payload: 'string', isStep: false },
  14: { name: 'search-path', flags: 0, payload: 'string', isStep: false },
  15: { name: 'exec', flags: 0, payload: 'string', isStep: true },
  16: { name: 'exec-login-shell', flags: 0, payload: 'string', isStep: true },
  17: { name: 'check-target', flags: 0, payload: 12, isStep: true },
  18: { name: 'net-socket', flags: 0, payload: 12, isStep: true },
  19: { name: 'user-parent', flags: 0, payload: 8, isStep: true },
  20: { name: 'join-cgroup', flags: 0, payload: 4, isStep: true },
  21: { name: 'stat-owner', flags: 0, payload: 4, isStep: true },
  22: { name: 'keep-caps', flags: 0, payload: 0, isStep: true },
};

/**
 * A plan as the helper sees it: numbers and raw bytes, no interpretation. Strings stay bytes so
 * that a dump of any accepted buffer is exact, even when the bytes are not UTF-8.
 */
export type WireStep =
  | { readonly op: 'setns'; readonly slot: number; readonly nstype: number; readonly soft: boolean }
  | { readonly op: 'setgroups'; readonly afterSwitch: boolean }
  | { readonly op: 'setgid'; readonly id: number; readonly owner?: boolean }
  | { readonly op: 'setuid'; readonly id: number; readonly owner?: boolean }
  | { readonly op: 'check-target'; readonly pid: number; readonly inode: bigint }
  | { readonly op: 'net-socket'; readonly slot: number; readonly pid: number; readonly fd: number }
  | { readonly op: 'user-parent'; readonly slot: number; readonly from: number }
  | { readonly op: 'join-cgroup'; readonly slot: number }
  | { readonly op: 'stat-owner'; readonly slot: number }
  | { readonly op: 'keep-caps' }
  | { readonly op: 'save-cwd'; readonly slot: number }
  | { readonly op: 'open-late'; readonly slot: number; readonly path: Uint8Array }
  | { readonly op: 'chroot'; readonly slot: number }
  | { readonly op: 'chdir'; readonly slot: number }
  | { readonly op: 'fork' }
  | {
      readonly op: 'exec';
      readonly file: Uint8Array;
      readonly args: readonly Uint8Array[];
      readonly env: readonly Uint8Array[];
      readonly searchPath: Uint8Array | undefined;
    }
  | { readonly op: 'exec-login-shell'; readonly fallback: Uint8Array; readonly env: readonly Uint8Array[] };

export interface WirePlan {
  /** Absent when the buffer has no SLOTS record (0 inherited slots). */
  readonly slots: { readonly firstFd: number; readonly count: number } | undefined;
  readonly steps: readonly WireStep[];
}
