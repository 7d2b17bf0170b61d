/*
 * Decoding and validating a frame (docs/plan-format.md, "Frames" and "Validation"): the record
 * table, then the checks in the contract's order, each failure with the contract's text.
 *
 * Pure: no system call and no global state. Everything decoded goes into the `struct plan` or
 * `struct query` the caller passes; everything else lives on the stack for one call.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "plan.h"

/* ---- The record table: src/kernel/frames.ts, row for row -------------------------------- */

#define AT(member) ((uint16_t)offsetof(struct step, member))

static const char *const HOW_NAMES[] = {"read", "directory", "append", NULL};

static const struct record_spec RECORDS[] = {
	{R_END, "end", {NULL}, 0, {{0}}, 0, {NULL}, 0},
	{R_OPEN, "open", {"soft-denied"}, 4,
	 {{"slot", K_NEW, AT(open.slot), NULL},
	  {"at", K_BASE, AT(open.at), NULL},
	  {"how", K_ENUM, AT(open.how), HOW_NAMES},
	  {"path", K_STR, AT(open.path), NULL}},
	 1, {"what"}, 1},
	{R_PIDFD, "pidfd", {NULL}, 2, {{"slot", K_NEW, AT(pidfd.slot), NULL}, {"pid", K_U32, AT(pidfd.pid), NULL}},
	 1, {"what"}, 1},
	{R_CHECK_START, "check-start", {NULL}, 2,
	 {{"proc", K_SLOT, AT(check_start.proc), NULL}, {"start", K_U64, AT(check_start.start), NULL}},
	 1, {"what"}, 1},
	{R_CHECK_INODE, "check-inode", {NULL}, 2,
	 {{"pidfd", K_SLOT, AT(check_inode.pidfd), NULL}, {"inode", K_U64, AT(check_inode.inode), NULL}},
	 2, {"stat", "what"}, 1},
	{R_PIDFD_GETFD, "pidfd-getfd", {NULL}, 3,
	 {{"slot", K_NEW, AT(pidfd_getfd.slot), NULL},
	  {"pidfd", K_SLOT, AT(pidfd_getfd.pidfd), NULL},
	  {"fd", K_U32, AT(pidfd_getfd.fd), NULL}},
	 1, {"what"}, 1},
	{R_SOCKET_NETNS, "socket-netns", {NULL}, 2,
	 {{"slot", K_NEW, AT(socket_netns.slot), NULL}, {"socket", K_SLOT, AT(socket_netns.socket), NULL}},
	 1, {"what"}, 1},
	{R_NS_OWNER, "ns-owner", {NULL}, 2,
	 {{"slot", K_NEW, AT(ns_owner.slot), NULL}, {"of", K_SLOT, AT(ns_owner.of), NULL}},
	 1, {"what"}, 1},
	{R_SETNS, "setns", {"soft"}, 2, {{"fd", K_SLOT, AT(setns.fd), NULL}, {"mask", K_MASK, AT(setns.mask), NULL}},
	 1, {"what"}, 1},
	{R_SETGROUPS, "setgroups", {"after-switch"}, 0, {{0}}, 1, {"what"}, 1},
	{R_SETGID, "setgid", {"owner"}, 1, {{"id", K_U32, AT(setid.id), NULL}}, 1, {"what"}, 1},
	{R_SETUID, "setuid", {"owner"}, 1, {{"id", K_U32, AT(setid.id), NULL}}, 1, {"what"}, 1},
	{R_STAT_OWNER, "stat-owner", {NULL}, 1, {{"slot", K_SLOT, AT(on.slot), NULL}}, 1, {"what"}, 1},
	{R_FCHDIR, "fchdir", {NULL}, 1, {{"slot", K_SLOT, AT(on.slot), NULL}}, 1, {"what"}, 1},
	{R_CHROOT, "chroot", {NULL}, 1, {{"path", K_STR, AT(dir.path), NULL}}, 1, {"what"}, 1},
	{R_CHDIR, "chdir", {NULL}, 1, {{"path", K_STR, AT(dir.path), NULL}}, 1, {"what"}, 1},
	{R_ENVIRON, "environ", {"late"}, 4,
	 {{"fd", K_SLOT, AT(environ.fd), NULL},
	  {"proc", K_OPT_SLOT, AT(environ.proc), NULL},
	  {"drop", K_LIST, AT(environ.drop), NULL},
	  {"note", K_STR, AT(environ.note), NULL}},
	 3, {"open", "get", "set"}, 1},
	{R_JOIN_CGROUP, "join-cgroup", {NULL}, 1, {{"slot", K_SLOT, AT(on.slot), NULL}}, 1, {"what"}, 1},
	{R_FORK, "fork", {NULL}, 0, {{0}}, 1, {"what"}, 1},
	{R_KEEP_CAPS, "keep-caps", {NULL}, 0, {{0}}, 3, {"capget", "capset", "ambient"}, 1},
	{R_EXEC, "exec", {"target-env"}, 3,
	 {{"file", K_STR, AT(exec.file), NULL}, {"argv", K_LIST, AT(exec.argv), NULL}, {"env", K_LIST, AT(exec.env), NULL}},
	 1, {"what"}, 1},
	{R_EXEC_LOGIN_SHELL, "exec-login-shell", {"target-env"}, 2,
	 {{"fallback", K_STR, AT(login.fallback), NULL}, {"env", K_LIST, AT(login.env), NULL}},
	 1, {"what"}, 1},
	{R_PTY, "pty", {"devpts"}, 2, {{"dir", K_SLOT, AT(pty.dir), NULL}, {"name", K_STR, AT(pty.name), NULL}},
	 3, {"open", "what", "relay"}, 1},
	{R_OPEN_TREE, "open-tree", {NULL}, 3,
	 {{"slot", K_NEW, AT(open_tree.slot), NULL},
	  {"at", K_BASE, AT(open_tree.at), NULL},
	  {"path", K_STR, AT(open_tree.path), NULL}},
	 1, {"what"}, 1},
	{R_UNSHARE_MNT, "unshare-mnt", {NULL}, 0, {{0}}, 1, {"what"}, 1},
	{R_MAKE_PRIVATE, "make-private", {NULL}, 1, {{"path", K_STR, AT(dir.path), NULL}}, 1, {"what"}, 1},
	{R_MOVE_MOUNT, "move-mount", {NULL}, 2,
	 {{"from", K_SLOT, AT(move_mount.from), NULL}, {"path", K_STR, AT(move_mount.path), NULL}},
	 1, {"what"}, 1},
	{R_MOUNT_PROC, "mount-proc", {NULL}, 1, {{"path", K_STR, AT(dir.path), NULL}}, 1, {"what"}, 1},
	{R_CHDIR_IN, "chdir-in", {NULL}, 2,
	 {{"at", K_SLOT, AT(chdir_in.at), NULL}, {"path", K_STR, AT(chdir_in.path), NULL}},
	 1, {"what"}, 1},
	{R_EXEC_CONTEXT, "exec-context", {NULL}, 3,
	 {{"proc", K_SLOT, AT(context.proc), NULL},
	  {"current", K_STR, AT(context.current), NULL},
	  {"exec", K_STR, AT(context.exec), NULL}},
	 2, {"get", "set"}, 1},
};

