/*
 * `pty` (docs/plan-format.md): a terminal of its own for the program, and the relay between it
 * and the caller's terminal, so that nothing in the target ever holds a descriptor of the caller's
 * terminal (docs/security.md, "The caller's terminal").
 *
 * One fork, supervise.c's (a plan has `fork` or `pty`, never both): the child makes the new
 * terminal its controlling terminal and descriptors 0–2 and goes on with the next step; the
 * parent stays behind as the process the caller started. It puts the caller's terminal in raw
 * mode, so that Ctrl-C and Ctrl-Z are bytes for the program's terminal to turn into signals;
 * copies bytes both ways and the window size; passes signals on; and ends the way the child
 * ends, with the caller's terminal mode back on every way out but SIGKILL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "helper.h"

#define DEVPTS_SUPER_MAGIC 0x1cd1
/* linux/openat2.h, which musl's headers lack. */
struct resolve_how {
	uint64_t flags, mode, resolve;
};
#define RESOLVE_NO_XDEV 0x01u
#define RESOLVE_NO_MAGICLINKS 0x02u
#define RESOLVE_NO_SYMLINKS 0x04u
#define RESOLVE_BENEATH 0x08u

#define EOF_BYTE 4                 /* ^D, the program's terminal's VEOF when the caller has no terminal */
#define DRAIN_MAX (4u * 1024u * 1024u) /* after the child ends: more than the terminal can hold */
#define MAX_SIGNAL 65

/* Bytes on their way in one direction: data[off .. len) is still to be written. */
struct buffer {
	size_t off, len;
	char data[65536];
};
static struct buffer input;  /* the caller's stdin → the program's terminal */
static struct buffer output; /* the program's terminal → the caller's stdout */

static struct {
	const struct step *st;
	struct supervisor sv;
	int master;      /* the terminal's multiplexer; -1 once hung up */
	int master_open; /* someone on the program's side has the terminal open (no EIO yet) */
	int reading;     /* the caller's stdin is still read */
	int tty;         /* the caller's stdin is a terminal: `saved` is its mode */
	int raw;         /* … and it is in raw mode now */
	int size_from;   /* the descriptor whose window size the program's terminal follows, or -1 */
	char last;       /* the last byte written to the program's terminal, 0 before the first */
	struct termios saved;
} r = {.master = -1, .size_from = -1};

/* Signals wake the loop through a pipe; `pending` says which arrived. */
static int wake[2] = {-1, -1};
static volatile sig_atomic_t pending[MAX_SIGNAL];

static void on_signal(int sig, siginfo_t *info, void *context)
{
	int saved = errno;
	char byte = 0;

	(void)info;
	(void)context;
	if (sig > 0 && sig < MAX_SIGNAL)
		pending[sig] = 1;
	if (write(wake[1], &byte, 1) < 0) {
		/* Full: a wake-up is waiting already. */
	}
	errno = saved;
}

/* ---- Getting the terminal ------------------------------------------------------------------ */

/*
 * The multiplexer `name` in `dir`, unlocked, and its other end. With `devpts` the directory is
 * the target's: it must be a devpts file system, and `name` is looked up without following a
 * symbolic link or crossing a mount (openat2; before Linux 5.6, O_NOFOLLOW on the last component),
 * so that no file the target put there is opened. The other end comes from the multiplexer
 * itself (TIOCGPTPEER), not from a path the target could swap.
 */
static int open_terminal(const struct run_state *rs, const struct step *st, int *other)
{
	static const int FLAGS = O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
	int dir = rs->fd[st->pty.dir], unlock = 0, fd;
	struct statfs sfs;

	if (st->flags & F_PTY_DEVPTS) {
		struct resolve_how how = {(uint64_t)FLAGS, 0,
					  RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
		if (fstatfs(dir, &sfs) != 0)
			step_failed(st, TEXT_PTY_OPEN, errno, EXIT_FAILED);
		if (sfs.f_type != DEVPTS_SUPER_MAGIC)
			step_failed(st, TEXT_PTY_OPEN, ENODEV, EXIT_FAILED);
		fd = (int)syscall(SYS_openat2, dir, st->pty.name.s, &how, sizeof how);
		if (fd < 0 && errno == ENOSYS)
			fd = openat(dir, st->pty.name.s, FLAGS | O_NOFOLLOW);
	} else {
		fd = openat(dir, st->pty.name.s, FLAGS);
	}
	if (fd < 0)
		step_failed(st, TEXT_PTY_OPEN, errno, EXIT_FAILED);
	if (ioctl(fd, (int)TIOCSPTLCK, &unlock) != 0)
		step_failed(st, TEXT_PTY_OPEN, errno, EXIT_FAILED);
	*other = ioctl(fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*other < 0)
		step_failed(st, TEXT_PTY_OPEN, errno, EXIT_FAILED);
	return fd;
}

/* The child: a session of its own, the new terminal as its controlling terminal and 0, 1, 2. */
static void become_terminal(const struct step *st, int other)
{
	(void)close(r.master);
	(void)close(wake[0]);
	(void)close(wake[1]);
	if (setsid() < 0 || ioctl(other, TIOCSCTTY, 0) != 0)
		step_failed(st, TEXT_PTY_WHAT, errno, EXIT_FAILED);
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(other, fd) != fd)
			step_failed(st, TEXT_PTY_WHAT, errno, EXIT_FAILED);
	(void)close(other); /* above 2: 0–2 were open, so it was not one of them */
}

