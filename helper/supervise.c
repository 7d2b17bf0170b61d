/*
 * `fork` (docs/plan-format.md): the child goes on with the next step; the parent stays behind as
 * the process the caller started, and ends the way the child ends.
 *
 * Only a PID namespace needs it (the program must be a child to be inside one). The parent never
 * execs, so it stays non-dumpable for its whole life, and it closes every slot at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

/*
 * Upstream nsenter does not forward signals: `kill -TERM <nsenter>` kills only the parent. nsctl
 * does, so that a signal sent to the PID the caller knows reaches the program. Signals the kernel
 * generated (Ctrl-C, Ctrl-\, a window resize: SI_KERNEL) already reached the child through the
 * process group, so only signals a process sent are passed on; the child never gets two.
 */
static const int FORWARDED[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH, SIGCONT};
#define NFORWARDED (sizeof FORWARDED / sizeof FORWARDED[0])

static volatile pid_t child_pid;

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
		int status, later;
		pid_t r = waitpid(pid, &status, WUNTRACED | WCONTINUED);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fatal("cannot wait for the program", errno);
		if (WIFCONTINUED(status))
			continue;
		if (WIFSTOPPED(status)) {
			/* Ctrl-Z stops the whole job, us included, and `fg` continues the whole job, so the
			 * child's stop can be stale by the time we read it: look for a newer event first. */
			r = waitpid(pid, &later, WNOHANG | WCONTINUED);
			if (r == pid && WIFCONTINUED(later))
				continue;
			if (r != pid) {
				/* Stop with the child; when someone continues us, continue it. */
				(void)raise(SIGSTOP);
				(void)kill(pid, SIGCONT);
				continue;
			}
			status = later; /* it exited or died meanwhile */
		}
		if (WIFEXITED(status))
			_exit(WEXITSTATUS(status));
		if (WIFSIGNALED(status))
			die_by_signal(WTERMSIG(status));
	}
}

void fork_step(struct run_state *rs, const struct step *st)
{
	struct sigaction sa, current;
	sigset_t forwarded, old;
	pid_t pid;
	int ignored[NFORWARDED];

	/* An inherited SIG_IGN for SIGCHLD would make waitpid fail (upstream resets it too). */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	if (sigaction(SIGCHLD, &sa, NULL) != 0)
		step_failed(st, TEXT_WHAT, errno, EXIT_FAILED);

	/* Blocked across the fork, so none arrives before the parent's handlers are in place. */
	if (sigemptyset(&forwarded) != 0)
		step_failed(st, TEXT_WHAT, errno, EXIT_FAILED);
	for (size_t i = 0; i < NFORWARDED; i++) {
		/* A signal the caller ignores stays ignored (the child inherits that) and is not
		 * forwarded: `nohup nsctl …` keeps the program alive on SIGHUP. */
		if (sigaction(FORWARDED[i], NULL, &current) != 0)
			step_failed(st, TEXT_WHAT, errno, EXIT_FAILED);
		ignored[i] = current.sa_handler == SIG_IGN;
		if (sigaddset(&forwarded, FORWARDED[i]) != 0)
			step_failed(st, TEXT_WHAT, errno, EXIT_FAILED);
	}
	if (sigprocmask(SIG_BLOCK, &forwarded, &old) != 0)
		step_failed(st, TEXT_WHAT, errno, EXIT_FAILED);

	pid = fork();
	if (pid < 0)
		step_failed(st, TEXT_WHAT, errno, EXIT_FAILED);
	if (pid == 0) {
		if (sigprocmask(SIG_SETMASK, &old, NULL) != 0)
			step_failed(st, TEXT_WHAT, errno, EXIT_FAILED);
		/* Read, not computed: our parent is outside the new PID namespace, where getppid()
		 * gives 0, and an orphan would see that namespace's init instead. */
		rs->forked = 1;
		rs->parent = getppid();
		stay_with_parent(rs, st);
		return; /* the child carries on with the next step */
	}

	child_pid = pid;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = forward_signal;
	sa.sa_flags = SA_RESTART | SA_SIGINFO;
	if (sigemptyset(&sa.sa_mask) != 0)
		goto no_handlers;
	for (size_t i = 0; i < NFORWARDED; i++)
		if (!ignored[i] && sigaction(FORWARDED[i], &sa, NULL) != 0)
			goto no_handlers;
	close_slots(rs);
	if (sigprocmask(SIG_SETMASK, &old, NULL) != 0)
		goto no_handlers;
	mirror_child(pid);

no_handlers : {
	int err = errno;
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
	step_failed(st, TEXT_WHAT, err, EXIT_FAILED);
}
}
