/*
 * libFuzzer harness for the plan decoder: the whole `nsctl-helper --check` path (read_plan,
 * validate_plan, dump_plan) runs in-process on each input, under ASan and UBSan.
 *
 * The helper is one C file of static functions, so this file includes it and calls them directly.
 * Built with -DNSCTL_FUZZ, the helper has no main (libFuzzer brings one) and invalid() longjmps back
 * to fuzz_escape instead of exiting; nothing else differs from the release build.
 *
 * Build and run: scripts/fuzz SECONDS (seeds: scripts/fuzz-seeds.mjs, from the TypeScript encoder).
 */
#include "../nsctl-helper.c"

#include <stdlib.h>
#include <sys/mman.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define HAVE_ASAN 1
#endif
#endif

/* The plan arrives on a descriptor, as in the real helper: a memfd holding the input. */
static int input_fd = -1;

/* How far past body_len the body buffer is poisoned, so that a read beyond the plan's end is an
 * ASan report even though `body` is one 8 MiB static array (stale bytes would hide it). */
#define POISON_TAIL (64u * 1024u)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	input_fd = memfd_create("nsctl-fuzz-plan", MFD_CLOEXEC);
	if (input_fd < 0)
		abort();
	/* The dump goes to stdout; keep libFuzzer's own output (stderr) readable. */
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, STDOUT_FILENO) < 0)
		abort();
	(void)close(devnull);
	return 0;
}

/* Undo the previous input: validation assumes the fresh .bss of a new process. */
static void reset_state(void)
{
	uint32_t used_vec = plan.nargs + plan.nenv + 3;
	if (used_vec > MAX_STRINGS + 3)
		abort();
	memset(vec, 0, used_vec * sizeof vec[0]);
	memset(steps, 0, (step_count < MAX_STEPS ? step_count + 1 : MAX_STEPS) * sizeof steps[0]);
	memset(&plan, 0, sizeof plan);
	step_count = 0;
	arena_used = 0;
	body_len = 0;
	out_len = 0;
	mode = MODE_CHECK;
}

/* What a plan that passed validation must look like; any failure is a crash for libFuzzer. */
static void check_invariants(void)
{
	if (step_count == 0 || step_count > MAX_STEPS)
		abort();
	uint16_t last = steps[step_count - 1].type;
	if (last != R_EXEC && last != R_EXEC_LOGIN_SHELL)
		abort();
	if (arena_used > body_len || plan.defined > MAX_SLOTS || plan.inherited > MAX_INHERITED)
		abort();
	if (plan.nargs + plan.nenv > MAX_STRINGS)
		abort();
	if (last == R_EXEC && plan.nargs == 0)
		abort();
	for (uint32_t i = 0; i < step_count; i++) {
		const struct step *st = &steps[i];
		switch (st->type) {
		case R_SETNS:
			if (st->a >= plan.defined || namespace_name(st->b) == NULL)
				abort();
			break;
		case R_SAVE_CWD:
		case R_OPEN_LATE:
		case R_CHROOT:
		case R_CHDIR:
			if (st->a >= plan.defined)
				abort();
			break;
		case R_EXEC:
		case R_EXEC_LOGIN_SHELL:
			if (st->s == NULL || i != step_count - 1)
				abort();
			break;
		default:
			if (st->type == 0 || st->type >= R_TYPE_COUNT || !RECORDS[st->type].is_step)
				abort();
		}
	}
	/* argv and envp are NULL-terminated, as execve needs. */
	if (vec[1 + plan.nargs] != NULL || vec[plan.nargs + 2 + plan.nenv] != NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	reset_state();
	if (ftruncate(input_fd, 0) != 0 || lseek(input_fd, 0, SEEK_SET) != 0)
		abort();
	if (size > 0 && write_full(input_fd, data, size) != 0)
		abort();
	if (lseek(input_fd, 0, SEEK_SET) != 0)
		abort();

	if (setjmp(fuzz_escape) != 0) {
#ifdef HAVE_ASAN
		ASAN_UNPOISON_MEMORY_REGION(body, sizeof body);
#endif
		return 0; /* rejected: the reason was formatted, as --check would print it */
	}
	read_plan(input_fd);
#ifdef HAVE_ASAN
	{
		size_t tail = sizeof body - body_len < POISON_TAIL ? sizeof body - body_len : POISON_TAIL;
		ASAN_POISON_MEMORY_REGION(body + body_len, tail);
	}
#endif
	validate_plan();
	check_invariants();
	dump_plan();
#ifdef HAVE_ASAN
	ASAN_UNPOISON_MEMORY_REGION(body, sizeof body);
#endif
	return 0;
}
