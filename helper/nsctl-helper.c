/*
 * nsctl-helper: the small static program that carries out a plan written by nsctl.
 *
 * nsctl (TypeScript) decides everything: which namespaces, in which order, which files, which
 * credentials, what to exec. Node cannot do the work itself: it is multithreaded, and setns(2)
 * into a user, mount or time namespace fails with a second thread alive (helper-notes.md §1.3).
 * This program is a machine for plans. It reads the plan from a descriptor, checks all of it, and
 * only then performs the steps in the order given. It never decides order, defaults or policy.
 *
 * The file reads top to bottom in the order things happen:
 *
 *   1. the wire format: constants and the record table      (docs/plan-format.md)
 *   2. the one error path: reply to nsctl, or complain on stderr, then exit
 *   3. reading the plan from the channel
 *   4. validating the whole plan, before any side effect
 *   5. `--check`: the canonical text dump                    (src/wire/dump.ts prints the same)
 *   6. the steps: setns, credentials, root, cwd, fork
 *   7. exec: execvp search, login shell
 *   8. main
 *
 * Rules this file keeps: no getenv (the plan carries everything), no malloc (static buffers), every
 * integer decoded byte by byte, every syscall's result checked.
 *
 * Usage:
 *   nsctl-helper run FD     FD is the plan channel (an AF_UNIX socket from Node's stdio 'pipe')
 *   nsctl-helper --check    read a plan on stdin, validate it, print the dump, do nothing else
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------ */
/* 1. The wire format (docs/plan-format.md is the reference; src/wire/ is the other end).      */
/* ------------------------------------------------------------------------------------------ */

#define PLAN_VERSION 1u
#define HEADER_LEN 16u
#define RECORD_HEADER_LEN 8u
#define BODY_MAX (8u * 1024u * 1024u)
#define MAX_INHERITED 16u
#define MAX_SLOTS 32u
#define MAX_STRINGS 1000000u /* ARG + ENV records together */
#define MAX_STEPS 65535u     /* step indices 0..65534; 0xFFFF means "no step" in a reply */
#define FD_LIMIT 1048576u    /* the kernel's largest possible fs.nr_open */
#define PASSWD_MAX (1024u * 1024u)

#define REPLY_LEN 16u
#define REPLY_NO_STEP 0xFFFFu
#define SUBOP_INVALID_PLAN 0xFFFFu
#define SUBOP_SETUP 0xFFFEu

#define EXIT_STEP_FAILED 1
#define EXIT_USAGE 2
#define EXIT_INVALID_PLAN 125
#define EXIT_EXEC_FAILED 126
#define EXIT_EXEC_NOT_FOUND 127

enum record_type {
	R_END = 1,
	R_SLOTS = 2,
	R_SETNS = 3,
	R_SETGROUPS = 4,
	R_SETGID = 5,
	R_SETUID = 6,
	R_SAVE_CWD = 7,
	R_OPEN_LATE = 8,
	R_CHROOT = 9,
	R_CHDIR = 10,
	R_FORK = 11,
	R_ARG = 12,
	R_ENV = 13,
	R_SEARCH_PATH = 14,
	R_EXEC = 15,
	R_EXEC_LOGIN_SHELL = 16,
	R_CHECK_TARGET = 17,
	R_NET_SOCKET = 18,
	R_USER_PARENT = 19,
	R_JOIN_CGROUP = 20,
	R_STAT_OWNER = 21,
	R_KEEP_CAPS = 22,
	R_TYPE_COUNT
};

#define FLAG_SETNS_SOFT 1u
#define FLAG_SETGROUPS_AFTER_SWITCH 1u
#define FLAG_ID_OWNER 1u /* SETGID/SETUID: the id the last STAT_OWNER read (payload must be 0) */

/* Kernel constants musl's headers may lack (linux/sockios.h, linux/nsfs.h, linux/magic.h,
 * linux/capability.h). */
#ifndef SIOCGSKNS
#define SIOCGSKNS 0x894C
#endif
#define NS_GET_USERNS 0xb701 /* _IO(0xb7, 0x1) */
#define PIDFS_MAGIC 0x50494446
#define CAP_VERSION_3 0x20080522u

/* Payload shapes. */
#define LEN_STRING (-1)      /* the whole payload is a string */
#define LEN_SLOT_STRING (-2) /* u32 slot, then a string */

static const struct record_info {
	const char *name;
	uint16_t flags; /* the flag bits this type defines */
	int len;        /* fixed payload length, or LEN_STRING / LEN_SLOT_STRING */
	int is_step;    /* counts as one Step of the TypeScript Plan */
} RECORDS[R_TYPE_COUNT] = {
	[R_END] = {"end", 0, 0, 0},
	[R_SLOTS] = {"slots", 0, 8, 0},
	[R_SETNS] = {"setns", FLAG_SETNS_SOFT, 8, 1},
	[R_SETGROUPS] = {"setgroups", FLAG_SETGROUPS_AFTER_SWITCH, 0, 1},
	[R_SETGID] = {"setgid", FLAG_ID_OWNER, 4, 1},
	[R_SETUID] = {"setuid", FLAG_ID_OWNER, 4, 1},
	[R_SAVE_CWD] = {"save-cwd", 0, 4, 1},
	[R_OPEN_LATE] = {"open-late", 0, LEN_SLOT_STRING, 1},
	[R_CHROOT] = {"chroot", 0, 4, 1},
	[R_CHDIR] = {"chdir", 0, 4, 1},
	[R_FORK] = {"fork", 0, 0, 1},
	[R_ARG] = {"arg", 0, LEN_STRING, 0},
	[R_ENV] = {"env", 0, LEN_STRING, 0},
	[R_SEARCH_PATH] = {"search-path", 0, LEN_STRING, 0},
	[R_EXEC] = {"exec", 0, LEN_STRING, 1},
	[R_EXEC_LOGIN_SHELL] = {"exec-login-shell", 0, LEN_STRING, 1},
	[R_CHECK_TARGET] = {"check-target", 0, 12, 1},
	[R_NET_SOCKET] = {"net-socket", 0, 12, 1},
	[R_USER_PARENT] = {"user-parent", 0, 8, 1},
	[R_JOIN_CGROUP] = {"join-cgroup", 0, 4, 1},
	[R_STAT_OWNER] = {"stat-owner", 0, 4, 1},
	[R_KEEP_CAPS] = {"keep-caps", 0, 0, 1},
};

