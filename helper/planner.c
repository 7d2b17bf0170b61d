/*
 * `run`: start the planner, read its frames, answer its queries, wait for it, and only then
 * perform its plan (docs/plan-format.md, "Running the planner").
 *
 * Nothing of Node is alive when the first step runs: the plan is performed after the planner has
 * exited, and only if it exited 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

/* linux/nsfs.h, which musl's headers lack. */
#define NS_GET_USERNS 0xb701
#define NS_GET_PARENT 0xb702
#define NS_GET_NSTYPE 0xb703
#define CLONE_NEWUSER_BIT 0x10000000
/* User namespaces nest at most 32 deep, so no chain of ancestors is longer. */
#define MAX_PARENTS 33u

#define PLANNER_FD 3

/* ---- The child: becomes the planner ------------------------------------------------------ */

static _Noreturn void planner_failed(const char *what, const char *path, int err, int code)
{
	struct out o;
	char buf[32];

	out_init(&o, STDERR_FILENO);
	out_str(&o, "nsctl: cannot run the planner: ");
	out_str(&o, what);
	if (path != NULL) {
		out_str(&o, ": ");
		out_escaped(&o, path, strlen(path));
	}
	out_str(&o, ": ");
	out_str(&o, error_text(err, buf));
	out_str(&o, "\n");
	(void)out_flush(&o);
	_exit(code);
}

/* Every descriptor from `first` up is closed: close_range, else one by one from /proc/self/fd,
 * else every number below RLIMIT_NOFILE. */
static int close_listed(int first)
{
	char buf[4096];
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dir < 0)
		return -1;
	for (;;) {
		long n = syscall(SYS_getdents64, dir, buf, sizeof buf);
		if (n <= 0) {
			(void)close(dir);
			return n == 0 ? 0 : -1;
		}
		/* struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, name. */
		for (long off = 0; off + 19 < n;) {
			unsigned reclen = (unsigned)(uint8_t)buf[off + 16] | (unsigned)(uint8_t)buf[off + 17] << 8;
			const char *name = buf + off + 19;
			long fd = 0;
			if (reclen == 0)
				break;
			for (; *name >= '0' && *name <= '9' && fd < INT_MAX; name++)
				fd = fd * 10 + (*name - '0');
			if (*name == '\0' && name != buf + off + 19 && fd >= first && fd != dir)
				(void)close((int)fd);
			off += (long)reclen;
		}
	}
}

static void close_from(int first)
{
	struct rlimit rl;

	if (syscall(SYS_close_range, (unsigned)first, ~0u, 0u) == 0 || close_listed(first) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur > 1048576)
		rl.rlim_cur = 1048576;
	for (rlim_t fd = (rlim_t)first; fd < rl.rlim_cur; fd++)
		(void)close((int)fd);
}

