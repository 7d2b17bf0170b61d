/*
 * `environ` (-e): read the target's environment and make it the program's (docs/plan-format.md,
 * "Performing the plan").
 *
 * The target writes its own environ and may make it any size (PR_SET_MM_MAP needs no
 * capability), so the read stops at ENVIRON_MAX and more is E2BIG; within that, loading is linear:
 * one pass finds the entries, one pass from the end keeps the last value of each name (a hash set
 * of names, keyed at random so a target cannot choose names that collide), one pass removes the
 * `drop` names, one pass writes the vector in the target's order. 4 MiB of distinct entries load
 * in a few milliseconds. All buffers are static; pages nobody touches cost nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "helper.h"

#define ENVIRON_MAX (4u * 1024u * 1024u)
/* A kept entry is at least "x=" and a NUL: at most this many in ENVIRON_MAX bytes. */
#define MAX_ENTRIES (ENVIRON_MAX / 3u + 2u)
#define TABLE_MAX (1u << 21) /* a power of two ≥ 1.5 × MAX_ENTRIES */

enum { DUPLICATE = 0, KEPT = 1, DROPPED = 2 };

static char data[ENVIRON_MAX + 2];
static uint32_t start[MAX_ENTRIES];   /* offset of each entry with a name and '=' */
static uint8_t fate[MAX_ENTRIES];
/* A name's place: its hash (compared first) and its entry's index + 1, or 0 for a free place. */
static struct place {
	uint32_t hash, entry;
} table[TABLE_MAX];
/* The kept entries in order, NULL, then the dropped ones (for the note). */
static char *vec[MAX_ENTRIES + 2];
static int loaded;

char **loaded_environ(void)
{
	return loaded ? vec : NULL;
}

/* ---- SipHash-1-3 over a name, with a key from the kernel's AT_RANDOM bytes ---------------- */

static uint64_t key0, key1;

static uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                                       \
	do {                                                                                           \
		v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);                              \
		v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                                                 \
		v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                                                 \
		v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);                              \
	} while (0)

static uint64_t le64(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint64_t hash(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint64_t v0 = key0 ^ UINT64_C(0x736f6d6570736575), v1 = key1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = key0 ^ UINT64_C(0x6c7967656e657261), v3 = key1 ^ UINT64_C(0x7465646279746573);
	uint64_t m;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		m = le64(p + i, 8);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	m = le64(p + i, len - i) | (uint64_t)(len & 0xff) << 56;
	v3 ^= m;
	SIPROUND;
	v0 ^= m;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static void init_key(void)
{
	const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
	if (r != NULL) {
		key0 = le64(r, 8);
		key1 = le64(r + 8, 8);
	}
}

/* ---- The set of names -------------------------------------------------------------------- */

static size_t name_len(const char *entry)
{
	return strcspn(entry, "=");
}

/* The place of `name` in the table: where it is, or the free place where it would go (with the
 * name's hash filled in). Linear probing; the table is at most two-thirds full. */
static struct place *place(const char *name, size_t len, uint32_t mask)
{
	uint64_t h = hash(name, len);
	uint32_t tag = (uint32_t)(h >> 32);

	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		struct place *p = &table[i];
		const char *other;
		if (p->entry == 0) {
			p->hash = tag;
			return p;
		}
		other = data + start[p->entry - 1];
		if (p->hash == tag && memcmp(other, name, len) == 0 && other[len] == '=')
			return p;
	}
}

/* ---- Loading ----------------------------------------------------------------------------- */

static void load(const struct step *st, size_t size)
{
	uint32_t n = 0, mask = 16, kept = 0, out;
	const struct list *drop = &st->environ.drop;

	/* The entries: NUL-separated; empty ones and those without '=' are skipped; a name-less
	 * one ("=x") makes upstream's setenv fail with EINVAL. */
	data[size] = '\0';
	for (size_t at = 0; at < size;) {
		size_t len = strlen(data + at);
		const char *eq = memchr(data + at, '=', len);
		if (eq == data + at)
			step_failed(st, TEXT_ENVIRON_SET, EINVAL, EXIT_FAILED);
		if (eq != NULL)
			start[n++] = (uint32_t)at;
		at += len + 1;
	}

	/* From the end: the last occurrence of a name is the one kept, at its own place. */
	while (mask < n + n / 2 && mask < TABLE_MAX)
		mask <<= 1;
	memset(table, 0, mask * sizeof table[0]);
	mask -= 1;
	for (uint32_t i = n; i-- > 0;) {
		const char *entry = data + start[i];
		struct place *p = place(entry, name_len(entry), mask);
		fate[i] = p->entry == 0 ? KEPT : DUPLICATE;
		if (p->entry == 0)
			p->entry = i + 1;
	}
	for (uint32_t d = 0; d < drop->n; d++) {
		struct place *p = place(drop->v[d], strlen(drop->v[d]), mask);
		if (p->entry != 0)
			fate[p->entry - 1] = DROPPED;
		else
			p->hash = 0; /* leave free places as they were */
	}

	for (uint32_t i = 0; i < n; i++)
		kept += fate[i] == KEPT;
	out = kept + 1;
	kept = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (fate[i] == KEPT)
			vec[kept++] = data + start[i];
		else if (fate[i] == DROPPED)
			vec[out++] = data + start[i];
	}
	vec[kept] = NULL;
	loaded = 1;
	if (out > kept + 1)
		print_note(&st->environ.note, vec + kept + 1, out - kept - 1);
}

static void read_and_load(const struct step *st, int fd)
{
	size_t got;
	int err = read_full(fd, data, ENVIRON_MAX + 1, &got);

	if (err == 0 && got > ENVIRON_MAX)
		err = E2BIG;
	if (err != 0)
		step_failed(st, TEXT_ENVIRON_GET, err, EXIT_FAILED);
	if (key0 == 0 && key1 == 0)
		init_key();
	load(st, got);
}

void environ_step(struct run_state *rs, const struct step *st)
{
	int fd;

	if (!(st->flags & F_ENVIRON_LATE)) {
		/* A soft-denied open left the slot empty: nothing now; a late step may try again. */
		if (rs->fd[st->environ.fd] >= 0)
			read_and_load(st, rs->fd[st->environ.fd]);
		return;
	}
	if (loaded)
		return;
	fd = openat(rs->fd[st->environ.proc], "environ", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		step_failed(st, TEXT_ENVIRON_OPEN, errno, EXIT_FAILED);
	read_and_load(st, fd);
	(void)close(fd);
}