/* setns(2) nstype values. src/kernel/namespaces.ts has the same table (test/unit/kernel.test.ts). */
static const struct namespace_info {
	uint32_t nstype;
	const char *name;
} NAMESPACES[] = {
	{CLONE_NEWUSER, "user"}, {CLONE_NEWCGROUP, "cgroup"}, {CLONE_NEWIPC, "ipc"},
	{CLONE_NEWUTS, "uts"},   {CLONE_NEWNET, "net"},       {CLONE_NEWPID, "pid"},
	{CLONE_NEWNS, "mnt"},    {CLONE_NEWTIME, "time"},
};

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v & 0xFFu);
	p[1] = (uint8_t)((v >> 8) & 0xFFu);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	put_u16(p, v & 0xFFFFu);
	put_u16(p + 2, v >> 16);
}

/*
 * The decoded plan. Steps keep their plan order; a step's index in `steps` is its index in the
 * TypeScript Plan.steps, which is what a reply names.
 */
struct step {
	uint16_t type;
	uint16_t flags;
	uint32_t a; /* slot, gid, uid, or pid (CHECK_TARGET) */
	uint32_t b; /* nstype, pid (NET_SOCKET) or source slot (USER_PARENT) */
	uint32_t c; /* descriptor number in the target (NET_SOCKET) */
	uint64_t ino; /* pidfs inode (CHECK_TARGET) */
	const char *s; /* path or file, NUL-terminated in `arena` */
};

static struct step steps[MAX_STEPS];
static uint32_t step_count;

static struct {
	int has_slots;
	uint32_t first_fd;
	uint32_t inherited;     /* slots 0..inherited-1 are fds first_fd.. */
	uint32_t defined;       /* slots 0..defined-1 exist (inherited ones plus SAVE_CWD/OPEN_LATE) */
	uint8_t closed[MAX_SLOTS]; /* closed by a CHROOT or CHDIR: no later record may use it */
	int fork_seen;
	int owner_seen;         /* a STAT_OWNER came before: SETGID/SETUID may use OWNER */
	int exec_phase;         /* 0 steps, 1 ARGs, 2 ENVs, 3 SEARCH_PATH */
	int exec_seen;
	uint32_t nargs, nenv;
	const char *search_path;
} plan;

/*
 * Strings are copied here and NUL-terminated. Each string record takes len + 8 bytes of body and
 * len + 1 bytes here, so a body of BODY_MAX bytes always fits.
 */
static char arena[BODY_MAX];
static size_t arena_used;

/*
 * argv and envp share one array: [0] is spare (for "/bin/sh" when a script has no #!), argv is
 * [1 .. nargs], [nargs+1] is NULL, envp starts at [nargs+2] and ends with NULL. The array is in
 * .bss, so every slot nobody writes is already NULL.
 */
static char *vec[MAX_STRINGS + 3];

static uint8_t header[HEADER_LEN];
static uint8_t body[BODY_MAX];
static uint32_t body_len;

/* ------------------------------------------------------------------------------------------ */
/* 2. The one error path.                                                                      */
/* ------------------------------------------------------------------------------------------ */

static enum { MODE_CHECK, MODE_RUN } mode;
static int channel = -1;

#ifdef NSCTL_FUZZ
/* The fuzzing seam (helper/fuzz/fuzz_plan.c, never in a release build): the fuzzer runs the
 * `--check` path in-process, input after input, so invalid() jumps back to it instead of exiting.
 * A new global that read_plan or validate_plan writes must be reset in fuzz_plan.c as well. */
#include <setjmp.h>
static jmp_buf fuzz_escape;
#endif

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* SIGPIPE stays blocked from here on: a closed reader must give EPIPE, never a signal death. We
 * only call this on the way out, so the blocked mask is never inherited by an exec'd program. */
static void block_sigpipe(void)
{
	sigset_t set;
	if (sigemptyset(&set) == 0 && sigaddset(&set, SIGPIPE) == 0)
		(void)sigprocmask(SIG_BLOCK, &set, NULL); /* nothing better to do if it fails */
}

/*
 * Tell nsctl what went wrong: "NSCE" | u16 step | u16 sub-op | i32 errno | u32 msg_len | msg.
 * TypeScript writes the sentence. If nsctl has gone away there is nobody to tell; we still exit
 * with the right code.
 */
static void send_reply(uint32_t step, uint32_t subop, int err, const char *msg)
{
	static uint8_t buf[REPLY_LEN + PATH_MAX];
	size_t msg_len = msg ? strnlen(msg, PATH_MAX) : 0;

	memcpy(buf, "NSCE", 4);
	put_u16(buf + 4, step);
	put_u16(buf + 6, subop);
	put_u32(buf + 8, (uint32_t)err);
	put_u32(buf + 12, (uint32_t)msg_len);
	if (msg_len > 0)
		memcpy(buf + REPLY_LEN, msg, msg_len);
	block_sigpipe();
	(void)write_full(channel, buf, REPLY_LEN + msg_len); /* nobody left to tell if this fails */
}

static _Noreturn void step_failed(uint32_t step, uint32_t subop, int err, int code)
{
	send_reply(step, subop, err, NULL);
	_exit(code);
}

static _Noreturn void setup_failed(int err, const char *what)
{
	send_reply(REPLY_NO_STEP, SUBOP_SETUP, err, what);
	_exit(EXIT_STEP_FAILED);
}

static _Noreturn void die_usage(const char *what)
{
	static const char prefix[] = "nsctl-helper: ";
	static const char usage[] = "\nusage: nsctl-helper run FD | nsctl-helper --check\n";
	block_sigpipe();
	(void)write_full(STDERR_FILENO, prefix, sizeof prefix - 1);
	(void)write_full(STDERR_FILENO, what, strlen(what));
	(void)write_full(STDERR_FILENO, usage, sizeof usage - 1);
	_exit(EXIT_USAGE);
}

/* An invalid plan: `--check` says why on stderr and exits 1; `run` replies and exits 125. The
 * reason texts are mirrored word for word by src/wire/decode.ts. */
__attribute__((format(printf, 2, 3))) static _Noreturn void invalid(int err, const char *fmt, ...)
{
	static char reason[256];
	static char line[300];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	if (n < 0)
		reason[0] = '\0';
#ifdef NSCTL_FUZZ
	longjmp(fuzz_escape, 1);
#endif
	if (mode == MODE_RUN) {
		send_reply(REPLY_NO_STEP, SUBOP_INVALID_PLAN, err, reason);
		_exit(EXIT_INVALID_PLAN);
	}
	n = snprintf(line, sizeof line, "nsctl-helper: invalid plan: %s\n", reason);
	block_sigpipe();
	if (n > 0)
		(void)write_full(STDERR_FILENO, line, strnlen(line, sizeof line));
	_exit(1);
}

