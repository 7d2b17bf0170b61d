/*
 * Built into the ASan + UBSan helper only (scripts/build-helper-asan). The helper reads no
 * environment, and the tests start it with PATH alone (test/support/helper.ts) or through bin/nsctl
 * with whatever environment the test chose, so ASAN_OPTIONS/UBSAN_OPTIONS cannot be counted on to
 * reach it; the options are compiled in instead, the same for every run. Every finding is fatal
 * and ends in SIGABRT, which the tests see as a death by a signal (and the report is on stderr,
 * which they compare).
 */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
	return "abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=1:"
	       "strict_string_checks=1:check_initialization_order=1:detect_leaks=1";
}

const char *__ubsan_default_options(void)
{
	return "abort_on_error=1:halt_on_error=1:print_stacktrace=1";
}