const struct record_spec *record_spec(uint16_t type)
{
	for (size_t i = 0; i < sizeof RECORDS / sizeof RECORDS[0]; i++)
		if (RECORDS[i].type == type)
			return &RECORDS[i];
	return NULL;
}

const struct namespace_bit NAMESPACE_BITS[8] = {
	{0x10000000u, "user"}, {0x02000000u, "cgroup"}, {0x08000000u, "ipc"}, {0x04000000u, "uts"},
	{0x40000000u, "net"},  {0x20000000u, "pid"},    {0x00020000u, "mnt"}, {0x00000080u, "time"},
};

/* ---- Reasons ------------------------------------------------------------------------------ */

__attribute__((format(printf, 2, 3))) static int fail(struct reason *why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(why->text, sizeof why->text, fmt, ap) < 0)
		why->text[0] = '\0';
	va_end(ap);
	return -1;
}

/* One call's state: the plan-wide facts the rules need, on the caller's stack. */
struct decoder {
	struct plan *plan;   /* NULL while decoding a query */
	struct query *query; /* NULL while decoding a plan */
	struct reason *why;
	uint32_t index;      /* record index */
	const char *name;    /* record name, once known */
	uint32_t defined;    /* slots 0 .. defined-1 exist */
	uint64_t maybe_empty; /* slots a soft-denied open made */
	uint32_t list_strings;
	int exec_seen, fork_seen, owner_seen, environ_seen;
};