/* ------------------------------------------------------------------------------------------ */
/* 3. Reading the plan: 16 header bytes, body_len body bytes, then EOF.                        */
/* ------------------------------------------------------------------------------------------ */

/* Reads until `want` bytes or EOF, retrying EINTR and short reads. Returns 0 or an errno. */
static int read_full(int fd, uint8_t *buf, size_t want, size_t *got)
{
	size_t n = 0;
	while (n < want) {
		ssize_t r = read(fd, buf + n, want - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*got = n;
			return errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*got = n;
	return 0;
}

static void read_plan(int fd)
{
	size_t got;
	uint8_t extra;
	int err;
	uint32_t version, flags, reserved;

	if ((err = read_full(fd, header, HEADER_LEN, &got)) != 0)
		invalid(err, "header: read failed with errno %d", err);
	if (got < HEADER_LEN)
		invalid(EINVAL, "header: got %zu of 16 bytes", got);
	version = get_u16(header + 4);
	flags = get_u16(header + 6);
	body_len = get_u32(header + 8);
	reserved = get_u32(header + 12);
	if (memcmp(header, "NSCP", 4) != 0)
		invalid(EINVAL, "header: bad magic (expected NSCP)");
	if (version != PLAN_VERSION)
		invalid(EINVAL, "header: unsupported version %u (this helper speaks 1)", version);
	if (flags != 0)
		invalid(EINVAL, "header: flags 0x%x must be 0", flags);
	if (body_len > BODY_MAX) /* checked before a single body byte is read */
		invalid(EINVAL, "header: body length %u exceeds 8388608", body_len);
	if (reserved != 0)
		invalid(EINVAL, "header: reserved field 0x%x must be 0", reserved);

	if ((err = read_full(fd, body, body_len, &got)) != 0)
		invalid(err, "body: read failed with errno %d", err);
	if (got < body_len)
		invalid(EINVAL, "body: got %zu of %u bytes", got, body_len);
	if ((err = read_full(fd, &extra, 1, &got)) != 0)
		invalid(err, "after the body: read failed with errno %d", err);
	if (got != 0)
		invalid(EINVAL, "trailing data after the body");
}

/* ------------------------------------------------------------------------------------------ */
/* 4. Validating the whole plan. Nothing here has a side effect outside this process's memory. */
/* ------------------------------------------------------------------------------------------ */

static const char *take_string(const uint8_t *p, uint32_t len)
{
	char *s = arena + arena_used;
	memcpy(s, p, len);
	s[len] = '\0';
	arena_used += (size_t)len + 1;
	return s;
}

static const char *namespace_name(uint32_t nstype)
{
	for (size_t i = 0; i < sizeof NAMESPACES / sizeof NAMESPACES[0]; i++)
		if (NAMESPACES[i].nstype == nstype)
			return NAMESPACES[i].name;
	return NULL;
}

/* A record that uses an existing slot. */
static void check_slot_use(uint32_t index, const char *name, uint32_t slot)
{
	if (slot >= plan.defined)
		invalid(EINVAL, "record %u (%s): slot %u is not defined (%u defined so far)", index, name,
			slot, plan.defined);
	if (plan.closed[slot])
		invalid(EINVAL, "record %u (%s): slot %u was closed by an earlier CHROOT or CHDIR", index,
			name, slot);
}

/* A record that creates a slot: it must take the next free number. */
static void check_slot_new(uint32_t index, const char *name, uint32_t slot)
{
	if (slot >= MAX_SLOTS)
		invalid(EINVAL, "record %u (%s): slot %u is beyond the 32-slot limit", index, name, slot);
	if (slot != plan.defined)
		invalid(EINVAL, "record %u (%s): new slot %u, expected %u", index, name, slot,
			plan.defined);
	plan.defined++;
}

static void validate_plan(void)
{
	uint32_t off = 0;
	uint32_t index = 0;

	for (;; index++) {
		uint32_t left = body_len - off;
		uint32_t type, flags, len, slot;
		const uint8_t *p;
		const struct record_info *info;
		struct step *st = NULL;
		const char *str = NULL;

		if (left == 0)
			invalid(EINVAL, "body ends after %u records without END", index);
		if (left < RECORD_HEADER_LEN)
			invalid(EINVAL, "record %u: only %u bytes left, a record header needs 8", index, left);
		type = get_u16(body + off);
		flags = get_u16(body + off + 2);
		len = get_u32(body + off + 4);
		left -= RECORD_HEADER_LEN;
		if (len > left)
			invalid(EINVAL, "record %u: length %u does not fit in the %u bytes left", index, len,
				left);
		if (type == 0 || type >= R_TYPE_COUNT)
			invalid(EINVAL, "record %u: unknown type %u", index, type);
		info = &RECORDS[type];
		if ((flags & ~(uint32_t)info->flags) != 0)
			invalid(EINVAL, "record %u (%s): unknown flag bits 0x%x", index, info->name,
				flags & ~(uint32_t)info->flags);
		if (info->len >= 0 && len != (uint32_t)info->len)
			invalid(EINVAL, "record %u (%s): length %u, expected %d", index, info->name, len,
				info->len);
		if (info->len == LEN_SLOT_STRING && len < 4)
			invalid(EINVAL, "record %u (%s): length %u, expected at least 4", index, info->name,
				len);
		p = body + off + RECORD_HEADER_LEN;
		off += RECORD_HEADER_LEN + len;
		left -= len;
		if (info->len < 0) {
			uint32_t skip = info->len == LEN_SLOT_STRING ? 4u : 0u;
			const uint8_t *nul = memchr(p + skip, 0, len - skip);
			if (nul)
				invalid(EINVAL, "record %u (%s): NUL byte in string at offset %u", index,
					info->name, (uint32_t)(nul - (p + skip)));
			str = take_string(p + skip, len - skip);
		}

		/* Sequencing: EXEC or EXEC_LOGIN_SHELL is the last step and END follows it at once. */
		if (plan.exec_seen && type != R_END)
			invalid(EINVAL, "record %u (%s): only END may follow EXEC", index, info->name);
		if (info->is_step && type != R_EXEC && type != R_EXEC_LOGIN_SHELL && plan.exec_phase != 0)
			invalid(EINVAL, "record %u (%s): a step cannot follow ARG, ENV or SEARCH_PATH", index,
				info->name);
		if (info->is_step) {
			if (step_count >= MAX_STEPS)
				invalid(EINVAL, "record %u (%s): more than 65535 steps", index, info->name);
			st = &steps[step_count];
			st->type = (uint16_t)type;
			st->flags = (uint16_t)flags;
		}

		switch (type) {
		case R_END:
			if (!plan.exec_seen)
				invalid(EINVAL, "record %u (end): no EXEC or EXEC_LOGIN_SHELL before END", index);
			if (left != 0)
				invalid(EINVAL, "record %u (end): %u bytes after END", index, left);
			return;
		case R_SLOTS:
			if (index != 0)
				invalid(EINVAL, "record %u (slots): SLOTS must be the first record", index);
			plan.first_fd = get_u32(p);
			plan.inherited = get_u32(p + 4);
			if (plan.inherited > MAX_INHERITED)
				invalid(EINVAL, "record %u (slots): count %u exceeds 16", index, plan.inherited);
			if (plan.first_fd < 3)
				invalid(EINVAL, "record %u (slots): first_fd %u is below 3", index, plan.first_fd);
			if ((uint64_t)plan.first_fd + plan.inherited > FD_LIMIT)
				invalid(EINVAL, "record %u (slots): first_fd %u is too large", index,
					plan.first_fd);
			plan.has_slots = 1;
			plan.defined = plan.inherited;
			break;
		case R_SETNS:
			slot = get_u32(p);
			check_slot_use(index, "setns", slot);
			st->a = slot;
			st->b = get_u32(p + 4);
			if (!namespace_name(st->b))
				invalid(EINVAL, "record %u (setns): unknown nstype 0x%x", index, st->b);
			break;
		case R_SETGROUPS:
			break;
		case R_SETGID:
		case R_SETUID:
			st->a = get_u32(p);
			if ((flags & FLAG_ID_OWNER) && st->a != 0)
				invalid(EINVAL, "record %u (%s): OWNER with id %u, expected 0", index,
					info->name, st->a);
			if ((flags & FLAG_ID_OWNER) && !plan.owner_seen)
				invalid(EINVAL, "record %u (%s): OWNER without an earlier STAT_OWNER", index,
					info->name);
			break;
		case R_CHECK_TARGET:
			st->a = get_u32(p);
			st->ino = (uint64_t)get_u32(p + 4) | (uint64_t)get_u32(p + 8) << 32;
			if (st->a == 0 || st->a > INT_MAX)
				invalid(EINVAL, "record %u (check-target): pid %u out of range", index, st->a);
			if (st->ino == 0)
				invalid(EINVAL, "record %u (check-target): inode 0", index);
			break;
		case R_NET_SOCKET:
			st->a = get_u32(p);
			st->b = get_u32(p + 4);
			st->c = get_u32(p + 8);
			if (st->b == 0 || st->b > INT_MAX)
				invalid(EINVAL, "record %u (net-socket): pid %u out of range", index, st->b);
			if (st->c > INT_MAX)
				invalid(EINVAL, "record %u (net-socket): fd %u out of range", index, st->c);
			check_slot_new(index, "net-socket", st->a);
			break;
		case R_USER_PARENT:
			st->a = get_u32(p);
			st->b = get_u32(p + 4);
			check_slot_use(index, "user-parent", st->b);
			check_slot_new(index, "user-parent", st->a);
			break;
		case R_JOIN_CGROUP:
		case R_STAT_OWNER:
			st->a = get_u32(p);
			check_slot_use(index, info->name, st->a);
			plan.closed[st->a] = 1;
			if (type == R_STAT_OWNER)
				plan.owner_seen = 1;
			break;
		case R_KEEP_CAPS:
			break;
		case R_SAVE_CWD:
			st->a = get_u32(p);
			check_slot_new(index, "save-cwd", st->a);
			break;
		case R_OPEN_LATE:
			st->a = get_u32(p);
			check_slot_new(index, "open-late", st->a);
			st->s = str;
			break;
		case R_CHROOT:
		case R_CHDIR:
			st->a = get_u32(p);
			check_slot_use(index, info->name, st->a);
			plan.closed[st->a] = 1;
			break;
		case R_FORK:
			if (plan.fork_seen)
				invalid(EINVAL, "record %u (fork): more than one FORK", index);
			plan.fork_seen = 1;
			break;
		case R_ARG:
		case R_ENV:
			if (type == R_ARG && plan.exec_phase > 1)
				invalid(EINVAL, "record %u (arg): ARG after ENV or SEARCH_PATH", index);
			if (type == R_ENV && plan.exec_phase > 2)
				invalid(EINVAL, "record %u (env): ENV after SEARCH_PATH", index);
			if (plan.nargs + plan.nenv >= MAX_STRINGS)
				invalid(EINVAL, "record %u (%s): more than 1000000 ARG and ENV records", index,
					info->name);
			if (type == R_ARG) {
				plan.exec_phase = 1;
				vec[1 + plan.nargs++] = (char *)str;
			} else {
				plan.exec_phase = 2;
				vec[plan.nargs + 2 + plan.nenv++] = (char *)str;
			}
			break;
		case R_SEARCH_PATH:
			if (plan.exec_phase == 3)
				invalid(EINVAL, "record %u (search-path): more than one SEARCH_PATH", index);
			plan.exec_phase = 3;
			plan.search_path = str;
			break;
		case R_EXEC:
			if (plan.nargs == 0)
				invalid(EINVAL, "record %u (exec): no ARG records (argv[0] is required)", index);
			st->s = str;
			plan.exec_seen = 1;
			break;
		case R_EXEC_LOGIN_SHELL:
			if (plan.nargs != 0)
				invalid(EINVAL, "record %u (exec-login-shell): ARG records are not allowed", index);
			if (plan.exec_phase == 3)
				invalid(EINVAL, "record %u (exec-login-shell): SEARCH_PATH is not allowed", index);
			st->s = str;
			plan.exec_seen = 1;
			break;
		}
		if (st)
			step_count++;
	}
}

/* Run mode only: every inherited slot must be an open descriptor, and none may be the channel. */
static void validate_slot_fds(void)
{
	for (uint32_t i = 0; i < plan.inherited; i++) {
		int fd = (int)(plan.first_fd + i);
		if (fd == channel)
			invalid(EINVAL, "slot %u is fd %d, which is the plan channel", i, fd);
		if (fcntl(fd, F_GETFD) < 0)
			invalid(errno, "slot %u: fd %d is not open", i, fd);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* 5. `--check`: the canonical dump. docs/plan-format.md §Dump; src/wire/dump.ts must match.   */
/* ------------------------------------------------------------------------------------------ */

static char out[65536];
static size_t out_len;

static void out_flush(void)
{
	if (write_full(STDOUT_FILENO, out, out_len) != 0) {
		static const char msg[] = "nsctl-helper: cannot write the dump to stdout\n";
		(void)write_full(STDERR_FILENO, msg, sizeof msg - 1);
		_exit(1);
	}
	out_len = 0;
}

static void out_bytes(const char *s, size_t n)
{
	while (n > 0) {
		size_t room = sizeof out - out_len;
		size_t k = n < room ? n : room;
		memcpy(out + out_len, s, k);
		out_len += k;
		s += k;
		n -= k;
		if (out_len == sizeof out)
			out_flush();
	}
}

__attribute__((format(printf, 1, 2))) static void out_fmt(const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0)
		out_bytes(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* "…" with printable ASCII as is, except \" and \\, and every other byte as \xHH. */
static void out_quoted(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	out_bytes("\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			out_bytes(e, 2);
		} else if (c >= 0x20 && c <= 0x7e) {
			out_bytes((const char *)&c, 1);
		} else {
			char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
			out_bytes(e, 4);
		}
	}
	out_bytes("\"", 1);
}

static void dump_plan(void)
{
	out_fmt("nscp %u\n", PLAN_VERSION);
	if (plan.has_slots)
		out_fmt("slots first_fd=%u count=%u\n", plan.first_fd, plan.inherited);
	for (uint32_t i = 0; i < step_count; i++) {
		const struct step *st = &steps[i];
		out_fmt("step %u %s", i, RECORDS[st->type].name);
		switch (st->type) {
		case R_SETNS:
			out_fmt(" slot=%u nstype=0x%08x %s %s", st->a, st->b, namespace_name(st->b),
				(st->flags & FLAG_SETNS_SOFT) ? "soft" : "hard");
			break;
		case R_SETGROUPS:
			out_fmt(" %s",
				(st->flags & FLAG_SETGROUPS_AFTER_SWITCH) ? "after-switch" : "before-switch");
			break;
		case R_SETGID:
		case R_SETUID:
			if (st->flags & FLAG_ID_OWNER)
				out_fmt(" owner");
			else
				out_fmt(" %u", st->a);
			break;
		case R_CHECK_TARGET:
			out_fmt(" pid=%u inode=%llu", st->a, (unsigned long long)st->ino);
			break;
		case R_NET_SOCKET:
			out_fmt(" slot=%u pid=%u fd=%u", st->a, st->b, st->c);
			break;
		case R_USER_PARENT:
			out_fmt(" slot=%u from=%u", st->a, st->b);
			break;
		case R_SAVE_CWD:
		case R_CHROOT:
		case R_CHDIR:
		case R_JOIN_CGROUP:
		case R_STAT_OWNER:
			out_fmt(" slot=%u", st->a);
			break;
		case R_OPEN_LATE:
			out_fmt(" slot=%u ", st->a);
			out_quoted(st->s);
			break;
		case R_EXEC:
		case R_EXEC_LOGIN_SHELL:
			out_bytes(" ", 1);
			out_quoted(st->s);
			break;
		}
		out_bytes("\n", 1);
	}
	for (uint32_t i = 0; i < plan.nargs; i++) {
		out_bytes("  arg ", 6);
		out_quoted(vec[1 + i]);
		out_bytes("\n", 1);
	}
	for (uint32_t i = 0; i < plan.nenv; i++) {
		out_bytes("  env ", 6);
		out_quoted(vec[plan.nargs + 2 + i]);
		out_bytes("\n", 1);
	}
	if (plan.search_path) {
		out_bytes("  search-path ", 14);
		out_quoted(plan.search_path);
		out_bytes("\n", 1);
	}
	out_bytes("end\n", 4);
	out_flush();
}

/* ------------------------------------------------------------------------------------------ */
/* 6. The steps.                                                                               */
/* ------------------------------------------------------------------------------------------ */

static int slot_fd[MAX_SLOTS];
static uint8_t joined[MAX_SLOTS]; /* a setns of this slot succeeded; later joins are skipped */
static int setgroups_failed_before_switch;
static uid_t owner_uid; /* what STAT_OWNER read; validation guarantees it ran before any use */
static gid_t owner_gid;

/* close(2) errors are not actionable on Linux: the descriptor is released either way, and
 * retrying can close someone else's (close(2), "Dealing with error returns"). */
static void close_slot(uint32_t slot)
{
	if (slot_fd[slot] >= 0) {
		(void)close(slot_fd[slot]);
		slot_fd[slot] = -1;
	}
}

static void close_all_slots(void)
{
	for (uint32_t i = 0; i < plan.defined; i++)
		close_slot(i);
}

static void prepare_slots(void)
{
	for (uint32_t i = 0; i < MAX_SLOTS; i++)
		slot_fd[i] = -1;
	for (uint32_t i = 0; i < plan.inherited; i++) {
		int fd = (int)(plan.first_fd + i);
		int fl = fcntl(fd, F_GETFD);
		if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
			setup_failed(errno, "fcntl(FD_CLOEXEC) on a slot");
		slot_fd[i] = fd;
	}
}

/* The parent after FORK: mirrors the child, and passes these signals on to it. */
static volatile pid_t child_pid;

/*
 * Upstream nsenter does not forward signals: `kill -TERM <nsenter>` kills only the parent and the
 * child keeps running (nsenter-behaviour.md §8). We forward them deliberately, so that a signal
 * sent to the pid nsctl knows about reaches the program. Signals the kernel generated (Ctrl-C,
 * Ctrl-\, a window resize: si_code SI_KERNEL) reach the child through the process group already,
 * so only signals sent by a process are passed on; the child never gets a second copy.
 */
static const int FORWARDED[] = {SIGHUP,  SIGINT,  SIGQUIT,  SIGTERM, SIGUSR1,
				SIGUSR2, SIGALRM, SIGWINCH, SIGCONT};

static void forward_signal(int sig, siginfo_t *info, void *context)
{
	int saved = errno;
	(void)context;
	if (child_pid > 0 && info->si_code != SI_KERNEL)
		(void)kill(child_pid, sig); /* the child may be gone already */
	errno = saved;
}

static _Noreturn void mirror_child(pid_t pid)
{
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WUNTRACED | WCONTINUED);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			_exit(EXIT_STEP_FAILED);
		}
		if (WIFCONTINUED(status))
			continue;
		if (WIFSTOPPED(status)) {
			/* Ctrl-Z stops the whole job, us included, and `fg` continues the whole job: the
			 * child's stop can be stale by the time we read it. Stopping then would stop the
			 * job a second time, so look for a newer event first. */
			int later;
			r = waitpid(pid, &later, WNOHANG | WCONTINUED);
			if (r == pid && WIFCONTINUED(later))
				continue;
			if (r == pid)
				status = later;
			else {
				/* Stop with the child; when someone continues us, continue it (upstream's
				 * continue_as_child). If raise fails we simply continue the child. */
				(void)raise(SIGSTOP);
				(void)kill(pid, SIGCONT);
				continue;
			}
		}
		if (WIFEXITED(status))
			_exit(WEXITSTATUS(status));
		if (WIFSIGNALED(status)) {
			int sig = WTERMSIG(status);
			struct sigaction dfl;
			sigset_t set;
			memset(&dfl, 0, sizeof dfl);
			dfl.sa_handler = SIG_DFL;
			/* SIGKILL has no action to reset (EINVAL), and needs none. */
			(void)sigaction(sig, &dfl, NULL);
			if (sigemptyset(&set) == 0 && sigaddset(&set, sig) == 0 &&
			    sigprocmask(SIG_UNBLOCK, &set, NULL) == 0)
				(void)raise(sig);
			/* Still alive (the signal cannot kill us, e.g. SIGCHLD): upstream exits 1. */
			_exit(EXIT_STEP_FAILED);
		}
	}
}

/*
 * nsenter without a fork *is* the program, so killing it kills the program. nsctl has processes
 * above the program; if one is killed outright (SIGKILL), the one below must not live on as an
 * orphan. The setting survives execve, but a fork clears it, and so does any change of
 * credentials (setns into a user namespace, setgid, setuid: prctl(2)), so it is set at start,
 * in the forked child, and once more right before exec. A parent that died already shows as a
 * getppid other than the one we started under.
 */
static pid_t expected_parent;

static void die_with_parent(uint32_t index)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		step_failed(index, 0, errno, EXIT_STEP_FAILED);
	if (getppid() != expected_parent)
		_exit(EXIT_STEP_FAILED);
}

