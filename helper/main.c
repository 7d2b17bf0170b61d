/*
 * nsctl-helper: the small static program that is nsctl's process (docs/plan-format.md).
 *
 *   nsctl-helper run NODE SCRIPT [ARG…]   bin/nsctl's call: run the planner, then its plan
 *   nsctl-helper --check                  read one plan frame on stdin, print the dump, exit
 *
 * It decides nothing: the planner (TypeScript) chooses every file, order, credential and word;
 * the helper checks the whole plan before the first step and then performs it in its own process,
 * ending in execve. It reads no environment variable: main's envp goes to the planner, untouched.
 * helper.h lists the other parts in the order a run goes through them.
 */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

static const char USAGE[] = "usage: nsctl-helper run NODE SCRIPT [ARG...] | nsctl-helper --check";

static _Noreturn void usage(const char *what)
{
	ignore_sigpipe();
	helper_message(what, "\n", USAGE);
	_exit(EXIT_USAGE);
}

/* The whole frame as read, and the plan it decodes to (both far larger than a stack). */
static uint8_t frame[FRAME_MAX];
static struct plan plan;

/* `--check`: validate, dump, exit 0; or the reason, exit 1. Nothing else, and never a signal. */
static _Noreturn void check(void)
{
	struct reason why;
	char buf[32];
	int r;

	ignore_sigpipe();
	r = read_plan_frame(STDIN_FILENO, frame, 0, &plan, &why);
	if (r > 0) {
		helper_message("cannot read the plan: ", error_text(r, buf), NULL);
		_exit(EXIT_FAILED);
	}
	if (r < 0) {
		helper_message("invalid plan: ", why.text, NULL);
		_exit(EXIT_FAILED);
	}
	r = dump_plan(STDOUT_FILENO, &plan);
	if (r != 0) {
		helper_message("cannot write the dump: ", error_text(r, buf), NULL);
		_exit(EXIT_FAILED);
	}
	_exit(0);
}

int main(int argc, char **argv, char **envp)
{
	if (argc == 2 && strcmp(argv[1], "--check") == 0)
		check();
	if (argc >= 2 && strcmp(argv[1], "--check") == 0)
		usage("--check takes no arguments");
	if (argc >= 2 && strcmp(argv[1], "run") == 0) {
		if (argc < 4)
			usage("run needs NODE and SCRIPT");
		run(argc, argv, envp, frame, &plan);
	}
	usage(argc < 2 ? "expected 'run' or '--check'" : "unknown command (expected 'run' or '--check')");
}
