/*
 * What the helper's parts share (everything but the pure decoder, which is plan.h).
 *
 * The parts, in the order a run goes through them:
 *   main.c       the command line: `run NODE SCRIPT ARG…` or `--check`
 *   planner.c    runs the planner (seccomp.c: its filter), reads its frames, answers its
 *                queries, waits for it, and mirrors how it ended
 *   decode.c     the pure decoder and validator (plan.h); dump.c prints what `--check` shows
 *   perform.c    the steps, in the helper's own process
 *   environ.c    `environ`: reading and loading the target's environment
 *   context.c    `exec-context`: the target's SELinux context as the exec context
 *   supervise.c  `fork`: the parent that stays behind
 *   pty.c        `pty`: a new terminal for the program, and the parent that relays it
 *   exec.c       `exec` and `exec-login-shell`
 *   mounts.c     the --host-tools view: open-tree, unshare-mnt, make-private, move-mount,
 *                mount-proc, chdir-in
 *   report.c     every message the helper prints, and how target-controlled bytes are escaped
 *   errno.c      glibc's strerror texts
 *   io.c         reading and writing whole buffers, reading one plan frame
 */
#ifndef NSCTL_HELPER_H
#define NSCTL_HELPER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "plan.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

/* ---- io.c ---- */

/* Reads until `want` bytes or EOF, retrying EINTR. 0 (and *got), or the errno of a failed read. */
int read_full(int fd, void *buf, size_t want, size_t *got);
/* Writes all of buf, retrying EINTR and short writes. 0, or an errno. */
int write_full(int fd, const void *buf, size_t len);

/*
 * The rest of one plan frame from fd, up to EOF: `frame` already holds `have` (≤ 16) bytes. Reads
 * the header, checks it, reads exactly the body and one byte more, and decodes. 0: a valid plan;
 * -1: invalid, the reason in *why; or an errno > 0 if a read failed.
 */
#define FRAME_MAX (HEADER_LEN + PLAN_BODY_MAX + 1u)
int read_plan_frame(int fd, uint8_t *frame, size_t have, struct plan *plan, struct reason *why);

/* ---- dump.c ---- */

/* The `--check` dump of a valid plan on fd; 0 or an errno. */
int dump_plan(int fd, const struct plan *plan);

/* ---- errno.c ---- */

/* glibc's strerror(err) text in the C locale; `buf` holds "Unknown error N" for the rest. */
const char *error_text(int err, char buf[32]);

/* ---- report.c ---- */

/* A buffered writer for one message, flushed in as few writes as possible. */
struct out {
	int fd;
	int err; /* the first write error, or 0 */
	size_t len;
	char buf[4096];
};

void out_init(struct out *o, int fd);
void out_bytes(struct out *o, const void *p, size_t n);
void out_str(struct out *o, const char *s);
void out_u64(struct out *o, uint64_t v);
/* Target-controlled bytes: printable ASCII passes, every other byte becomes \xHH. */
void out_escaped(struct out *o, const char *s, size_t n);
int out_flush(struct out *o);

/*
 * Failure of a step: "nsctl: <text>: <strerror>", then "nsctl: <hint>" if the step has one,
 * on stderr; exit `code`. `extra`, if not NULL, follows the text after a space (the login
 * shell's path), escaped if `escape`.
 */
_Noreturn void step_failed(const struct step *st, unsigned text, int err, int code);
_Noreturn void step_failed_with(const struct step *st, unsigned text, const char *extra, int escape, int err,
				int code);
/*
 * A failure printed without an errno, as upstream's errx(): "nsctl: <text>", then ` '<extra>'`
 * (escaped) if extra is not NULL, then the hint; exit 1.
 */
_Noreturn void step_failed_plain(const struct step *st, unsigned text, const char *extra, size_t extra_len);
/* A failure that belongs to no step: "nsctl: <what>: <strerror>", exit 1. */
_Noreturn void fatal(const char *what, int err);
/* "nsctl: <what>" and exit 1 (the planner's invalid frames). */
_Noreturn void fatal_text(const char *prefix, const char *reason);
/* The note of an `environ` step: "nsctl: <note> NAME …", the names escaped. */
void print_note(const struct str *note, char *const *names, size_t n);
/* `--check` and usage problems: "nsctl-helper: …". */
void helper_message(const char *a, const char *b, const char *c);
/* Ignore SIGPIPE from here on: a vanished reader must not decide our exit status. */
void ignore_sigpipe(void);
/* Die the way a child died: `sig` back to its default action, unblocked, raised; else exit 1. */
_Noreturn void die_by_signal(int sig);

/* ---- seccomp.c ---- */

/* The planner's filter (NO_NEW_PRIVS must be set already): 0 or an errno. */
int install_planner_filter(void);
/* The filter's classic BPF program: *len instructions of 8 bytes (u16 code, u8 jt, u8 jf, u32 k). */
const void *planner_filter(size_t *len);

