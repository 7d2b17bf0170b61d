/*
 * libFuzzer harness for the frame decoder (helper/decode.c), under ASan and UBSan. It links the
 * decoder alone: decoding is pure, so each input is one call, with nothing to reset in between
 * (the plan and query below are the decoder's output, which it initialises itself).
 *
 * Every input is decoded as a plan frame (what `--check` and `run` do) and as a query frame (what
 * `run` does with NSCQ frames). An accepted plan must satisfy the invariants perform.c relies on;
 * a rejected one must come with a reason. libFuzzer's input buffer is exactly `size` bytes on the
 * heap, so a read past the frame is an ASan report.
 *
 * Build and run: scripts/fuzz SECONDS (seeds: scripts/fuzz-seeds.mjs, from the TypeScript encoder).
 */
#include <stdlib.h>
#include <string.h>

#include "../plan.h"

static struct plan plan;
static struct query query;

#define CHECK(cond)                                                                                    \
	do {                                                                                           \
		if (!(cond))                                                                           \
			abort();                                                                       \
	} while (0)

static int in_arena(const char *s)
{
	return s >= plan.arena && s < plan.arena + plan.arena_used;
}

static void check_str(const struct str *s)
{
	CHECK(s->s != NULL && in_arena(s->s));
	CHECK(strlen(s->s) == s->len && s->s + s->len < plan.arena + plan.arena_used);
}

static void check_list(const struct list *l, uint32_t *strings)
{
	CHECK(l->v != NULL && l->v > plan.ptrs && l->v + l->n < plan.ptrs + plan.ptrs_used);
	CHECK(l->v[l->n] == NULL);
	for (uint32_t i = 0; i < l->n; i++) {
		struct str s = {l->v[i], (uint32_t)strlen(l->v[i])};
		check_str(&s);
	}
	*strings += l->n;
}

/* What a plan that passed validation must look like: what perform.c takes for granted. */
static void check_plan(size_t size)
{
	uint32_t defined = 0, strings = 0, forks = 0;

	CHECK(plan.nsteps >= 1 && plan.nsteps <= MAX_STEPS);
	CHECK(plan.arena_used <= size && plan.arena_used <= sizeof plan.arena);
	for (uint32_t i = 0; i < plan.nsteps; i++) {
		const struct step *st = &plan.steps[i];
		const struct record_spec *spec = record_spec(st->type);
		int last = i == plan.nsteps - 1;

		CHECK(spec != NULL && spec->is_step);
		CHECK((st->type == R_EXEC || st->type == R_EXEC_LOGIN_SHELL) == last);
		for (unsigned t = 0; t < spec->ntexts; t++)
			check_str(&st->texts[t]);
		check_str(&st->hint);
		for (unsigned f = 0; f < spec->nfields; f++) {
			const struct field_spec *fs = &spec->fields[f];
			const void *at = (const char *)st + fs->offset;
			uint32_t v = *(const uint32_t *)at;
			switch (fs->kind) {
			case K_NEW:
				CHECK(v == defined && v < MAX_SLOTS);
				break;
			case K_SLOT:
				CHECK(v < defined);
				break;
			case K_BASE:
			case K_OPT_SLOT:
				CHECK(v == SLOT_NONE || v < defined);
				break;
			case K_MASK:
				CHECK(v != 0 && (v & ~NAMESPACE_MASK) == 0);
				break;
			case K_ENUM:
				CHECK(v <= HOW_APPEND);
				break;
			case K_STR:
				check_str(at);
				break;
			case K_LIST:
				check_list(at, &strings);
				break;
			default:
				break;
			}
		}
		for (unsigned f = 0; f < spec->nfields; f++)
			defined += spec->fields[f].kind == K_NEW;
		forks += st->type == R_FORK || st->type == R_PTY; /* a pty's parent is the one fork's */
		if (st->type == R_EXEC)
			CHECK(st->exec.argv.n >= 1);
		if (st->type == R_PIDFD)
			CHECK(st->pidfd.pid >= 1 && st->pidfd.pid <= 0x7fffffffu);
		if (st->type == R_CHDIR_IN) /* mounts.c's walk never goes up */
			CHECK(strcmp(st->chdir_in.path.s, "..") != 0 && strncmp(st->chdir_in.path.s, "../", 3) != 0 &&
			      strstr(st->chdir_in.path.s, "/../") == NULL &&
			      !(st->chdir_in.path.len >= 3 &&
				strcmp(st->chdir_in.path.s + st->chdir_in.path.len - 3, "/..") == 0));
	}
	CHECK(forks <= 1 && strings <= MAX_LIST_STRINGS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reason why;

	if (decode_plan_frame(data, size, &plan, &why) == 0)
		check_plan(size);
	else
		CHECK(why.text[0] != '\0' && memchr(why.text, '\0', sizeof why.text) != NULL);

	if (decode_query_frame(data, size, &query, &why) == 0) {
		CHECK(query.n <= MAX_QUERY_RECORDS && query.arena_used <= size);
		for (uint32_t i = 0; i < query.n; i++)
			CHECK(query.paths[i] >= query.arena && query.paths[i] + strlen(query.paths[i]) < query.arena + query.arena_used);
	} else {
		CHECK(why.text[0] != '\0');
	}
	return 0;
}