static void fork_step(uint32_t index)
{
	struct sigaction sa;
	sigset_t forwarded, old;
	pid_t pid;

	/* An inherited SIG_IGN for SIGCHLD would make waitpid fail (upstream resets it too). */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	if (sigaction(SIGCHLD, &sa, NULL) != 0)
		step_failed(index, 0, errno, EXIT_STEP_FAILED);

	/* Block the forwarded signals across fork, so none arrives before the parent's handlers are
	 * in place; the child gets the old mask back. */
	if (sigemptyset(&forwarded) != 0)
		step_failed(index, 0, errno, EXIT_STEP_FAILED);
	for (size_t i = 0; i < sizeof FORWARDED / sizeof FORWARDED[0]; i++)
		if (sigaddset(&forwarded, FORWARDED[i]) != 0)
			step_failed(index, 0, errno, EXIT_STEP_FAILED);
	if (sigprocmask(SIG_BLOCK, &forwarded, &old) != 0)
		step_failed(index, 0, errno, EXIT_STEP_FAILED);

	pid = fork();
	if (pid < 0)
		step_failed(index, 0, errno, EXIT_STEP_FAILED);
	if (pid == 0) {
		if (sigprocmask(SIG_SETMASK, &old, NULL) != 0)
			step_failed(index, 0, errno, EXIT_STEP_FAILED);
		/* Read, not computed: our parent is outside our new PID namespace, where getppid()
		 * gives 0, and an orphan would see its namespace's init instead. */
		expected_parent = getppid();
		die_with_parent(index);
		return; /* the child carries on with the remaining steps */
	}

	child_pid = pid;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = forward_signal;
	sa.sa_flags = SA_RESTART | SA_SIGINFO;
	if (sigemptyset(&sa.sa_mask) != 0)
		goto no_handlers;
	for (size_t i = 0; i < sizeof FORWARDED / sizeof FORWARDED[0]; i++)
		if (sigaction(FORWARDED[i], &sa, NULL) != 0)
			goto no_handlers;

	/* The child owns the channel and the slots now; a reply comes from it, not from us. */
	(void)close(channel); /* see close_slot for why close errors are ignored */
	close_all_slots();
	if (sigprocmask(SIG_SETMASK, &old, NULL) != 0)
		_exit(EXIT_STEP_FAILED);
	mirror_child(pid);

no_handlers : {
	int err = errno;
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
	step_failed(index, 0, err, EXIT_STEP_FAILED);
}
}