/* ---- The caller's terminal ----------------------------------------------------------------- */

static int raw_on(void)
{
	struct termios t = r.saved;

	if (!r.tty || r.raw)
		return 0;
	cfmakeraw(&t);
	while (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) != 0)
		if (errno != EINTR)
			return -1;
	r.raw = 1;
	return 0;
}

/* Every way out goes through here; a terminal that is gone (EIO) has no mode to restore. */
static void raw_off(void)
{
	if (!r.raw)
		return;
	r.raw = 0;
	while (tcsetattr(STDIN_FILENO, TCSADRAIN, &r.saved) != 0 && errno == EINTR)
		;
}

static void resize(void)
{
	struct winsize ws;

	if (r.size_from >= 0 && r.master >= 0 && ioctl(r.size_from, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(r.master, (int)TIOCSWINSZ, &ws); /* the kernel sends the program SIGWINCH */
}

/* The program's terminal hangs up, as when a connection closes: the kernel sends its session
 * SIGHUP. Nothing is relayed any more; the child is still waited for. */
static void hang_up(void)
{
	raw_off();
	if (r.master >= 0)
		(void)close(r.master);
	r.master = -1;
	r.master_open = 0;
	r.reading = 0;
	input.off = input.len = 0;
}

static _Noreturn void give_up(unsigned text, int err)
{
	raw_off();
	abandon_child(&r.sv, r.st, text, err);
}

/* ---- The relay ----------------------------------------------------------------------------- */

/* The child ended: what its terminal still holds goes out, then the caller's mode comes back. */
static _Noreturn void finish(int status)
{
	size_t drained = 0;

	if (output.len > output.off && write_full(STDOUT_FILENO, output.data + output.off, output.len - output.off) != 0)
		r.master_open = 0;
	/* A process the program left behind may keep writing: stop at what the terminal held. */
	while (r.master >= 0 && r.master_open && drained < DRAIN_MAX) {
		ssize_t got = read(r.master, output.data, sizeof output.data);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || write_full(STDOUT_FILENO, output.data, (size_t)got) != 0)
			break;
		drained += (size_t)got;
	}
	raw_off();
	end_like(status);
}

static void reap(void)
{
	for (;;) {
		int status;
		pid_t got = waitpid(r.sv.child, &status, WNOHANG | WUNTRACED | WCONTINUED);
		if (got == 0)
			return;
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			give_up(TEXT_PTY_RELAY, errno);
		switch (child_event(r.sv.child, &status)) {
		case CHILD_STOPPED:
			/* As `fork`: stop with the child, the caller's terminal as it was meanwhile. */
			raw_off();
			(void)raise(SIGSTOP);
			if (r.master >= 0) {
				(void)raw_on();
				resize();
			}
			(void)kill(r.sv.child, SIGCONT);
			break;
		case CHILD_ENDED:
			finish(status);
		}
	}
}

/*
 * The program has a session of its own, so no signal from the caller's terminal reached it: every
 * forwarded signal is passed on, whoever sent it. A window resize is the kernel's to pass on
 * (TIOCSWINSZ); a continue puts the caller's terminal back in raw mode; HUP, INT and TERM end the
 * relay: the caller's terminal mode comes back at once, the program gets the signal and its
 * terminal hangs up, and nsctl then ends the way the program does.
 */
static void signals(void)
{
	char drain[64];

	while (read(wake[0], drain, sizeof drain) > 0)
		;
	for (size_t i = 0; i < NFORWARDED; i++) {
		int sig = FORWARDED[i];
		if (!pending[sig])
			continue;
		pending[sig] = 0;
		switch (sig) {
		case SIGWINCH:
			resize();
			break;
		case SIGCONT:
			if (r.master >= 0) {
				(void)raw_on(); /* in the background this stops us (SIGTTOU) until `fg` */
				resize();
			}
			(void)kill(r.sv.child, SIGCONT);
			break;
		case SIGHUP:
		case SIGINT:
		case SIGTERM:
			raw_off();
			(void)kill(r.sv.child, sig);
			hang_up();
			break;
		default:
			(void)kill(r.sv.child, sig);
		}
	}
	if (pending[SIGCHLD]) {
		pending[SIGCHLD] = 0;
		reap();
	}
}

static void from_caller(void)
{
	ssize_t got = read(STDIN_FILENO, input.data, sizeof input.data);

	if (got > 0) {
		input.off = 0;
		input.len = (size_t)got;
		return;
	}
	if (got < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	/* The end of the input (a terminal that hung up says the rest with SIGHUP). From a pipe
	 * or file it becomes the end of file of the program's terminal: VEOF, twice after an
	 * unfinished line, whose end the first one only is. */
	r.reading = 0;
	if (r.tty)
		return;
	input.off = 0;
	input.len = 0;
	if (r.last != 0 && r.last != '\n')
		input.data[input.len++] = EOF_BYTE;
	input.data[input.len++] = EOF_BYTE;
}

static void to_program(void)
{
	ssize_t put = write(r.master, input.data + input.off, input.len - input.off);

	if (put > 0) {
		input.off += (size_t)put;
		r.last = input.data[input.off - 1];
		if (input.off == input.len)
			input.off = input.len = 0;
		return;
	}
	if (put < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	input.off = input.len = 0; /* EIO: nobody on the program's side has the terminal open */
}

static void from_program(void)
{
	ssize_t got = read(r.master, output.data, sizeof output.data);

	if (got > 0) {
		output.off = 0;
		output.len = (size_t)got;
		return;
	}
	if (got < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (got < 0 && errno != EIO)
		give_up(TEXT_PTY_RELAY, errno);
	r.master_open = 0; /* every descriptor of the terminal on the program's side is closed */
}

static void to_caller(void)
{
	ssize_t put = write(STDOUT_FILENO, output.data + output.off, output.len - output.off);

	if (put > 0) {
		output.off += (size_t)put;
		if (output.off == output.len)
			output.off = output.len = 0;
		return;
	}
	if (put < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	/* Nobody reads the program's output any more (a closed pipe, a terminal gone). */
	output.off = output.len = 0;
	hang_up();
}

static _Noreturn void relay(void)
{
	for (;;) {
		struct pollfd p[4];
		nfds_t n = 0;
		int in = -1, m = -1, out = -1;
		short want = 0;

		p[n++] = (struct pollfd){wake[0], POLLIN, 0};
		if (r.reading && r.master >= 0 && input.len == 0) {
			in = (int)n;
			p[n++] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
		}
		/* One buffer each way: the terminal is not read while its last bytes wait for the
		 * caller's stdout, and not polled at all when it has nothing to give or take. */
		if (r.master >= 0 && r.master_open && output.len == 0)
			want = (short)(want | POLLIN);
		if (r.master >= 0 && input.len > 0)
			want = (short)(want | POLLOUT);
		if (want != 0) {
			m = (int)n;
			p[n++] = (struct pollfd){r.master, want, 0};
		}
		if (output.len > 0) {
			out = (int)n;
			p[n++] = (struct pollfd){STDOUT_FILENO, POLLOUT, 0};
		}
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			give_up(TEXT_PTY_RELAY, errno);
		}
		if (p[0].revents != 0)
			signals(); /* may hang up: r.master is checked again below */
		/* What was just read is written at once, without a poll first: the other side can
		 * nearly always take it, and a poll per chunk would double the calls. */
		if (in >= 0 && p[in].revents != 0 && r.reading)
			from_caller();
		if (r.master >= 0 && input.len > 0 && ((m >= 0 && (p[m].revents & (POLLOUT | POLLERR))) || input.off == 0))
			to_program();
		if (m >= 0 && r.master >= 0 && (p[m].revents & (POLLIN | POLLHUP | POLLERR)) && r.master_open && output.len == 0)
			from_program();
		if (output.len > 0 && ((out >= 0 && p[out].revents != 0) || output.off == 0))
			to_caller();
	}
}

void pty_step(struct run_state *rs, const struct step *st)
{
	struct sigaction sa;
	struct winsize ws;
	int other;

	r.st = st;
	r.master = open_terminal(rs, st, &other);
	r.master_open = 1;
	r.reading = 1;
	/* The caller's terminal: its modes (erase, interrupt, …) for the new one, its size. */
	r.tty = tcgetattr(STDIN_FILENO, &r.saved) == 0;
	if (r.tty && tcsetattr(other, TCSANOW, &r.saved) != 0)
		step_failed(st, TEXT_PTY_WHAT, errno, EXIT_FAILED);
	r.size_from = r.tty ? STDIN_FILENO : ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 ? STDOUT_FILENO : -1;
	resize();
	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0)
		step_failed(st, TEXT_PTY_WHAT, errno, EXIT_FAILED);

	if (fork_supervised(rs, st, TEXT_PTY_WHAT, &r.sv) == 0) {
		become_terminal(st, other);
		return; /* the child carries on with the next step */
	}
	(void)close(other);
	close_slots(rs);
	/* Signals stay blocked until the handlers are in place; none restarts a call, so a write
	 * blocked on a slow stdout returns and the loop sees the signal. SIGPIPE becomes EPIPE. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0 || supervise_signals(&r.sv, on_signal, 0) != 0)
		give_up(TEXT_PTY_WHAT, errno);
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	if (sigemptyset(&sa.sa_mask) != 0 || sigaction(SIGCHLD, &sa, NULL) != 0 || raw_on() != 0 ||
	    sigprocmask(SIG_SETMASK, &r.sv.old, NULL) != 0)
		give_up(TEXT_PTY_WHAT, errno);
	relay();
}
