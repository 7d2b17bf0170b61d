/*
 * The plan as the helper holds it, and the pure decoder that builds it (decode.c).
 *
 * docs/plan-format.md is the contract; src/kernel/frames.ts is the same record table in
 * TypeScript, and test/support/wire-model.ts is a second decoder the tests hold this one to.
 *
 * Decoding is pure: it reads bytes and writes only into the `struct plan` or `struct query` it is
 * given (no system call, no global). That is what lets the fuzzer (helper/fuzz/fuzz_plan.c) link
 * decode.c alone and call it input after input.
 */
#ifndef NSCTL_PLAN_H
#define NSCTL_PLAN_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION 2u
#define HEADER_LEN 16u
#define RECORD_HEADER_LEN 8u
#define PLAN_BODY_MAX (8u * 1024u * 1024u)
#define QUERY_BODY_MAX (64u * 1024u)
#define MAX_SLOTS 64u
#define MAX_STEPS 65535u
#define MAX_LIST_STRINGS 1000000u
#define MAX_QUERY_RECORDS 64u
#define SLOT_NONE 0xffffffffu /* `base`: the current directory; `opt-slot`: no slot */

enum record_type {
	R_END = 1,
	R_OPEN = 2,
	R_PIDFD = 3,
	R_CHECK_START = 4,
	R_CHECK_INODE = 5,
	R_PIDFD_GETFD = 6,
	R_SOCKET_NETNS = 7,
	R_NS_OWNER = 8,
	R_SETNS = 9,
	R_SETGROUPS = 10,
	R_SETGID = 11,
	R_SETUID = 12,
	R_STAT_OWNER = 13,
	R_FCHDIR = 14,
	R_CHROOT = 15,
	R_CHDIR = 16,
	R_ENVIRON = 17,
	R_JOIN_CGROUP = 18,
	R_FORK = 19,
	R_KEEP_CAPS = 20,
	R_EXEC = 21,
	R_EXEC_LOGIN_SHELL = 22,
	R_PTY = 23,
	/* 24–29: the --host-tools view (mounts.c). */
	R_OPEN_TREE = 24,
	R_UNSHARE_MNT = 25,
	R_MAKE_PRIVATE = 26,
	R_MOVE_MOUNT = 27,
	R_MOUNT_PROC = 28,
	R_CHDIR_IN = 29,
	R_EXEC_CONTEXT = 30, /* plan record types are those of the table in decode.c, no others */
	R_NS_FACTS_QUERY = 100,
	R_NS_FACTS_ANSWER = 101,
};

/* Flag bits, named as in the record table (flag i is bit 1 << i). */
#define F_OPEN_SOFT_DENIED 1u
#define F_SETNS_SOFT 1u
#define F_SETGROUPS_AFTER_SWITCH 1u
#define F_ID_OWNER 1u /* setgid, setuid */
#define F_ENVIRON_LATE 1u
#define F_TARGET_ENV 1u /* exec, exec-login-shell */
#define F_PTY_DEVPTS 1u

enum open_how { HOW_READ = 0, HOW_DIRECTORY = 1, HOW_APPEND = 2 };

/* A `str`: NUL-terminated in the plan's arena (the wire forbids NUL inside). */
struct str {
	const char *s;
	uint32_t len;
};

/* A `list`: v[0 .. n-1] are the strings, v[n] is NULL and v[-1] is a spare slot (exec.c puts
 * "/bin/sh" there to run a script without #!, as execvp does). */
struct list {
	char **v;
	uint32_t n;
};

/* One step: its type, flags, the fields of its type by name, and its failure texts. */
struct step {
	uint16_t type;
	uint16_t flags;
	union {
		struct { uint32_t slot, at, how; struct str path; } open;
		struct { uint32_t slot, pid; } pidfd;
		struct { uint32_t proc; uint64_t start; } check_start;
		struct { uint32_t pidfd; uint64_t inode; } check_inode;
		struct { uint32_t slot, pidfd, fd; } pidfd_getfd;
		struct { uint32_t slot, socket; } socket_netns;
		struct { uint32_t slot, of; } ns_owner;
		struct { uint32_t fd, mask; } setns;
		struct { uint32_t id; } setid;       /* setgid, setuid */
		struct { uint32_t slot; } on;        /* stat-owner, fchdir, join-cgroup */
		struct { struct str path; } dir;     /* chroot, chdir, make-private, mount-proc */
		struct { uint32_t fd, proc; struct list drop; struct str note; } environ;
		struct { struct str file; struct list argv, env; } exec;
		struct { struct str fallback; struct list env; } login;
		struct { uint32_t dir; struct str name; } pty;
		struct { uint32_t proc; struct str current, exec; } context;
		struct { uint32_t slot, at; struct str path; } open_tree;
		struct { uint32_t from; struct str path; } move_mount;
		struct { uint32_t at; struct str path; } chdir_in;
	};
	struct str texts[3]; /* in the order of the record table's `texts` */
	struct str hint;
};

