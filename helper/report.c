/*
 * Every message the helper prints (docs/plan-format.md, "When a step fails").
 *
 * The planner writes the texts, and escapes whatever part of them a target controls. The helper
 * adds only errno texts (errno.c), the login shell's path, the names of dropped variables and a
 * target's SELinux context, and escapes the last three when they come from the target: printable
 * ASCII passes, every other byte becomes \xHH, so no byte a target chose reaches the caller's
 * terminal as a control character.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

void out_init(struct out *o, int fd)
{
	o->fd = fd;
	o->err = 0;
	o->len = 0;
}

int out_flush(struct out *o)
{
	if (o->len > 0 && o->err == 0)
		o->err = write_full(o->fd, o->buf, o->len);
	o->len = 0;
	return o->err;
}

void out_bytes(struct out *o, const void *p, size_t n)
{
	const char *s = p;
	while (n > 0) {
		size_t room = sizeof o->buf - o->len;
		size_t k = n < room ? n : room;
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
		if (o->len == sizeof o->buf)
			(void)out_flush(o);
	}
}

void out_str(struct out *o, const char *s)
{
	out_bytes(o, s, strlen(s));
}

void out_u64(struct out *o, uint64_t v)
{
	char buf[20];
	size_t i = sizeof buf;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	out_bytes(o, buf + i, sizeof buf - i);
}

void out_escaped(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c <= 0x7e) {
			out_bytes(o, &s[i], 1);
		} else {
			char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
			out_bytes(o, e, 4);
		}
	}
}

void ignore_sigpipe(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL); /* nothing better to do if it fails */
}

static void error_line(struct out *o, int err)
{
	char buf[32];
	out_str(o, ": ");
	out_str(o, error_text(err, buf));
	out_str(o, "\n");
}

_Noreturn void step_failed_with(const struct step *st, unsigned text, const char *extra, int escape, int err, int code)
{
	struct out o;

	ignore_sigpipe(); /* on the way out: our status must be `code`, not a signal */
	out_init(&o, STDERR_FILENO);
	out_str(&o, "nsctl: ");
	out_bytes(&o, st->texts[text].s, st->texts[text].len);
	if (extra != NULL) {
		out_str(&o, " ");
		if (escape)
			out_escaped(&o, extra, strlen(extra));
		else
			out_str(&o, extra);
	}
	error_line(&o, err);
	if (st->hint.len > 0) {
		out_str(&o, "nsctl: ");
		out_bytes(&o, st->hint.s, st->hint.len);
		out_str(&o, "\n");
	}
	(void)out_flush(&o); /* nobody left to tell if this fails */
	_exit(code);
}

_Noreturn void step_failed_plain(const struct step *st, unsigned text, const char *extra, size_t extra_len)
{
	struct out o;

	ignore_sigpipe();
	out_init(&o, STDERR_FILENO);
	out_str(&o, "nsctl: ");
	out_bytes(&o, st->texts[text].s, st->texts[text].len);
	if (extra != NULL) {
		out_str(&o, " '");
		out_escaped(&o, extra, extra_len);
		out_str(&o, "'");
	}
	out_str(&o, "\n");
	if (st->hint.len > 0) {
		out_str(&o, "nsctl: ");
		out_bytes(&o, st->hint.s, st->hint.len);
		out_str(&o, "\n");
	}
	(void)out_flush(&o);
	_exit(EXIT_FAILED);
}

_Noreturn void step_failed(const struct step *st, unsigned text, int err, int code)
{
	step_failed_with(st, text, NULL, 0, err, code);
}

_Noreturn void fatal(const char *what, int err)
{
	struct out o;

	ignore_sigpipe();
	out_init(&o, STDERR_FILENO);
	out_str(&o, "nsctl: ");
	out_str(&o, what);
	error_line(&o, err);
	(void)out_flush(&o);
	_exit(EXIT_FAILED);
}

_Noreturn void fatal_text(const char *prefix, const char *reason)
{
	struct out o;

	ignore_sigpipe();
	out_init(&o, STDERR_FILENO);
	out_str(&o, "nsctl: ");
	out_str(&o, prefix);
	out_str(&o, reason);
	out_str(&o, "\n");
	(void)out_flush(&o);
	_exit(EXIT_FAILED);
}

void print_note(const struct str *note, char *const *names, size_t n)
{
	struct sigaction ign, old;
	struct out o;
	int swapped;

	/* The program still has to run: ignore SIGPIPE only while we write, and put back what the
	 * caller had, so the program inherits it. */
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	swapped = sigaction(SIGPIPE, &ign, &old) == 0;
	out_init(&o, STDERR_FILENO);
	out_str(&o, "nsctl: ");
	out_bytes(&o, note->s, note->len);
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(names[i], '=');
		out_str(&o, " ");
		out_escaped(&o, names[i], eq ? (size_t)(eq - names[i]) : strlen(names[i]));
	}
	out_str(&o, "\n");
	(void)out_flush(&o); /* a note nobody can read is not a reason to fail */
	if (swapped)
		(void)sigaction(SIGPIPE, &old, NULL);
}

void helper_message(const char *a, const char *b, const char *c)
{
	struct out o;

	out_init(&o, STDERR_FILENO);
	out_str(&o, "nsctl-helper: ");
	out_str(&o, a);
	if (b != NULL)
		out_str(&o, b);
	if (c != NULL)
		out_str(&o, c);
	out_str(&o, "\n");
	(void)out_flush(&o);
}

_Noreturn void die_by_signal(int sig)
{
	struct sigaction dfl;
	sigset_t set;

	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	/* SIGKILL and SIGSTOP have no action to reset (EINVAL), and need none. */
	(void)sigaction(sig, &dfl, NULL);
	if (sigemptyset(&set) == 0 && sigaddset(&set, sig) == 0 && sigprocmask(SIG_UNBLOCK, &set, NULL) == 0)
		(void)raise(sig);
	/* Still alive: a signal whose default is to be ignored cannot end us. */
	_exit(EXIT_FAILED);
}
