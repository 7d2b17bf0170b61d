/*
 * Performing a valid plan, step by step, in the helper's own process (docs/plan-format.md,
 * "Performing the plan"). This is the part with side effects; each step is the call the contract
 * names, checked, and a failure is the step's own text (report.c). `environ`, `fork`, `pty`,
 * the two execs and the --host-tools mounts have files of their own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "helper.h"

/* Kernel constants musl's headers lack (linux/sockios.h, linux/nsfs.h, linux/magic.h,
 * linux/capability.h). */
#ifndef SIOCGSKNS
#define SIOCGSKNS 0x894c
#endif
#define NS_GET_USERNS 0xb701
#define PIDFS_MAGIC 0x50494446
#define CAP_VERSION_3 0x20080522u

/*
 * "Dumpable" off: nothing in a joined namespace may ptrace the helper or open /proc/<helper>/fd
 * while it holds the caller's descriptors. A change of credentials resets it to fs.suid_dumpable,
 * so it is set again after every step that may change them; execve resets it for the program.
 */
static void stay_undumpable(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fatal("cannot make the helper non-dumpable", errno);
}

void stay_with_parent(const struct run_state *rs, const struct step *st)
{
	if (!rs->forked)
		return;
	/* A change of credentials clears the parent-death signal too. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		step_failed(st, TEXT_WHAT, errno, EXIT_FAILED);
	if (getppid() != rs->parent)
		_exit(EXIT_FAILED); /* the supervisor is gone already */
}

static void after_credentials(const struct run_state *rs, const struct step *st)
{
	stay_undumpable();
	stay_with_parent(rs, st);
}

void close_slots(struct run_state *rs)
{
	for (unsigned i = 0; i < MAX_SLOTS; i++)
		if (rs->fd[i] >= 0) {
			(void)close(rs->fd[i]); /* close(2) errors are not actionable */
			rs->fd[i] = -1;
		}
}

static _Noreturn void failed(const struct step *st, int err)
{
	step_failed(st, TEXT_WHAT, err, EXIT_FAILED);
}

static void open_step(struct run_state *rs, const struct step *st)
{
	static const int HOW[] = {O_RDONLY, O_RDONLY | O_DIRECTORY, O_WRONLY | O_APPEND};
	int at = st->open.at == SLOT_NONE ? AT_FDCWD : rs->fd[st->open.at];
	int fd = openat(at, st->open.path.s, HOW[st->open.how] | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 && (st->flags & F_OPEN_SOFT_DENIED) && (errno == EACCES || errno == EPERM))
		return; /* the slot stays empty; only `environ` may use it */
	if (fd < 0)
		failed(st, errno);
	rs->fd[st->open.slot] = fd;
}

/* Field 22 of /proc/PID/stat (counted after the last ')', since the name may hold anything). */
static int start_time(const char *buf, size_t len, uint64_t *start)
{
	const char *p = NULL, *end = buf + len;
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++)
		if (buf[i] == ')')
			p = buf + i + 1;
	if (p == NULL)
		return -1;
	for (int field = 3; field < 22; field++) {
		if (p >= end || *p != ' ')
			return -1;
		for (p++; p < end && *p != ' '; p++)
			;
	}
	if (p >= end || *p != ' ' || ++p >= end || *p < '0' || *p > '9')
		return -1;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*start = v;
	return 0;
}

/*
 * The /proc/PID directory in `proc` still belongs to the process the planner read. Once that
 * process is gone, reads through the directory fail (ENOENT, ESRCH): reported as ESRCH, like a
 * start time that does not match.
 */