/* ------------------------------------------------------------------------------------------ */
/* 7. Exec.                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* `path`: only for the login shell, whose path nsctl cannot know (it came from the new root's
 * /etc/passwd); the reply carries it so the message names it, as upstream's does. */
static _Noreturn void exec_failed(uint32_t index, int err, const char *path)
{
	send_reply(index, 0, err, path);
	_exit(err == ENOENT ? EXIT_EXEC_NOT_FOUND : EXIT_EXEC_FAILED);
}

/* execve, and on ENOEXEC run the file with /bin/sh as glibc's execvp does (argv[0] dropped). */
static void execve_or_script(const char *path, char **envp)
{
	char *saved;
	int err;

	execve(path, vec + 1, envp);
	if (errno != ENOEXEC)
		return;
	saved = vec[1];
	vec[0] = (char *)"/bin/sh";
	vec[1] = (char *)path;
	execve("/bin/sh", vec, envp);
	err = errno;
	vec[1] = saved;
	errno = err;
}

static char search_buf[PATH_MAX + NAME_MAX + 2];

/*
 * glibc execvp(3) semantics over the plan's search list: an empty element means the current
 * directory; EACCES is remembered and the search goes on; ENOENT, ENOTDIR, ESTALE, ENODEV and
 * ETIMEDOUT go on; any other error stops. One difference: glibc retries a too-long element as if it
 * were empty; we skip it.
 */