/* Which failure text of a step: the index into `texts`, by the names in the record table. */
enum {
	TEXT_WHAT = 0,
	TEXT_CHECK_INODE_STAT = 0, TEXT_CHECK_INODE_WHAT = 1,
	TEXT_ENVIRON_OPEN = 0, TEXT_ENVIRON_GET = 1, TEXT_ENVIRON_SET = 2,
	TEXT_CAPGET = 0, TEXT_CAPSET = 1, TEXT_AMBIENT = 2,
	TEXT_CONTEXT_GET = 0, TEXT_CONTEXT_SET = 1,
	TEXT_PTY_OPEN = 0, TEXT_PTY_WHAT = 1, TEXT_PTY_RELAY = 2,
};

/*
 * A decoded, valid plan. Strings are copied into `arena` and NUL-terminated; lists point into
 * `ptrs`. Each `str` costs at least 4 body bytes more than its arena bytes, and each list string
 * likewise, so a body of PLAN_BODY_MAX bytes always fits. The steps end with an exec; END is not
 * a step.
 */
struct plan {
	uint32_t nsteps;
	struct step steps[MAX_STEPS];
	size_t arena_used;
	char arena[PLAN_BODY_MAX];
	size_t ptrs_used;
	char *ptrs[MAX_LIST_STRINGS + 2u * (MAX_STEPS + 1u)];
};

/* Why a frame was rejected: the exact text docs/plan-format.md gives, without a prefix. */
struct reason {
	char text[320];
};

/* The record table (decode.c), which dump.c also walks. */
enum field_kind { K_U32, K_U64, K_NEW, K_SLOT, K_BASE, K_OPT_SLOT, K_MASK, K_STR, K_LIST, K_ENUM };

struct field_spec {
	const char *name;
	enum field_kind kind;
	uint16_t offset;                 /* where in struct step the value lives */
	const char *const *enum_names;   /* K_ENUM only, NULL-terminated */
};

struct record_spec {
	uint16_t type;
	const char *name;
	const char *flags[1];            /* flag names by bit; NULL where unused */
	uint8_t nfields;
	struct field_spec fields[4];
	uint8_t ntexts;                  /* failure texts after the fields (then the hint) */
	const char *texts[3];
	int is_step;
};

const struct record_spec *record_spec(uint16_t type);

/* CLONE_NEW* bits in the table order of src/kernel/namespaces.ts. */
struct namespace_bit {
	uint32_t bit;
	const char *name;
};
extern const struct namespace_bit NAMESPACE_BITS[8];
#define NAMESPACE_MASK 0x7e020080u

/*
 * Header (16 bytes, all present): 0, or -1 with the reason. `magic` is "NSCP" or "NSCQ", `max`
 * the largest body. On success *body_len is the body length.
 */
int check_header(const uint8_t header[HEADER_LEN], const char *magic, uint32_t max, uint32_t *body_len,
		 struct reason *why);

/* A plan body of `len` bytes: 0 and a filled `plan`, or -1 with the reason. */
int decode_plan_body(const uint8_t *body, uint32_t len, struct plan *plan, struct reason *why);

/*
 * A whole plan frame as `--check` reads it: everything up to EOF. The same texts as the
 * streaming reader (main.c, planner.c), which reads the header, checks it, then the body.
 */
int decode_plan_frame(const uint8_t *bytes, size_t len, struct plan *plan, struct reason *why);

/* A query body: the namespace files it asks about, NUL-terminated in `arena`. */
struct query {
	uint32_t n;
	const char *paths[MAX_QUERY_RECORDS];
	size_t arena_used;
	char arena[QUERY_BODY_MAX];
};

int decode_query_body(const uint8_t *body, uint32_t len, struct query *query, struct reason *why);
/* A query frame: at least its header and body (what follows is the next frame's). */
int decode_query_frame(const uint8_t *bytes, size_t len, struct query *query, struct reason *why);

/* Little-endian, byte by byte. */
static inline uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static inline void put_u16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v & 0xffu);
	p[1] = (uint8_t)((v >> 8) & 0xffu);
}

static inline void put_u32(uint8_t *p, uint32_t v)
{
	put_u16(p, v & 0xffffu);
	put_u16(p + 2, v >> 16);
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)(v & 0xffffffffu));
	put_u32(p + 4, (uint32_t)(v >> 32));
}

#endif