/* ---- planner.c ---- */

/*
 * `run`: never returns. argv[0..argc) is main's; envp is handed to the planner, nothing else.
 * `frame` (FRAME_MAX bytes) and `plan` are the buffers the plan is read and decoded into.
 */
_Noreturn void run(int argc, char **argv, char **envp, uint8_t *frame, struct plan *plan);

/* ---- perform.c ---- */

/* What the steps share while they run. */
struct run_state {
	const struct plan *plan;
	int fd[MAX_SLOTS];         /* -1: not open (yet), or left empty by a soft-denied open */
	uint32_t joined[MAX_SLOTS]; /* namespaces joined through each slot */
	int setgroups_failed;
	uid_t owner_uid;
	gid_t owner_gid;
	int forked;                /* this is the child of a `fork` step */
	pid_t parent;              /* … whose parent, as getppid() read it then */
};

_Noreturn void perform(const struct plan *plan);
void close_slots(struct run_state *rs);
/* The child of `fork`, and after any credential change there: PR_SET_PDEATHSIG again. */
void stay_with_parent(const struct run_state *rs, const struct step *st);

/* ---- environ.c ---- */

/* `environ` (docs/plan-format.md): loads, or leaves alone, the target environment. */
void environ_step(struct run_state *rs, const struct step *st);
/* The loaded environment, NULL-terminated, or NULL if none was loaded. */
char **loaded_environ(void);

/* ---- context.c ---- */

/* `exec-context` (docs/plan-format.md): the context read through `proc` becomes the exec context. */
void exec_context_step(struct run_state *rs, const struct step *st);

/* ---- supervise.c ---- */

/* `fork`: returns in the child; the parent supervises it and never returns. */
void fork_step(struct run_state *rs, const struct step *st);

/* The signals a supervising parent passes on to the child (HUP INT QUIT TERM USR1 USR2 ALRM
 * WINCH CONT), in this order. */
#define NFORWARDED 9
extern const int FORWARDED[NFORWARDED];

/* What a parent that forked once knows of the fork. */
struct supervisor {
	pid_t child;
	sigset_t old;             /* the signal mask before the fork */
	int ignored[NFORWARDED];  /* FORWARDED[i] was ignored by the caller: leave it so */
};

/*
 * The one fork of `fork` and `pty`: SIGCHLD to its default action, SIGCHLD and the forwarded
 * signals blocked across it. Returns 0 in the child (mask restored, PR_SET_PDEATHSIG set) and the
 * child's PID in the parent, whose signals stay blocked (sv->old has the mask to restore) until
 * its handlers are in place. Failures are `text` of the step.
 */
pid_t fork_supervised(struct run_state *rs, const struct step *st, unsigned text, struct supervisor *sv);
/* `handler` for every forwarded signal the caller does not ignore (SA_RESTART if `restart`); 0, or
 * -1 and errno. */
int supervise_signals(const struct supervisor *sv, void (*handler)(int, siginfo_t *, void *), int restart);
/* The parent cannot supervise: SIGKILL the child, reap it, fail with `text` and `err`. */
_Noreturn void abandon_child(const struct supervisor *sv, const struct step *st, unsigned text, int err);

/* What a status from waitpid(WUNTRACED | WCONTINUED) means for the parent. */
enum { CHILD_NOTHING, CHILD_STOPPED, CHILD_ENDED };
/* CHILD_STOPPED: stop too, then continue the child. CHILD_ENDED: *status says how (it may have
 * been replaced by a newer event than the stop read first). */
int child_event(pid_t pid, int *status);
/* End this process the way the child ended: its exit status, or death by its signal. */
_Noreturn void end_like(int status);

/* ---- pty.c ---- */

/* `pty`: returns in the child, on its new terminal; the parent relays and never returns. */
void pty_step(struct run_state *rs, const struct step *st);
/* ---- mounts.c ---- */

void open_tree_step(struct run_state *rs, const struct step *st);
void unshare_mnt_step(const struct step *st);
void make_private_step(const struct step *st);
void move_mount_step(const struct run_state *rs, const struct step *st);
void mount_proc_step(const struct step *st);
void chdir_in_step(const struct run_state *rs, const struct step *st);

/* ---- exec.c ---- */

_Noreturn void exec_step(struct run_state *rs, const struct step *st);
/*
 * glibc execvp's search for `file` in the PATH of `env` (/bin:/usr/bin without one); `script`: a
 * file the kernel cannot execute (ENOEXEC) is run by /bin/sh, which needs a spare slot before
 * argv. Returns only on failure, with the errno to report.
 */
int exec_search(const char *file, char **argv, char **env, int script);
/* getenv(3) over an environment vector. */
const char *env_lookup(char *const *env, const char *name);
_Noreturn void exec_login_shell_step(struct run_state *rs, const struct step *st);

#endif