static _Noreturn void exec_step(uint32_t index, const struct step *st)
{
	char **envp = vec + plan.nargs + 2;
	const char *file = st->s;
	const char *p;
	size_t file_len;
	int got_eacces = 0;

	die_with_parent(index);
	close_all_slots();
	if (!plan.search_path) {
		execve(file, vec + 1, envp);
		exec_failed(index, errno, NULL);
	}
	if (file[0] == '\0')
		exec_failed(index, ENOENT, NULL);
	if (strchr(file, '/')) {
		execve_or_script(file, envp);
		exec_failed(index, errno, NULL);
	}
	file_len = strlen(file);
	if (file_len > NAME_MAX)
		exec_failed(index, ENAMETOOLONG, NULL);
	p = plan.search_path;
	for (;;) {
		const char *end = strchrnul(p, ':');
		size_t elen = (size_t)(end - p);
		if (elen < PATH_MAX) {
			char *q = search_buf;
			memcpy(q, p, elen);
			q += elen;
			if (elen > 0)
				*q++ = '/';
			memcpy(q, file, file_len + 1);
			execve_or_script(search_buf, envp);
			switch (errno) {
			case EACCES:
				got_eacces = 1;
				break;
			case ENOENT:
			case ESTALE:
			case ENOTDIR:
			case ENODEV:
			case ETIMEDOUT:
				break;
			default:
				exec_failed(index, errno, NULL);
			}
		}
		if (*end == '\0')
			break;
		p = end + 1;
	}
	exec_failed(index, got_eacces ? EACCES : ENOENT, NULL);
}