static void check_start_step(const struct run_state *rs, const struct step *st)
{
	char buf[4096];
	uint64_t start;
	size_t got = 0;
	int err = 0;
	int fd = openat(rs->fd[st->check_start.proc], "stat", O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		err = errno;
	else {
		err = read_full(fd, buf, sizeof buf, &got);
		(void)close(fd);
	}
	if (err == ENOENT || err == ESRCH)
		err = ESRCH;
	else if (err == 0 && (start_time(buf, got, &start) != 0 || start != st->check_start.start))
		err = ESRCH;
	if (err != 0)
		failed(st, err);
}

static void check_inode_step(const struct run_state *rs, const struct step *st)
{
	int pidfd = rs->fd[st->check_inode.pidfd];
	struct statfs sfs;
	struct stat sb;

	if (fstatfs(pidfd, &sfs) != 0)
		step_failed(st, TEXT_CHECK_INODE_WHAT, errno, EXIT_FAILED);
	if (sfs.f_type != PIDFS_MAGIC) /* a kernel without pidfs: no inode to compare */
		step_failed(st, TEXT_CHECK_INODE_WHAT, ENOTSUP, EXIT_FAILED);
	if (fstat(pidfd, &sb) != 0)
		step_failed(st, TEXT_CHECK_INODE_STAT, errno, EXIT_FAILED);
	if ((uint64_t)sb.st_ino != st->check_inode.inode)
		step_failed(st, TEXT_CHECK_INODE_WHAT, ESRCH, EXIT_FAILED);
}

/* `--keep-caps`: inheritable = permitted, then each effective capability the kernel knows
 * (PR_CAPBSET_READ fails beyond cap_last_cap) raised into the ambient set. Raw calls, no libcap. */
static void keep_caps_step(const struct run_state *rs, const struct step *st)
{
	struct {
		uint32_t version;
		int pid;
	} head = {CAP_VERSION_3, 0};
	struct {
		uint32_t effective, permitted, inheritable;
	} data[2];
	uint64_t effective;

	memset(data, 0, sizeof data);
	if (syscall(SYS_capget, &head, data) != 0)
		step_failed(st, TEXT_CAPGET, errno, EXIT_FAILED);
	data[0].inheritable = data[0].permitted;
	data[1].inheritable = data[1].permitted;
	if (syscall(SYS_capset, &head, data) != 0)
		step_failed(st, TEXT_CAPSET, errno, EXIT_FAILED);
	effective = (uint64_t)data[1].effective << 32 | data[0].effective;
	for (unsigned long cap = 0; cap < 64; cap++) {
		if (!(effective & (UINT64_C(1) << cap)) || prctl(PR_CAPBSET_READ, cap, 0UL, 0UL, 0UL) < 0)
			continue;
		if (prctl(PR_CAP_AMBIENT, (unsigned long)PR_CAP_AMBIENT_RAISE, cap, 0UL, 0UL) != 0)
			step_failed(st, TEXT_AMBIENT, errno, EXIT_FAILED);
	}
	after_credentials(rs, st);
}

static void join_cgroup_step(const struct run_state *rs, const struct step *st)
{
	struct out o;

	out_init(&o, rs->fd[st->on.slot]);
	out_u64(&o, (uint64_t)getpid());
	if (out_flush(&o) != 0)
		failed(st, o.err);
}

static void set_fd(struct run_state *rs, const struct step *st, uint32_t slot, long fd)
{
	if (fd < 0)
		failed(st, errno);
	rs->fd[slot] = (int)fd;
}

static struct run_state state;

_Noreturn void perform(const struct plan *plan)
{
	struct run_state *rs = &state;

	rs->plan = plan;
	for (unsigned i = 0; i < MAX_SLOTS; i++)
		rs->fd[i] = -1;
	stay_undumpable();

	for (uint32_t i = 0; i < plan->nsteps; i++) {
		const struct step *st = &plan->steps[i];
		struct stat sb;
		uint32_t want;
		uint32_t id;

		switch (st->type) {
		case R_OPEN:
			open_step(rs, st);
			break;
		case R_PIDFD:
			set_fd(rs, st, st->pidfd.slot, syscall(SYS_pidfd_open, (pid_t)st->pidfd.pid, 0u));
			break;
		case R_CHECK_START:
			check_start_step(rs, st);
			break;
		case R_CHECK_INODE:
			check_inode_step(rs, st);
			break;
		case R_PIDFD_GETFD:
			set_fd(rs, st, st->pidfd_getfd.slot,
			       syscall(SYS_pidfd_getfd, rs->fd[st->pidfd_getfd.pidfd], (int)st->pidfd_getfd.fd, 0u));
			break;
		case R_SOCKET_NETNS:
			set_fd(rs, st, st->socket_netns.slot, ioctl(rs->fd[st->socket_netns.socket], SIOCGSKNS));
			break;
		case R_NS_OWNER:
			set_fd(rs, st, st->ns_owner.slot, ioctl(rs->fd[st->ns_owner.of], NS_GET_USERNS));
			break;
		case R_SETNS:
			/* What earlier setns steps through this slot joined is not joined again. */
			want = st->setns.mask & ~rs->joined[st->setns.fd];
			if (want == 0)
				break;
			if (setns(rs->fd[st->setns.fd], (int)want) != 0) {
				if (st->flags & F_SETNS_SOFT)
					break;
				failed(st, errno);
			}
			rs->joined[st->setns.fd] |= want;
			after_credentials(rs, st);
			break;
		case R_SETGROUPS:
			if (setgroups(0, NULL) != 0) {
				if (!(st->flags & F_SETGROUPS_AFTER_SWITCH))
					rs->setgroups_failed = 1;
				else if (rs->setgroups_failed)
					failed(st, errno);
			}
			after_credentials(rs, st);
			break;
		case R_SETGID:
			id = (st->flags & F_ID_OWNER) ? (uint32_t)rs->owner_gid : st->setid.id;
			if (setgid((gid_t)id) != 0)
				failed(st, errno);
			after_credentials(rs, st);
			break;
		case R_SETUID:
			id = (st->flags & F_ID_OWNER) ? (uint32_t)rs->owner_uid : st->setid.id;
			if (setuid((uid_t)id) != 0)
				failed(st, errno);
			after_credentials(rs, st);
			break;
		case R_STAT_OWNER:
			if (fstat(rs->fd[st->on.slot], &sb) != 0)
				failed(st, errno);
			rs->owner_uid = sb.st_uid;
			rs->owner_gid = sb.st_gid;
			break;
		case R_FCHDIR:
			if (fchdir(rs->fd[st->on.slot]) != 0)
				failed(st, errno);
			break;
		case R_CHROOT:
			if (chroot(st->dir.path.s) != 0)
				failed(st, errno);
			break;
		case R_CHDIR:
			if (chdir(st->dir.path.s) != 0)
				failed(st, errno);
			break;
		case R_ENVIRON:
			environ_step(rs, st);
			break;
		case R_JOIN_CGROUP:
			join_cgroup_step(rs, st);
			break;
		case R_FORK:
			fork_step(rs, st);
			break;
		case R_PTY:
			pty_step(rs, st);
			break;
		case R_KEEP_CAPS:
			keep_caps_step(rs, st);
			break;
		case R_OPEN_TREE:
			open_tree_step(rs, st);
			break;
		case R_UNSHARE_MNT:
			unshare_mnt_step(st);
			break;
		case R_MAKE_PRIVATE:
			make_private_step(st);
			break;
		case R_MOVE_MOUNT:
			move_mount_step(rs, st);
			break;
		case R_MOUNT_PROC:
			mount_proc_step(st);
			break;
		case R_CHDIR_IN:
			chdir_in_step(rs, st);
			break;
		case R_EXEC_CONTEXT:
			exec_context_step(rs, st);
			break;
		case R_EXEC:
			exec_step(rs, st);
		case R_EXEC_LOGIN_SHELL:
			exec_login_shell_step(rs, st);
		}
	}
	/* Unreachable: a valid plan ends with an exec. */
	fatal("internal error: the plan has no exec", EINVAL);
}
