/*
 * `exec-context` (-Z where SELinux is enabled; docs/plan-format.md): what libselinux's getpidcon()
 * and setexeccon() do for nsenter, without the library. The target's context is read through its
 * checked /proc/PID directory, so a recycled PID cannot lend its context; the write goes to our
 * own attr file, which the kernel lets only the process that opened it write (so the plan puts
 * this step before the fork, and before any setns hides this /proc). The exec context then stays
 * until the exec, through setns, setgroups, setgid, setuid and fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

/* libselinux reads one page less one byte, once; no context is near that long. */
#define CONTEXT_MAX 4095u

void exec_context_step(struct run_state *rs, const struct step *st)
{
	char context[CONTEXT_MAX + 1];
	size_t got = 0, len;
	int fd = openat(rs->fd[st->context.proc], st->context.current.s, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 || read_full(fd, context, CONTEXT_MAX, &got) != 0)
		step_failed_plain(st, TEXT_CONTEXT_GET, NULL, 0);
	(void)close(fd);
	context[got] = '\0';
	/* The kernel ends it with a NUL; the context is what comes before the first one. An empty
	 * one clears the exec context, as setexeccon(NULL) does. */
	len = strlen(context);
	fd = open(st->context.exec.s, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || (len == 0 ? write(fd, context, 0) < 0 : write_full(fd, context, len + 1) != 0))
		step_failed_plain(st, TEXT_CONTEXT_SET, context, len);
	(void)close(fd);
}