static char passwd[PASSWD_MAX + 1];
static char login_argv0[PASSWD_MAX + 2];

/* Strict decimal: digits only, fits in 32 bits. */
static int parse_u32(const char *s, size_t n, uint32_t *out_value)
{
	uint64_t v = 0;
	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*out_value = (uint32_t)v;
	return 0;
}

/*
 * The shell of `uid` in this root's /etc/passwd (the first line with that uid, as getpwuid would
 * find with the "files" service), or NULL. We read at most PASSWD_MAX bytes; a longer file is
 * searched up to its last whole line within that. NSS services other than files are not consulted.
 */
static const char *passwd_shell(uid_t uid)
{
	size_t got, pos = 0;
	int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return NULL;
	err = read_full(fd, (uint8_t *)passwd, PASSWD_MAX, &got);
	(void)close(fd); /* read-only file: nothing to lose */
	if (err != 0)
		return NULL;
	if (got == PASSWD_MAX)
		while (got > 0 && passwd[got - 1] != '\n')
			got--;
	passwd[got] = '\0';
	while (pos < got) {
		char *line = passwd + pos;
		char *nl = memchr(line, '\n', got - pos);
		size_t line_len = nl ? (size_t)(nl - line) : got - pos;
		char *field[7];
		size_t nfield = 1;
		uint32_t line_uid;

		pos += line_len + 1;
		field[0] = line;
		for (size_t i = 0; i < line_len && nfield < 7; i++)
			if (line[i] == ':')
				field[nfield++] = line + i + 1;
		if (nfield < 7)
			continue;
		if (parse_u32(field[2], (size_t)(field[3] - 1 - field[2]), &line_uid) != 0 ||
		    line_uid != uid)
			continue;
		line[line_len] = '\0'; /* the shell is the rest of the line */
		return field[6][0] ? field[6] : NULL;
	}
	return NULL;
}

/* Upstream 2.42 with no program and no $SHELL: the passwd shell of the current uid, looked up
 * after chroot and setuid, else the fallback, started as a login shell. */
static _Noreturn void exec_login_shell_step(uint32_t index, const struct step *st)
{
	char **envp = vec + 2; /* no ARG records: argv is empty, envp starts at [2] */
	const char *shell, *base;
	char *argv[2];

	die_with_parent(index);
	close_all_slots();
	shell = passwd_shell(getuid());
	if (!shell)
		shell = st->s;
	/* execve fails a path of PATH_MAX bytes or more with ENAMETOOLONG before it looks at argv;
	 * failing here first keeps a long fallback (up to 8 MiB) out of login_argv0 (1 MiB). */
	if (strlen(shell) >= PATH_MAX)
		exec_failed(index, ENAMETOOLONG, NULL);
	base = strrchr(shell, '/');
	base = base ? base + 1 : shell;
	login_argv0[0] = '-';
	memcpy(login_argv0 + 1, base, strlen(base) + 1);
	argv[0] = login_argv0;
	argv[1] = NULL;
	execve(shell, argv, envp);
	exec_failed(index, errno, shell);
}

/*
 * A change of credentials (setuid, setgid, a setns into a user namespace we do not own) resets
 * "dumpable" to fs.suid_dumpable (prctl(2), PR_SET_DUMPABLE). Where an administrator set that to 1,
 * the target's uid could then ptrace us while we still hold the caller's descriptors: set it again.
 */
static void stay_undumpable(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		setup_failed(errno, "prctl(PR_SET_DUMPABLE)");
}

/* `-t PID:INODE`: the process now holding PID must be the one whose pidfs inode the user named
 * (a recycled PID is refused with ESRCH, as upstream). Sub-op 1: the fstat of the pidfd. */
static void check_target_step(uint32_t index, const struct step *st)
{
	struct statfs sfs;
	struct stat sb;
	int err = 0;
	int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)st->a, 0u);

	if (pidfd < 0)
		step_failed(index, 0, errno, EXIT_STEP_FAILED);
	if (fstatfs(pidfd, &sfs) != 0)
		err = errno;
	else if (sfs.f_type != PIDFS_MAGIC)
		err = ENOTSUP; /* a kernel without pidfs: no inode to compare */
	else if (fstat(pidfd, &sb) != 0) {
		err = errno;
		(void)close(pidfd);
		step_failed(index, 1, err, EXIT_STEP_FAILED);
	} else if ((uint64_t)sb.st_ino != st->ino)
		err = ESRCH;
	(void)close(pidfd);
	if (err != 0)
		step_failed(index, 0, err, EXIT_STEP_FAILED);
}

/* `-N FD`: the network namespace of socket FD in process pid, into a new slot. Sub-ops:
 * 1 pidfd_open, 2 pidfd_getfd, 3 ioctl(SIOCGSKNS). Both new descriptors are close-on-exec. */
static void net_socket_step(uint32_t index, const struct step *st)
{
	int err, sock, ns;
	int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)st->b, 0u);

	if (pidfd < 0)
		step_failed(index, 1, errno, EXIT_STEP_FAILED);
	sock = (int)syscall(SYS_pidfd_getfd, pidfd, (int)st->c, 0u);
	err = errno;
	(void)close(pidfd);
	if (sock < 0)
		step_failed(index, 2, err, EXIT_STEP_FAILED);
	ns = ioctl(sock, SIOCGSKNS);
	err = errno;
	(void)close(sock);
	if (ns < 0)
		step_failed(index, 3, err, EXIT_STEP_FAILED);
	slot_fd[st->a] = ns;
}

/* `--keep-caps`: inheritable = permitted, then each effective capability the kernel knows
 * (PR_CAPBSET_READ fails beyond cap_last_cap) raised into the ambient set. Sub-ops: 1 capget,
 * 2 capset, 3 prctl(PR_CAP_AMBIENT). Raw syscalls, no libcap. */
