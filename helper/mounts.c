/*
 * The steps that build the --host-tools view (docs/plan-format.md, types 24–29): copies of mount
 * trees made with the mount API, a mount namespace of the program's own, and a /proc for the
 * target's PID namespace. Each step is one call (the walk of `chdir-in` one per component); the
 * planner decides which, in which order, on which paths, and why (docs/kernel.md §6).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

/* linux/mount.h's values (Linux 5.2); musl's headers lack them. test/kernel/tables.test.ts compares
 * these lines with the kernel's headers. */
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 0x1
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x4
#endif
#ifndef MOVE_MOUNT_T_SYMLINKS
#define MOVE_MOUNT_T_SYMLINKS 0x10
#endif

static _Noreturn void failed(const struct step *st, int err)
{
	step_failed(st, TEXT_WHAT, err, EXIT_FAILED);
}

/*
 * A detached copy of the whole mount tree at `path` (relative to `at`; empty: `at` itself), with
 * every mount below it: open_tree(OPEN_TREE_CLONE | AT_RECURSIVE). The kernel copies only mounts
 * of the caller's own mount namespace, so a copy of the caller's `/` comes before the mount
 * namespace is joined, and a copy of the target's root after.
 */
void open_tree_step(struct run_state *rs, const struct step *st)
{
	int at = st->open_tree.at == SLOT_NONE ? AT_FDCWD : rs->fd[st->open_tree.at];
	long fd = syscall(SYS_open_tree, at, st->open_tree.path.s,
			  (unsigned)(OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH));

	if (fd < 0)
		failed(st, errno);
	rs->fd[st->open_tree.slot] = (int)fd;
}

/* A mount namespace of our own, a copy of the current one: what we mount from here on is ours. */
void unshare_mnt_step(const struct step *st)
{
	if (unshare(CLONE_NEWNS) != 0)
		failed(st, errno);
}

/*
 * Every mount at and below `path` stops propagating: copies (unshare's and open_tree's) stay in
 * their originals' peer groups, so a mount made on one of them would appear in the target's or the
 * caller's namespace too (docs/kernel.md §6 measured exactly that).
 */
void make_private_step(const struct step *st)
{
	if (mount(NULL, st->dir.path.s, NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		failed(st, errno);
}

/*
 * Attaches the tree in `from` (an open_tree copy) on `path`, following a symbolic link there (the
 * path names the caller's own file system). The descriptor then names the attached tree's root.
 */
void move_mount_step(const struct run_state *rs, const struct step *st)
{
	if (syscall(SYS_move_mount, rs->fd[st->move_mount.from], "", AT_FDCWD, st->move_mount.path.s,
		    (unsigned)(MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS)) != 0)
		failed(st, errno);
}

/* A new proc: it shows the PID namespace of the process that mounts it, so this must run in the
 * child of `fork`. nosuid, nodev, noexec as every distribution mounts /proc. */
void mount_proc_step(const struct step *st)
{
	if (mount("proc", st->dir.path.s, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		failed(st, errno);
}

/*
 * fchdir to `path` below the directory in `at`, one component at a time, never following a
 * symbolic link (O_NOFOLLOW with O_DIRECTORY fails on one) and never going up (the validator
 * refuses ".."): whatever the target renames or links while we walk, we stay inside `at`.
 * Mount points are crossed as usual. Empty components and "." are skipped.
 */
void chdir_in_step(const struct run_state *rs, const struct step *st)
{
	const char *p = st->chdir_in.path.s;
	int dir = rs->fd[st->chdir_in.at], own = -1;
	char name[NAME_MAX + 1];

	while (*p != '\0') {
		size_t n = strcspn(p, "/");
		int next;

		if (n > NAME_MAX)
			failed(st, ENAMETOOLONG);
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			memcpy(name, p, n);
			name[n] = '\0';
			next = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0)
				failed(st, errno);
			if (own >= 0)
				(void)close(own); /* close(2) errors are not actionable */
			dir = own = next;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	if (fchdir(dir) != 0)
		failed(st, errno);
	if (own >= 0)
		(void)close(own);
}
