/*
 * `fork` (docs/plan-format.md): the child goes on with the next step; the parent stays behind as
 * the process the caller started, and ends the way the child ends.
 *
 * Only a PID namespace needs it (the program must be a child to be inside one). The parent never
 * execs, so it stays non-dumpable for its whole life, and it closes every slot at once. `pty`
 * (pty.c) forks the same way and mirrors the child with the same rules; a plan has one or the other.
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
const int FORWARDED[NFORWARDED] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH, SIGCONT};

static volatile pid_t child_pid;

static void forward_signal(int sig, siginfo_t *info, void *context)
{
	int saved = errno;
	(void)context;
	if (child_pid > 0 && info->si_code != SI_KERNEL)
		(void)kill(child_pid, sig); /* the child may be gone already */
	errno = saved;
}

int child_event(pid_t pid, int *status)
{
	int later;
	pid_t r;

	if (WIFCONTINUED(*status))
		return CHILD_NOTHING;
	if (WIFSTOPPED(*status)) {
		/* Ctrl-Z stops the whole job, us included, and `fg` continues the whole job, so the
		 * child's stop can be stale by the time we read it: look for a newer event first. */
		r = waitpid(pid, &later, WNOHANG | WCONTINUED);
		if (r == pid && WIFCONTINUED(later))
			return CHILD_NOTHING;
		if (r != pid)
			return CHILD_STOPPED;
		*status = later; /* it exited or died meanwhile */
	}
	return WIFEXITED(*status) || WIFSIGNALED(*status) ? CHILD_ENDED : CHILD_NOTHING;
}

_Noreturn void end_like(int status)
{
	if (WIFSIGNALED(status))
		die_by_signal(WTERMSIG(status));
	_exit(WEXITSTATUS(status));
}

static _Noreturn void mirror_child(pid_t pid)
{
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WUNTRACED | WCONTINUED);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fatal("cannot wait for the program", errno);
		switch (child_event(pid, &status)) {
		case CHILD_STOPPED:
			/* Stop with the child; when someone continues us, continue it. */
			(void)raise(SIGSTOP);
			(void)kill(pid, SIGCONT);
			break;
		case CHILD_ENDED:
			end_like(status);
		}
	}
}

pid_t fork_supervised(struct run_state *rs, const struct step *st, unsigned text, struct supervisor *sv)
{
	struct sigaction sa, current;
	sigset_t blocked;
	pid_t pid;

	/* An inherited SIG_IGN for SIGCHLD would make waitpid fail (upstream resets it too). */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	if (sigaction(SIGCHLD, &sa, NULL) != 0)
		step_failed(st, text, errno, EXIT_FAILED);

	/* Blocked across the fork, so none arrives before the parent's handlers are in place. */
	if (sigemptyset(&blocked) != 0 || sigaddset(&blocked, SIGCHLD) != 0)
		step_failed(st, text, errno, EXIT_FAILED);
	for (size_t i = 0; i < NFORWARDED; i++) {
		/* A signal the caller ignores stays ignored (the child inherits that) and is not
		 * forwarded: `nohup nsctl …` keeps the program alive on SIGHUP. */
		if (sigaction(FORWARDED[i], NULL, &current) != 0)
			step_failed(st, text, errno, EXIT_FAILED);
		sv->ignored[i] = current.sa_handler == SIG_IGN;
		if (sigaddset(&blocked, FORWARDED[i]) != 0)
			step_failed(st, text, errno, EXIT_FAILED);
	}
	if (sigprocmask(SIG_BLOCK, &blocked, &sv->old) != 0)
		step_failed(st, text, errno, EXIT_FAILED);

	pid = fork();
	if (pid < 0)
		step_failed(st, text, errno, EXIT_FAILED);
	if (pid == 0) {
		if (sigprocmask(SIG_SETMASK, &sv->old, NULL) != 0)
			step_failed(st, text, errno, EXIT_FAILED);
		/* Read, not computed: our parent is outside the new PID namespace, where getppid()
		 * gives 0, and an orphan would see that namespace's init instead. */
		rs->forked = 1;
		rs->parent = getppid();
		stay_with_parent(rs, st);
		return 0; /* the child carries on with the next step */
	}
	sv->child = pid;
	return pid;
}

int supervise_signals(const struct supervisor *sv, void (*handler)(int, siginfo_t *, void *), int restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = restart ? SA_RESTART | SA_SIGINFO : SA_SIGINFO;
	if (sigemptyset(&sa.sa_mask) != 0)
		return -1;
	for (size_t i = 0; i < NFORWARDED; i++)
		if (!sv->ignored[i] && sigaction(FORWARDED[i], &sa, NULL) != 0)
			return -1;
	return 0;
}

_Noreturn void abandon_child(const struct supervisor *sv, const struct step *st, unsigned text, int err)
{
	(void)kill(sv->child, SIGKILL);
	(void)waitpid(sv->child, NULL, 0);
	step_failed(st, text, err, EXIT_FAILED);
}

void fork_step(struct run_state *rs, const struct step *st)
{
	struct supervisor sv;

	if (fork_supervised(rs, st, TEXT_WHAT, &sv) == 0)
		return;
	child_pid = sv.child;
	if (supervise_signals(&sv, forward_signal, 1) != 0)
		abandon_child(&sv, st, TEXT_WHAT, errno);
	close_slots(rs);
	if (sigprocmask(SIG_SETMASK, &sv.old, NULL) != 0)
		abandon_child(&sv, st, TEXT_WHAT, errno);
	mirror_child(sv.child);
}