static void keep_caps_step(uint32_t index)
{
	struct {
		uint32_t version;
		int pid;
	} cap_header = {CAP_VERSION_3, 0};
	struct {
		uint32_t effective, permitted, inheritable;
	} data[2];
	uint64_t effective;

	memset(data, 0, sizeof data);
	if (syscall(SYS_capget, &cap_header, data) != 0)
		step_failed(index, 1, errno, EXIT_STEP_FAILED);
	data[0].inheritable = data[0].permitted;
	data[1].inheritable = data[1].permitted;
	if (syscall(SYS_capset, &cap_header, data) != 0)
		step_failed(index, 2, errno, EXIT_STEP_FAILED);
	effective = (uint64_t)data[1].effective << 32 | data[0].effective;
	for (unsigned long cap = 0; cap < 64; cap++) {
		if (!(effective & (UINT64_C(1) << cap)))
			continue;
		if (prctl(PR_CAPBSET_READ, cap, 0UL, 0UL, 0UL) < 0)
			continue; /* beyond the kernel's last capability */
		if (prctl(PR_CAP_AMBIENT, (unsigned long)PR_CAP_AMBIENT_RAISE, cap, 0UL, 0UL) != 0)
			step_failed(index, 3, errno, EXIT_STEP_FAILED);
	}
}

/* `-c`: our pid, in decimal, into the cgroup.procs descriptor. */
static void join_cgroup_step(uint32_t index, const struct step *st)
{
	char buf[24];
	int n = snprintf(buf, sizeof buf, "%ld", (long)getpid());

	if (n <= 0 || write_full(slot_fd[st->a], buf, (size_t)n) != 0)
		step_failed(index, 0, n <= 0 ? EINVAL : errno, EXIT_STEP_FAILED);
	close_slot(st->a);
}

static _Noreturn void run_steps(void)
{
	/* Nothing inside a joined namespace may ptrace us or read our memory while we still hold the
	 * caller's descriptors (CVE-2016-9962). execve resets this for the program. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		setup_failed(errno, "prctl(PR_SET_DUMPABLE)");

	for (uint32_t i = 0; i < step_count; i++) {
		const struct step *st = &steps[i];
		int fd;
		switch (st->type) {
		case R_SETNS:
			if (joined[st->a])
				break;
			if (setns(slot_fd[st->a], (int)st->b) != 0) {
				if (st->flags & FLAG_SETNS_SOFT)
					break;
				step_failed(i, 0, errno, EXIT_STEP_FAILED);
			}
			joined[st->a] = 1;
			close_slot(st->a);
			stay_undumpable();
			break;
		case R_SETGROUPS:
			if (setgroups(0, NULL) != 0) {
				if (!(st->flags & FLAG_SETGROUPS_AFTER_SWITCH))
					setgroups_failed_before_switch = 1;
				else if (setgroups_failed_before_switch)
					step_failed(i, 0, errno, EXIT_STEP_FAILED);
			}
			break;
		case R_SETGID:
			if (setgid((st->flags & FLAG_ID_OWNER) ? owner_gid : (gid_t)st->a) != 0)
				step_failed(i, 0, errno, EXIT_STEP_FAILED);
			stay_undumpable();
			break;
		case R_SETUID:
			if (setuid((st->flags & FLAG_ID_OWNER) ? owner_uid : (uid_t)st->a) != 0)
				step_failed(i, 0, errno, EXIT_STEP_FAILED);
			stay_undumpable();
			break;
		case R_CHECK_TARGET:
			check_target_step(i, st);
			break;
		case R_NET_SOCKET:
			net_socket_step(i, st);
			break;
		case R_USER_PARENT:
			fd = ioctl(slot_fd[st->b], NS_GET_USERNS);
			if (fd < 0)
				step_failed(i, 0, errno, EXIT_STEP_FAILED);
			slot_fd[st->a] = fd;
			break;
		case R_JOIN_CGROUP:
			join_cgroup_step(i, st);
			break;
		case R_STAT_OWNER: {
			struct stat sb;
			if (fstat(slot_fd[st->a], &sb) != 0)
				step_failed(i, 0, errno, EXIT_STEP_FAILED);
			owner_uid = sb.st_uid;
			owner_gid = sb.st_gid;
			close_slot(st->a);
			break;
		}
		case R_KEEP_CAPS:
			keep_caps_step(i);
			break;
		case R_SAVE_CWD:
		case R_OPEN_LATE:
			fd = open(st->type == R_SAVE_CWD ? "." : st->s, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				step_failed(i, 0, errno, EXIT_STEP_FAILED);
			slot_fd[st->a] = fd;
			break;
		case R_CHROOT:
			if (fchdir(slot_fd[st->a]) != 0)
				step_failed(i, 1, errno, EXIT_STEP_FAILED);
			if (chroot(".") != 0)
				step_failed(i, 2, errno, EXIT_STEP_FAILED);
			if (chdir("/") != 0)
				step_failed(i, 3, errno, EXIT_STEP_FAILED);
			close_slot(st->a);
			break;
		case R_CHDIR:
			if (fchdir(slot_fd[st->a]) != 0)
				step_failed(i, 0, errno, EXIT_STEP_FAILED);
			close_slot(st->a);
			break;
		case R_FORK:
			fork_step(i);
			break;
		case R_EXEC:
			exec_step(i, st);
		case R_EXEC_LOGIN_SHELL:
			exec_login_shell_step(i, st);
		}
	}
	/* Unreachable: validation guarantees the last step is an exec. */
	setup_failed(EINVAL, "plan ended without exec");
}

/* ------------------------------------------------------------------------------------------ */
/* 8. main                                                                                     */
/* ------------------------------------------------------------------------------------------ */

#ifndef NSCTL_FUZZ /* the fuzzer brings its own main (libFuzzer) */
int main(int argc, char **argv)
{
	uint32_t fd;
	int fl;

	if (argc == 2 && strcmp(argv[1], "--check") == 0) {
		mode = MODE_CHECK;
		block_sigpipe(); /* we never exec in this mode */
		read_plan(STDIN_FILENO);
		validate_plan();
		dump_plan();
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "run") != 0)
		die_usage("expected 'run FD' or '--check'");

	if (parse_u32(argv[2], strlen(argv[2]), &fd) != 0 || (argv[2][0] == '0' && argv[2][1]) ||
	    fd < 3 || fd > INT_MAX)
		die_usage("FD must be a decimal number, at least 3");
	mode = MODE_RUN;
	fl = fcntl((int)fd, F_GETFD);
	if (fl < 0 || fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		die_usage("FD is not an open descriptor");
	if (isatty((int)fd))
		die_usage("FD is a terminal, not the plan channel");
	channel = (int)fd;
	expected_parent = getppid();
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		setup_failed(errno, "prctl(PR_SET_PDEATHSIG)");
	if (getppid() != expected_parent)
		_exit(EXIT_STEP_FAILED);

	read_plan(channel);
	validate_plan();
	validate_slot_fds();
	prepare_slots();
	run_steps();
}
#endif