/* "record I (name): …" */
__attribute__((format(printf, 2, 3))) static int rfail(struct decoder *d, const char *fmt, ...)
{
	char *out = d->why->text;
	size_t room = sizeof d->why->text;
	int n = snprintf(out, room, "record %u (%s): ", d->index, d->name);
	va_list ap;

	if (n < 0 || (size_t)n >= room)
		return -1;
	va_start(ap, fmt);
	if (vsnprintf(out + n, room - (size_t)n, fmt, ap) < 0)
		out[n] = '\0';
	va_end(ap);
	return -1;
}

/* ---- Header and frame --------------------------------------------------------------------- */

int check_header(const uint8_t header[HEADER_LEN], const char *magic, uint32_t max, uint32_t *body_len,
		 struct reason *why)
{
	uint32_t version = get_u16(header + 4), flags = get_u16(header + 6);
	uint32_t len = get_u32(header + 8), reserved = get_u32(header + 12);

	if (memcmp(header, magic, 4) != 0)
		return fail(why, "header: bad magic (expected %s)", magic);
	if (version != WIRE_VERSION)
		return fail(why, "header: unsupported version %u (this helper speaks %u)", version, WIRE_VERSION);
	if (flags != 0)
		return fail(why, "header: flags 0x%x must be 0", flags);
	if (len > max)
		return fail(why, "header: body length %u exceeds %u", len, max);
	if (reserved != 0)
		return fail(why, "header: reserved field 0x%x must be 0", reserved);
	*body_len = len;
	return 0;
}

int decode_plan_frame(const uint8_t *bytes, size_t len, struct plan *plan, struct reason *why)
{
	uint32_t body_len;

	if (len < HEADER_LEN)
		return fail(why, "header: got %zu of %u bytes", len, HEADER_LEN);
	if (check_header(bytes, "NSCP", PLAN_BODY_MAX, &body_len, why) != 0)
		return -1;
	if (len - HEADER_LEN < body_len)
		return fail(why, "body: got %zu of %u bytes", len - HEADER_LEN, body_len);
	if (len - HEADER_LEN > body_len)
		return fail(why, "trailing data after the body");
	return decode_plan_body(bytes + HEADER_LEN, body_len, plan, why);
}

int decode_query_frame(const uint8_t *bytes, size_t len, struct query *query, struct reason *why)
{
	uint32_t body_len;

	if (len < HEADER_LEN)
		return fail(why, "header: got %zu of %u bytes", len, HEADER_LEN);
	if (check_header(bytes, "NSCQ", QUERY_BODY_MAX, &body_len, why) != 0)
		return -1;
	if (len - HEADER_LEN < body_len)
		return fail(why, "body: got %zu of %u bytes", len - HEADER_LEN, body_len);
	return decode_query_body(bytes + HEADER_LEN, body_len, query, why);
}

/* ---- Fields ------------------------------------------------------------------------------- */

struct cursor {
	const uint8_t *p;
	uint32_t left;
};

static const char *label(char buf[64], const char *field, int64_t item)
{
	if (item < 0)
		return field;
	(void)snprintf(buf, 64, "%s[%lld]", field, (long long)item);
	return buf;
}

static int need(struct decoder *d, struct cursor *c, const char *field, uint64_t n)
{
	if (c->left < n)
		return rfail(d, "%s needs %llu bytes, %u left", field, (unsigned long long)n, c->left);
	return 0;
}

