/*
 * The last step: `exec` with glibc's execvp semantics, or `exec-login-shell` (docs/plan-format.md,
 * "Performing the plan"). A failure exits 127 for ENOENT and 126 for anything else.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"

#define DEFAULT_PATH "/bin:/usr/bin" /* glibc's confstr(_CS_PATH) */
#define PASSWD_MAX (1024u * 1024u)

static char *no_environment[] = {NULL};

/* getenv(3) over an environment vector: the first entry with that name wins, as in glibc. */
const char *env_lookup(char *const *program_env, const char *name)
{
	size_t n = strlen(name);
	for (; *program_env != NULL; program_env++)
		if (strncmp(*program_env, name, n) == 0 && (*program_env)[n] == '=')
			return *program_env + n + 1;
	return NULL;
}

/* The plan's environment, or the one `environ` loaded (empty if none was). */
static char **environment(const struct step *st, const struct list *env)
{
	char **loaded = loaded_environ();
	if (!(st->flags & F_TARGET_ENV))
		return env->v;
	return loaded != NULL ? loaded : no_environment;
}

static _Noreturn void exec_failed(const struct step *st, const char *shell, int escape, int err)
{
	step_failed_with(st, TEXT_WHAT, shell, escape, err, err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* execve, and on ENOEXEC (with `script`) the file run by /bin/sh, as glibc's execvp does: argv
 * becomes ["/bin/sh", path, argv[1], …] in the spare slot before argv. errno is the last attempt's. */
static void execve_or_script(const char *path, char **argv, char **program_env, int script)
{
	char *saved;
	int err;

	execve(path, argv, program_env);
	if (errno != ENOEXEC || !script)
		return;
	saved = argv[0];
	argv[-1] = (char *)"/bin/sh";
	argv[0] = (char *)path;
	execve("/bin/sh", argv - 1, program_env);
	err = errno;
	argv[0] = saved;
	errno = err;
}

static char candidate[PATH_MAX + NAME_MAX + 2];

int exec_search(const char *file, char **argv, char **program_env, int script)
{
	size_t file_len = strlen(file);
	const char *p;
	int got_eacces = 0;

	if (file_len == 0)
		return ENOENT;
	if (strchr(file, '/') != NULL) {
		execve_or_script(file, argv, program_env, script);
		return errno;
	}
	if (file_len > NAME_MAX)
		return ENAMETOOLONG;
	p = env_lookup(program_env, "PATH");
	if (p == NULL)
		p = DEFAULT_PATH;
	/* Each element in turn; an empty one is the current directory; one of PATH_MAX bytes or
	 * more is skipped. EACCES is remembered and the search goes on, as are the errors that mean
	 * "not here"; anything else ends it. */
	for (;;) {
		const char *end = strchrnul(p, ':');
		size_t len = (size_t)(end - p);
		if (len < PATH_MAX) {
			memcpy(candidate, p, len);
			candidate[len] = '/';
			memcpy(candidate + (len > 0 ? len + 1 : 0), file, file_len + 1);
			execve_or_script(candidate, argv, program_env, script);
			switch (errno) {
			case EACCES:
				got_eacces = 1;
				break;
			case ENOENT:
			case ESTALE:
			case ENOTDIR:
			case ENODEV:
			case ETIMEDOUT:
				break;
			default:
				return errno;
			}
		}
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return got_eacces ? EACCES : ENOENT;
}

_Noreturn void exec_step(struct run_state *rs, const struct step *st)
{
	char **argv = st->exec.argv.v, **program_env = environment(st, &st->exec.env);

	close_slots(rs);
	stay_with_parent(rs, st);
	exec_failed(st, NULL, 0, exec_search(st->exec.file.s, argv, program_env, 1));
}

/* ---- The login shell ---------------------------------------------------------------------- */

static char passwd[PASSWD_MAX + 1];

/* Strict decimal: digits only, at most 10 of them, fits in 32 bits. */
static int parse_id(const char *s, size_t n, uint32_t *id)
{
	uint64_t v = 0;
	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*id = (uint32_t)v;
	return 0;
}

/*
 * This root's /etc/passwd, which the target wrote: read only if it is a regular file, not a
 * symbolic link (O_NOFOLLOW), checked through O_PATH before it is opened for reading, so that
 * no device or FIFO is ever opened (opening some devices does something), and opened
 * O_NONBLOCK even so. At most PASSWD_MAX bytes, whole lines only. 0 and *len, or -1.
 */
static int read_passwd(size_t *len)
{
	struct stat a, b;
	size_t got;
	int err, fd = open("/etc/passwd", O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	err = fstat(fd, &a) != 0 || !S_ISREG(a.st_mode);
	(void)close(fd);
	if (err)
		return -1;
	fd = open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &b) != 0 || !S_ISREG(b.st_mode) || b.st_dev != a.st_dev || b.st_ino != a.st_ino)
		err = -1;
	else
		err = read_full(fd, passwd, sizeof passwd, &got);
	(void)close(fd);
	if (err != 0)
		return -1;
	if (got > PASSWD_MAX) /* more than the limit: only the whole lines within it */
		for (got = PASSWD_MAX; got > 0 && passwd[got - 1] != '\n'; got--)
			;
	*len = got;
	return 0;
}

/* The shell of `uid`: the first line whose third field is that uid, the rest of the line after
 * the sixth ':', if not empty (getpwuid with the "files" service). */
static const char *passwd_shell(uid_t uid)
{
	size_t got, pos = 0;

	if (read_passwd(&got) != 0)
		return NULL;
	while (pos < got) {
		char *line = passwd + pos;
		char *nl = memchr(line, '\n', got - pos);
		size_t line_len = nl ? (size_t)(nl - line) : got - pos;
		char *field[7];
		size_t nfield = 1;
		uint32_t line_uid;

		pos += line_len + 1;
		field[0] = line;
		for (size_t i = 0; i < line_len && nfield < 7; i++)
			if (line[i] == ':')
				field[nfield++] = line + i + 1;
		if (nfield < 7 || parse_id(field[2], (size_t)(field[3] - 1 - field[2]), &line_uid) != 0 ||
		    line_uid != uid)
			continue;
		line[line_len] = '\0';
		return field[6][0] != '\0' ? field[6] : NULL;
	}
	return NULL;
}

static char login_argv0[PATH_MAX + 1];

/* $SHELL if set and not empty, else this root's passwd shell of getuid(), else the fallback;
 * as a login shell ("-" + its base name), no search. A shell path the target wrote (its passwd,
 * or $SHELL from its environ) is escaped in the failure line. */
_Noreturn void exec_login_shell_step(struct run_state *rs, const struct step *st)
{
	char **program_env = environment(st, &st->login.env);
	const char *shell = env_lookup(program_env, "SHELL"), *base;
	char *argv[2];
	int from_target = (st->flags & F_TARGET_ENV) != 0;

	close_slots(rs);
	stay_with_parent(rs, st);
	if (shell == NULL || shell[0] == '\0') {
		shell = passwd_shell(getuid());
		from_target = 1;
	}
	if (shell == NULL) {
		shell = st->login.fallback.s;
		from_target = 0;
	}
	/* execve fails such a path with ENAMETOOLONG before it looks at argv; failing first keeps a
	 * long fallback (up to 8 MiB) out of login_argv0. */
	if (strlen(shell) >= PATH_MAX)
		exec_failed(st, shell, from_target, ENAMETOOLONG);
	base = strrchr(shell, '/');
	base = base ? base + 1 : shell;
	login_argv0[0] = '-';
	memcpy(login_argv0 + 1, base, strlen(base) + 1);
	argv[0] = login_argv0;
	argv[1] = NULL;
	execve(shell, argv, program_env);
	exec_failed(st, shell, from_target, errno);
}