static _Noreturn void become_planner(int sock, pid_t parent, int argc, char **argv, char **envp)
{
	const char *node = argv[2];
	int fd, err;

	/* A planner never outlives the helper. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		planner_failed("prctl(PR_SET_PDEATHSIG)", NULL, errno, EXIT_FAILED);
	if (getppid() != parent)
		_exit(EXIT_FAILED);
	/* Its end of the socket is descriptor 3, without close-on-exec. */
	if (sock == PLANNER_FD ? fcntl(sock, F_SETFD, 0) != 0 : dup2(sock, PLANNER_FD) != PLANNER_FD)
		planner_failed("dup2", NULL, errno, EXIT_FAILED);
	/* Descriptor 0 is /dev/null: Node never sees the caller's terminal or stdin. */
	fd = open("/dev/null", O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		(void)close(STDIN_FILENO);
	else if (dup2(fd, STDIN_FILENO) != STDIN_FILENO)
		planner_failed("dup2", NULL, errno, EXIT_FAILED);
	/* Nothing above 3: the caller's other descriptors are the program's, not Node's. */
	close_from(PLANNER_FD + 1);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		planner_failed("prctl(PR_SET_NO_NEW_PRIVS)", NULL, errno, EXIT_FAILED);
	if ((err = install_planner_filter()) != 0)
		planner_failed("seccomp", NULL, err, EXIT_FAILED);

	/* [helper, run, NODE, SCRIPT, ARG…] → [NODE, SCRIPT, --nsctl-plan-fd=3, ARG…] in place. */
	argv[0] = argv[2];
	argv[1] = argv[3];
	argv[2] = (char *)"--nsctl-plan-fd=3";
	for (int i = 4; i < argc; i++)
		argv[i - 1] = argv[i];
	argv[argc - 1] = NULL;
	/* bin/nsctl passes `node` for the shell's PATH search to find: the one variable of its
	 * environment the helper reads, and only here, in the planner's process. */
	err = exec_search(node, argv, envp, 0);
	planner_failed(node, NULL, err, err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* ---- The parent: frames from the planner -------------------------------------------------- */

static int send_full(int sock, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = send(sock, p, len, MSG_NOSIGNAL); /* a planner gone is EPIPE, not SIGPIPE */
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? errno : EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The answer frame under construction. */
struct answer {
	size_t len;
	uint8_t buf[HEADER_LEN + QUERY_BODY_MAX];
};

static void put(struct answer *a, const void *p, size_t n)
{
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void put32(struct answer *a, uint32_t v)
{
	put_u32(a->buf + a->len, v);
	a->len += 4;
}

static void put64(struct answer *a, uint64_t v)
{
	put_u64(a->buf + a->len, v);
	a->len += 8;
}

static void put_decimal(struct answer *a, uint64_t v)
{
	char digits[20];
	size_t i = sizeof digits;
	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	put32(a, (uint32_t)(sizeof digits - i));
	put(a, digits + i, sizeof digits - i);
}

/*
 * One ns-facts answer record. Opens nothing that outlives it and changes nothing: O_NOCTTY (a
 * terminal never becomes ours), O_NONBLOCK (a FIFO never blocks us). At most 8 + 36 + 33 × 24
 * bytes, so 64 of them fit in a 64 KiB body.
 */
static void answer_ns_facts(struct answer *a, const char *path)
{
	uint32_t error = 0, nstype = 0, owner_error = 0, nparents = 0;
	uint64_t ino = 0, owner_ino = 0, parents[MAX_PARENTS];
	struct stat sb;
	size_t start = a->len;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int type = 0;

	if (fd < 0)
		error = (uint32_t)errno;
	else if (fstat(fd, &sb) != 0 || (type = ioctl(fd, NS_GET_NSTYPE)) < 0)
		error = (uint32_t)errno;
	if (fd >= 0 && error == 0) {
		int owner = ioctl(fd, NS_GET_USERNS);
		ino = (uint64_t)sb.st_ino;
		nstype = (uint32_t)type;
		if (owner < 0)
			owner_error = (uint32_t)errno;
		else if (fstat(owner, &sb) != 0)
			owner_error = (uint32_t)errno;
		else
			owner_ino = (uint64_t)sb.st_ino;
		if (owner >= 0)
			(void)close(owner);
		/* A user namespace's ancestors, nearest first, until the kernel refuses (EPERM: the
		 * next one is outside the caller's view). */
		if (type == CLONE_NEWUSER_BIT) {
			int cur = fd;
			while (nparents < MAX_PARENTS) {
				int up = ioctl(cur, NS_GET_PARENT);
				if (cur != fd)
					(void)close(cur);
				cur = up;
				if (up < 0 || fstat(up, &sb) != 0)
					break;
				parents[nparents++] = (uint64_t)sb.st_ino;
			}
			if (cur >= 0 && cur != fd)
				(void)close(cur);
		}
	}
	if (fd >= 0)
		(void)close(fd);

	put32(a, R_NS_FACTS_ANSWER); /* type, flags: u16 each, little-endian */
	put32(a, 0);                 /* payload length, filled in below */
	put32(a, error);
	put64(a, ino);
	put32(a, nstype);
	put32(a, owner_error);
	put64(a, owner_ino);
	put32(a, nparents);
	for (uint32_t i = 0; i < nparents; i++)
		put_decimal(a, parents[i]);
	put_u32(a->buf + start + 4, (uint32_t)(a->len - start - RECORD_HEADER_LEN));
}

/* How reading the planner's frames ended. */
enum outcome { NO_PLAN, GOT_PLAN, INVALID_PLAN, INVALID_QUERY, READ_FAILED, ANSWER_FAILED };

static struct query query;
static struct answer answer;

/* A query frame whose first `have` header bytes are in frame[]: read its body, decode it, answer it. */
static enum outcome query_frame(int sock, uint8_t *frame, size_t have, struct reason *why, int *err)
{
	uint32_t body_len;
	size_t got = 0;

	if (have < HEADER_LEN || check_header(frame, "NSCQ", QUERY_BODY_MAX, &body_len, why) != 0) {
		(void)decode_query_frame(frame, have, &query, why);
		return INVALID_QUERY;
	}
	if ((*err = read_full(sock, frame + HEADER_LEN, body_len, &got)) != 0)
		return READ_FAILED;
	if (decode_query_frame(frame, HEADER_LEN + got, &query, why) != 0)
		return INVALID_QUERY;
	answer.len = 0;
	put(&answer, "NSCA", 4);
	put32(&answer, WIRE_VERSION); /* version, then flags 0 */
	put32(&answer, 0);            /* body length, filled in below */
	put32(&answer, 0);            /* reserved */
	for (uint32_t i = 0; i < query.n; i++)
		answer_ns_facts(&answer, query.paths[i]);
	put_u32(answer.buf + 8, (uint32_t)(answer.len - HEADER_LEN));
	if ((*err = send_full(sock, answer.buf, answer.len)) != 0)
		return ANSWER_FAILED;
	return NO_PLAN;
}

/* Frames until EOF: queries, answered at once, then at most one plan, the last frame. */
static enum outcome read_frames(int sock, uint8_t *frame, struct plan *plan, struct reason *why, int *err)
{
	for (;;) {
		size_t got;
		enum outcome o;
		int r;

		if ((*err = read_full(sock, frame, HEADER_LEN, &got)) != 0)
			return READ_FAILED;
		if (got == 0)
			return NO_PLAN;
		if (got >= 4 && memcmp(frame, "NSCQ", 4) == 0) {
			if ((o = query_frame(sock, frame, got, why, err)) != NO_PLAN)
				return o;
			continue;
		}
		/* Anything else must be the plan, and the last frame. */
		r = read_plan_frame(sock, frame, got, plan, why);
		if (r > 0) {
			*err = r;
			return READ_FAILED;
		}
		return r == 0 ? GOT_PLAN : INVALID_PLAN;
	}
}

/* ---- run ---------------------------------------------------------------------------------- */

/*
 * Descriptors 0–2 that the caller closed are filled with /dev/null, close-on-exec: nothing the
 * helper opens can land there (and take an error message, or be mistaken for stdin), and the
 * program, and the planner, still find them closed.
 */
static void hold_closed_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int nul;
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		nul = open("/dev/null", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (nul < 0)
			fatal("cannot open /dev/null", errno);
		if (nul != fd) { /* a lower one was closed too and is filled first: cannot happen */
			(void)close(nul);
			fatal("cannot open /dev/null", EBADF);
		}
	}
}

_Noreturn void run(int argc, char **argv, char **envp, uint8_t *frame, struct plan *plan)
{
	struct sigaction dfl, caller_sigchld;
	struct reason why;
	enum outcome outcome;
	pid_t parent = getpid(), pid;
	int sv[2], status, err = 0;

	hold_closed_std_fds();
	/* A SIGCHLD the caller ignores would reap the planner before we could wait for it. The
	 * caller's setting is back before the first step, for the program to inherit. */
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	if (sigaction(SIGCHLD, &dfl, &caller_sigchld) != 0)
		fatal("cannot run the planner: sigaction", errno);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		fatal("cannot run the planner: socketpair", errno);
	pid = fork();
	if (pid < 0)
		fatal("cannot run the planner: fork", errno);
	if (pid == 0)
		become_planner(sv[1], parent, argc, argv, envp);
	(void)close(sv[1]); /* close(2) errors are not actionable; the descriptor is gone either way */

	outcome = read_frames(sv[0], frame, plan, &why, &err);
	/* Stop listening: a planner still writing gets EPIPE, one waiting for an answer gets EOF. */
	(void)close(sv[0]);
	while (waitpid(pid, &status, 0) != pid)
		if (errno != EINTR)
			fatal("cannot run the planner: waitpid", errno);
	if (sigaction(SIGCHLD, &caller_sigchld, NULL) != 0)
		fatal("cannot run the planner: sigaction", errno);

	if (WIFSIGNALED(status))
		die_by_signal(WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		_exit(WEXITSTATUS(status)); /* the planner printed its own message */
	switch (outcome) {
	case NO_PLAN:
		_exit(0); /* --help, --version, --list-targets */
	case INVALID_PLAN:
		fatal_text("internal error: invalid plan: ", why.text);
	case INVALID_QUERY:
		fatal_text("internal error: invalid query: ", why.text);
	case READ_FAILED:
		fatal("internal error: cannot read from the planner", err);
	case ANSWER_FAILED:
		fatal("internal error: cannot answer the planner", err);
	case GOT_PLAN:
		break;
	}
	perform(plan);
}