/* A `str` (item >= 0: the item-th string of a list), copied into the arena. */
static int take_str(struct decoder *d, struct cursor *c, const char *field, int64_t item, struct str *out)
{
	char buf[64];
	const char *what = label(buf, field, item);
	char *arena = d->plan ? d->plan->arena : d->query->arena;
	size_t size = d->plan ? sizeof d->plan->arena : sizeof d->query->arena;
	size_t *used = d->plan ? &d->plan->arena_used : &d->query->arena_used;
	size_t at = *used;
	uint32_t n;
	const uint8_t *nul;

	if (need(d, c, what, 4) != 0)
		return -1;
	n = get_u32(c->p);
	if (need(d, c, what, 4 + (uint64_t)n) != 0)
		return -1;
	nul = memchr(c->p + 4, 0, n);
	if (nul != NULL)
		return rfail(d, "NUL byte in %s at offset %u", what, (uint32_t)(nul - (c->p + 4)));
	/* Cannot overflow: each string costs at least 4 more body bytes than arena bytes. Checked
	 * anyway, so that no caller's mistake can write past the arena. */
	if ((uint64_t)at + n + 1 > size)
		return rfail(d, "%s does not fit in the helper's buffer", what);
	memcpy(arena + at, c->p + 4, n);
	arena[at + n] = '\0';
	*used = at + n + 1;
	out->s = arena + at;
	out->len = n;
	c->p += 4 + (size_t)n;
	c->left -= 4 + n;
	return 0;
}

static int take_list(struct decoder *d, struct cursor *c, const char *field, struct list *out)
{
	struct plan *plan = d->plan;
	uint32_t count;
	char **v;

	if (need(d, c, field, 4) != 0)
		return -1;
	count = get_u32(c->p);
	if (count > MAX_LIST_STRINGS - d->list_strings)
		return rfail(d, "%s has %u strings, more than the %u left of the %u allowed", field, count,
			     MAX_LIST_STRINGS - d->list_strings, MAX_LIST_STRINGS);
	c->p += 4;
	c->left -= 4;
	/* Cannot overflow either (at most MAX_STEPS + 1 lists, each with two spare pointers). */
	if ((uint64_t)plan->ptrs_used + count + 2 > sizeof plan->ptrs / sizeof plan->ptrs[0])
		return rfail(d, "%s does not fit in the helper's buffer", field);
	v = plan->ptrs + plan->ptrs_used + 1;
	v[-1] = NULL;
	for (uint32_t i = 0; i < count; i++) {
		struct str s;
		if (take_str(d, c, field, i, &s) != 0)
			return -1;
		v[i] = (char *)(uintptr_t)s.s;
	}
	v[count] = NULL;
	plan->ptrs_used += (size_t)count + 2;
	d->list_strings += count;
	out->v = v;
	out->n = count;
	return 0;
}

static uint32_t *u32_at(struct step *st, uint16_t offset)
{
	return (uint32_t *)(void *)((char *)st + offset);
}

/* Step 6: every field, then the failure texts and the hint, then nothing. */
static int take_fields(struct decoder *d, const struct record_spec *spec, struct cursor *c, struct step *st)
{
	for (unsigned i = 0; i < spec->nfields; i++) {
		const struct field_spec *f = &spec->fields[i];
		void *at = (char *)st + f->offset;
		switch (f->kind) {
		case K_STR:
			if (take_str(d, c, f->name, -1, at) != 0)
				return -1;
			break;
		case K_LIST:
			if (take_list(d, c, f->name, at) != 0)
				return -1;
			break;
		case K_U64:
			if (need(d, c, f->name, 8) != 0)
				return -1;
			*(uint64_t *)at = get_u64(c->p);
			c->p += 8;
			c->left -= 8;
			break;
		default:
			if (need(d, c, f->name, 4) != 0)
				return -1;
			*(uint32_t *)at = get_u32(c->p);
			c->p += 4;
			c->left -= 4;
			break;
		}
	}
	if (spec->is_step) {
		for (unsigned i = 0; i < spec->ntexts; i++)
			if (take_str(d, c, spec->texts[i], -1, &st->texts[i]) != 0)
				return -1;
		if (take_str(d, c, "hint", -1, &st->hint) != 0)
			return -1;
	}
	if (c->left != 0)
		return rfail(d, "%u bytes after the last field", c->left);
	return 0;
}

/* Step 9: what a slot or mask field may hold. */
static int check_field_rules(struct decoder *d, const struct record_spec *spec, struct step *st)
{
	for (unsigned i = 0; i < spec->nfields; i++) {
		const struct field_spec *f = &spec->fields[i];
		uint32_t v;
		if (f->kind != K_NEW && f->kind != K_SLOT && f->kind != K_BASE && f->kind != K_OPT_SLOT &&
		    f->kind != K_MASK)
			continue;
		v = *u32_at(st, f->offset);
		switch (f->kind) {
		case K_NEW:
			if (v >= MAX_SLOTS)
				return rfail(d, "%s: slot %u is beyond the %u-slot limit", f->name, v, MAX_SLOTS);
			if (v != d->defined)
				return rfail(d, "%s: new slot %u, expected %u", f->name, v, d->defined);
			break;
		case K_BASE:
		case K_OPT_SLOT:
		case K_SLOT:
			if (f->kind != K_SLOT && v == SLOT_NONE)
				break;
			if (v >= d->defined)
				return rfail(d, "%s: slot %u is not defined (%u defined so far)", f->name, v, d->defined);
			/* Only environ reads a slot a soft-denied open may have left empty. */
			if ((d->maybe_empty >> v) & 1u && !(spec->type == R_ENVIRON && f->offset == AT(environ.fd)))
				return rfail(d, "%s: slot %u may be empty (its open is soft-denied)", f->name, v);
			break;
		case K_MASK:
			if (v == 0)
				return rfail(d, "%s: mask is 0", f->name);
			if ((v & ~NAMESPACE_MASK) != 0)
				return rfail(d, "%s: mask 0x%x has unknown bits", f->name, v);
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Whether a `/`-separated path has a component that is exactly "..". */
static int has_dotdot(const struct str *path)
{
	uint32_t start = 0;

	for (uint32_t i = 0; i <= path->len; i++) {
		if (i < path->len && path->s[i] != '/')
			continue;
		if (i - start == 2 && path->s[start] == '.' && path->s[start + 1] == '.')
			return 1;
		start = i + 1;
	}
	return 0;
}

/* Step 10: each type's own rules. */
static int check_type_rules(struct decoder *d, const struct step *st, uint32_t left_after)
{
	const struct list *env = NULL;

	switch (st->type) {
	case R_OPEN:
		if (st->open.how > HOW_APPEND)
			return rfail(d, "how %u is not 0, 1 or 2", st->open.how);
		break;
	case R_PIDFD:
		if (st->pidfd.pid == 0 || st->pidfd.pid > 0x7fffffffu)
			return rfail(d, "pid %u out of range", st->pidfd.pid);
		break;
	case R_PIDFD_GETFD:
		if (st->pidfd_getfd.fd > 0x7fffffffu)
			return rfail(d, "fd %u out of range", st->pidfd_getfd.fd);
		break;
	case R_FORK:
	case R_PTY: /* the relay is the one fork's parent */
		if (d->fork_seen)
			return rfail(d, "more than one fork");
		break;
	case R_SETGID:
	case R_SETUID:
		if ((st->flags & F_ID_OWNER) && st->setid.id != 0)
			return rfail(d, "owner with id %u, expected 0", st->setid.id);
		if ((st->flags & F_ID_OWNER) && !d->owner_seen)
			return rfail(d, "owner without an earlier stat-owner");
		break;
	case R_ENVIRON:
		if ((st->flags & F_ENVIRON_LATE) && st->environ.proc == SLOT_NONE)
			return rfail(d, "late without a proc slot");
		break;
	case R_EXEC:
		if (st->exec.argv.n == 0)
			return rfail(d, "argv is empty");
		env = &st->exec.env;
		break;
	case R_EXEC_LOGIN_SHELL:
		env = &st->login.env;
		break;
	case R_CHDIR_IN:
		/* The walk never leaves `at` (mounts.c): it follows no link, and no "..". */
		if (has_dotdot(&st->chdir_in.path))
			return rfail(d, "path has a '..' component");
		break;
	case R_END:
		if (!d->exec_seen)
			return rfail(d, "no exec before END");
		if (left_after != 0)
			return rfail(d, "%u bytes after END", left_after);
		break;
	default:
		break;
	}
	if (env != NULL && (st->flags & F_TARGET_ENV)) {
		if (!d->environ_seen)
			return rfail(d, "target-env without an earlier environ");
		if (env->n != 0)
			return rfail(d, "target-env with %u env strings", env->n);
	}
	return 0;
}

/* Steps 2–5: a record's header, its type and flags. */
static int take_record(struct decoder *d, struct cursor *body, uint16_t *type, uint16_t *flags, struct cursor *payload)
{
	uint32_t len;

	if (body->left < RECORD_HEADER_LEN)
		return fail(d->why, "record %u: only %u bytes left, a record header needs 8", d->index, body->left);
	*type = get_u16(body->p);
	*flags = get_u16(body->p + 2);
	len = get_u32(body->p + 4);
	body->p += RECORD_HEADER_LEN;
	body->left -= RECORD_HEADER_LEN;
	if (len > body->left)
		return fail(d->why, "record %u: length %u does not fit in the %u bytes left", d->index, len, body->left);
	payload->p = body->p;
	payload->left = len;
	body->p += len;
	body->left -= len;
	return 0;
}

static uint32_t flag_bits(const struct record_spec *spec)
{
	uint32_t bits = 0;
	for (unsigned i = 0; i < sizeof spec->flags / sizeof spec->flags[0]; i++)
		if (spec->flags[i] != NULL)
			bits |= 1u << i;
	return bits;
}

int decode_plan_body(const uint8_t *bytes, uint32_t len, struct plan *plan, struct reason *why)
{
	struct decoder d = {.plan = plan, .why = why};
	struct cursor body = {bytes, len};

	plan->nsteps = 0;
	plan->arena_used = 0;
	plan->ptrs_used = 0;
	for (;; d.index++) {
		const struct record_spec *spec;
		struct cursor payload;
		struct step st;
		uint16_t type, flags;

		if (body.left == 0)
			return fail(why, "body ends after %u records without END", d.index);
		if (take_record(&d, &body, &type, &flags, &payload) != 0)
			return -1;
		spec = record_spec(type); /* the table holds plan records only */
		if (spec == NULL)
			return fail(why, "record %u: unknown type %u", d.index, type);
		d.name = spec->name;
		if ((flags & ~flag_bits(spec)) != 0)
			return rfail(&d, "unknown flag bits 0x%x", flags & ~flag_bits(spec));
		memset(&st, 0, sizeof st);
		st.type = type;
		st.flags = flags;
		if (take_fields(&d, spec, &payload, &st) != 0)
			return -1;
		if (d.exec_seen && type != R_END)
			return rfail(&d, "only END may follow the exec");
		if (type != R_END && plan->nsteps >= MAX_STEPS)
			return rfail(&d, "more than %u steps", MAX_STEPS);
		if (check_field_rules(&d, spec, &st) != 0 || check_type_rules(&d, &st, body.left) != 0)
			return -1;
		if (type == R_END)
			return 0;

		for (unsigned i = 0; i < spec->nfields; i++)
			if (spec->fields[i].kind == K_NEW) {
				if (type == R_OPEN && (flags & F_OPEN_SOFT_DENIED))
					d.maybe_empty |= UINT64_C(1) << d.defined;
				d.defined++;
			}
		d.owner_seen |= type == R_STAT_OWNER;
		d.fork_seen |= type == R_FORK || type == R_PTY;
		d.environ_seen |= type == R_ENVIRON;
		d.exec_seen |= type == R_EXEC || type == R_EXEC_LOGIN_SHELL;
		plan->steps[plan->nsteps++] = st;
	}
}

/* ---- Queries ------------------------------------------------------------------------------ */

int decode_query_body(const uint8_t *bytes, uint32_t len, struct query *query, struct reason *why)
{
	struct decoder d = {.query = query, .why = why, .name = "ns-facts"};
	struct cursor body = {bytes, len};

	query->n = 0;
	query->arena_used = 0;
	for (; body.left > 0; d.index++) {
		struct cursor payload;
		struct str path;
		uint16_t type, flags;

		if (d.index >= MAX_QUERY_RECORDS)
			return fail(why, "more than %u records", MAX_QUERY_RECORDS);
		if (take_record(&d, &body, &type, &flags, &payload) != 0)
			return -1;
		if (type != R_NS_FACTS_QUERY)
			return fail(why, "record %u: unknown type %u", d.index, type);
		if (flags != 0)
			return rfail(&d, "unknown flag bits 0x%x", flags);
		if (take_str(&d, &payload, "path", -1, &path) != 0)
			return -1;
		if (payload.left != 0)
			return rfail(&d, "%u bytes after the last field", payload.left);
		query->paths[query->n++] = path.s;
	}
	return 0;
}
