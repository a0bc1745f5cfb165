/* Public domain. See README.md for the licence of this project. */
/*
 * Run a command over pipes and report what it does through callbacks: its
 * stdout as it comes, progress lines from file descriptor 3, and its exit
 * with the reason it failed.  Its stderr is copied to ours and the end of
 * it kept.  Nothing here knows of Gearman: gm-work.c and coproc.c turn the
 * callbacks into packets.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "gm-work.h"

/* Longest line accepted on file descriptor 3 (progress). */
#define PROGRESS_MAX	128
/* At most this much is read from a pipe after its writer has exited. */
#define DRAIN_MAX	(4U * 1024 * 1024)
/* Bytes read from a pipe per callback. */
#define READ_MAX	(256 * 1024)

/* The child's pipes, as indexes into j_bev. */
enum { P_IN, P_OUT, P_ERR, P_PROG, P_COUNT };

struct job {
	TAILQ_ENTRY(job)	 j_entry;
	char			*j_name;	/* argv[0], for reasons */
	char			*j_label;	/* for messages */
	const struct job_cb	*j_cb;
	void			*j_arg;
	pid_t			 j_pid;		/* -1: reaped */
	struct bufferevent	*j_bev[P_COUNT];
	struct evbuffer		*j_out;		/* stdout not yet taken */
	struct evbuffer		*j_tail;	/* end of stderr */
	struct event		*j_timer;
	long long		 j_timeout;	/* seconds the timer was set to */
	int			 j_keepin;	/* stdin stays open */
	int			 j_timedout;
};

static TAILQ_HEAD(, job) jobs = TAILQ_HEAD_INITIALIZER(jobs);

static void	job_read(struct bufferevent *, void *);
static void	job_wrote_in(struct bufferevent *, void *);
static void	job_event(struct bufferevent *, short, void *);
static void	job_expired(evutil_socket_t, short, void *);

/* Is environment entry e ("NAME=...") set by one of vars? */
static int
job_overridden(const char *e, char **vars)
{
	size_t	 n;

	for (; vars != NULL && *vars != NULL; vars++) {
		n = strcspn(*vars, "=");
		if (strncmp(e, *vars, n + 1) == 0)
			return 1;
	}
	return 0;
}

/*
 * Start argv with fds as its descriptors 0 to 3, in a process group of its
 * own, with SIGPIPE back to its default and vars ("NAME=value", NULL
 * terminated) in its environment.  posix_spawn does not copy our address
 * space and tells when the exec failed.  Returns the pid, or -1 with errno
 * set.  The fds are all above 3 (gm-work keeps 0 to 3 taken), so no dup2
 * clobbers another.
 */
static pid_t
job_spawn(char **argv, char **vars, int fds[P_COUNT])
{
	extern char			**environ;
	posix_spawn_file_actions_t	  fa;
	posix_spawnattr_t		  attr;
	sigset_t			  set;
	char				**env;
	size_t				  n = 0, nv = 0, k = 0, i;
	pid_t				  pid;
	int				  rv;

	while (environ[n] != NULL)
		n++;
	while (vars != NULL && vars[nv] != NULL)
		nv++;
	env = xcalloc(n + nv + 1, sizeof(*env));
	for (i = 0; i < n; i++)
		if (!job_overridden(environ[i], vars))
			env[k++] = environ[i];
	for (i = 0; i < nv; i++)
		env[k++] = vars[i];

	posix_spawn_file_actions_init(&fa);
	for (i = 0; i < P_COUNT; i++)
		posix_spawn_file_actions_adddup2(&fa, fds[i], (int)i);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(&attr, 0);
	sigemptyset(&set);
	posix_spawnattr_setsigmask(&attr, &set);
	sigaddset(&set, SIGPIPE);
	posix_spawnattr_setsigdefault(&attr, &set);

	rv = posix_spawnp(&pid, argv[0], &fa, &attr, argv, env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (rv != 0) {
		errno = rv;
		return -1;
	}
	return pid;
}

/* Wrap the parent's end of a pipe in a bufferevent. */
static struct bufferevent *
job_bev(struct job *j, int fd, bufferevent_data_cb rd, bufferevent_data_cb wr)
{
	struct bufferevent	*bev;

	evutil_make_socket_nonblocking(fd);
	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		fatalx("bufferevent_socket_new");
	bufferevent_setcb(bev, rd, wr, job_event, j);
	bufferevent_set_max_single_read(bev, READ_MAX);
	bufferevent_enable(bev, rd != NULL ? EV_READ : EV_WRITE);
	return bev;
}

/*
 * Start argv (see job_spawn for vars) with in (taken over) on its stdin,
 * which is then closed unless keepin, and report to cb with arg.  Returns
 * NULL with errno set when the command cannot be run.
 */
struct job *
job_start(char **argv, char **vars, struct evbuffer *in, int keepin,
    const struct job_cb *cb, void *arg)
{
	struct job	*j;
	int		 p[P_COUNT][2], child[P_COUNT], i, e;

	for (i = 0; i < P_COUNT; i++)
		p[i][0] = p[i][1] = -1;
	for (i = 0; i < P_COUNT; i++)
		if (pipe2(p[i], O_CLOEXEC) == -1)
			goto fail;
	/* The child reads stdin and writes the others. */
	child[P_IN] = p[P_IN][0];
	for (i = P_OUT; i < P_COUNT; i++)
		child[i] = p[i][1];
	j = xcalloc(1, sizeof(*j));
	if ((j->j_pid = job_spawn(argv, vars, child)) == -1) {
		free(j);
		goto fail;
	}
	for (i = 0; i < P_COUNT; i++)
		close(child[i]);
	j->j_name = xstrdup(argv[0]);
	j->j_label = xstrdup(argv[0]);
	j->j_cb = cb;
	j->j_arg = arg;
	j->j_keepin = keepin;
	if ((j->j_out = evbuffer_new()) == NULL ||
	    (j->j_tail = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	if ((j->j_timer = evtimer_new(base, job_expired, j)) == NULL)
		fatalx("evtimer_new");
	TAILQ_INSERT_TAIL(&jobs, j, j_entry);

	j->j_bev[P_IN] = job_bev(j, p[P_IN][1], NULL, job_wrote_in);
	for (i = P_OUT; i < P_COUNT; i++)
		j->j_bev[i] = job_bev(j, p[i][0], job_read, NULL);
	if (in != NULL)
		job_write(j, in);
	else if (!keepin)
		job_close_in(j);
	return j;

fail:
	e = errno;
	for (i = 0; i < P_COUNT; i++) {
		if (p[i][0] != -1)
			close(p[i][0]);
		if (p[i][1] != -1)
			close(p[i][1]);
	}
	if (in != NULL)
		evbuffer_free(in);
	errno = e;
	return NULL;
}

/* Which pipe of its job a bufferevent is, or -1. */
static int
job_which(struct job *j, struct bufferevent *bev)
{
	int	 i;

	for (i = 0; i < P_COUNT; i++)
		if (j->j_bev[i] == bev)
			return i;
	return -1;
}

/* Close one of the job's pipes. */
static void
job_close(struct job *j, int which)
{
	if (j->j_bev[which] != NULL) {
		bufferevent_free(j->j_bev[which]);
		j->j_bev[which] = NULL;
	}
}

/* Queue buf (taken over) for the command's stdin. */
void
job_write(struct job *j, struct evbuffer *buf)
{
	if (j->j_bev[P_IN] == NULL || (evbuffer_get_length(buf) == 0 &&
	    !j->j_keepin)) {
		evbuffer_free(buf);
		job_close_in(j);
		return;
	}
	bufferevent_write_buffer(j->j_bev[P_IN], buf);
	evbuffer_free(buf);
}

/* Close the command's stdin once what is queued for it is written. */
void
job_close_in(struct job *j)
{
	j->j_keepin = 0;
	if (j->j_bev[P_IN] != NULL && evbuffer_get_length(
	    bufferevent_get_output(j->j_bev[P_IN])) == 0)
		job_close(j, P_IN);
}

/* Stdin drained: close it if it is not kept open. */
static void
job_wrote_in(struct bufferevent *bev, void *arg)
{
	struct job	*j = arg;

	if (!j->j_keepin && evbuffer_get_length(bufferevent_get_output(bev)) ==
	    0)
		job_close(j, P_IN);
}

/* Copy stderr to our own and keep its last JOB_TAIL_MAX bytes. */
static void
job_take_err(struct job *j, struct evbuffer *in)
{
	const char	*p;
	size_t		 len, off;
	ssize_t		 n;

	while ((len = evbuffer_get_length(in)) > 0) {
		if ((p = (const char *)evbuffer_pullup(in, -1)) == NULL)
			fatalx("evbuffer_pullup");
		/* Our stderr failing must not stop the job: ignore errors. */
		for (off = 0; off < len; off += (size_t)n) {
			n = write(STDERR_FILENO, p + off, len - off);
			if (n == -1 && errno == EINTR)
				n = 0;
			else if (n <= 0)
				break;
		}
		off = len > JOB_TAIL_MAX ? len - JOB_TAIL_MAX : 0;
		evbuffer_add(j->j_tail, p + off, len - off);
		evbuffer_drain(in, len);
		len = evbuffer_get_length(j->j_tail);
		if (len > JOB_TAIL_MAX)
			evbuffer_drain(j->j_tail, len - JOB_TAIL_MAX);
	}
}

/* Parse progress lines "N D" from file descriptor 3. */
static void
job_take_prog(struct job *j, struct evbuffer *in)
{
	char		*line, num[32], den[32];
	const char	*errstr;
	long long	 n = 0, d = 0;
	size_t		 len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		errstr = "bad";
		if (sscanf(line, "%31s %31s", num, den) == 2) {
			n = strtonum(num, 0, UINT32_MAX, &errstr);
			if (errstr == NULL)
				d = strtonum(den, 0, UINT32_MAX, &errstr);
		}
		free(line);
		if (errstr != NULL) {
			warnx("%s: bad progress line on fd 3", j->j_label);
			continue;
		}
		if (j->j_cb->progress != NULL)
			j->j_cb->progress(j, (uint32_t)n, (uint32_t)d,
			    j->j_arg);
	}
	if (evbuffer_get_length(in) > PROGRESS_MAX) {
		warnx("%s: progress line too long on fd 3", j->j_label);
		evbuffer_drain(in, evbuffer_get_length(in));
	}
}

/* Hand what a pipe brought to its processor. */
static void
job_take(struct job *j, int which, struct evbuffer *in)
{
	switch (which) {
	case P_OUT:
		evbuffer_add_buffer(j->j_out, in);
		if (j->j_cb->output != NULL)
			j->j_cb->output(j, j->j_out, j->j_arg);
		break;
	case P_ERR:
		job_take_err(j, in);
		break;
	case P_PROG:
		job_take_prog(j, in);
		break;
	}
}

/* Data on one of the child's output pipes. */
static void
job_read(struct bufferevent *bev, void *arg)
{
	struct job	*j = arg;

	job_take(j, job_which(j, bev), bufferevent_get_input(bev));
}

/* EOF or an error on one of the pipes: close it. */
static void
job_event(struct bufferevent *bev, short what, void *arg)
{
	struct job	*j = arg;
	int		 which;

	(void)what;
	if ((which = job_which(j, bev)) == -1)
		return;
	/* Take in whatever came with the EOF. */
	if (which != P_IN)
		job_take(j, which, bufferevent_get_input(bev));
	job_close(j, which);
}

/* Name the command in our messages (default: its argv[0]). */
void
job_set_label(struct job *j, const char *label)
{
	free(j->j_label);
	j->j_label = xstrdup(label);
}

/* Give the command secs seconds from now (0: no limit) before it is killed. */
void
job_set_timeout(struct job *j, long long secs)
{
	struct timeval	 tv = { (time_t)secs, 0 };

	evtimer_del(j->j_timer);
	j->j_timeout = secs;
	if (secs > 0)
		evtimer_add(j->j_timer, &tv);
}

/* The command ran too long: kill its whole process group. */
static void
job_expired(evutil_socket_t fd, short ev, void *arg)
{
	struct job	*j = arg;

	(void)fd;
	(void)ev;
	j->j_timedout = 1;
	if (j->j_cb->expired != NULL)
		j->j_cb->expired(j, j->j_arg);
	kill(-j->j_pid, SIGKILL);
}

/* Send sig to the command's process group. */
void
job_signal(struct job *j, int sig)
{
	kill(-j->j_pid, sig);
}

/* What stdout brought that no output callback took. */
struct evbuffer *
job_output(struct job *j)
{
	return j->j_out;
}

/* The last JOB_TAIL_MAX bytes of stderr (the caller may drain them). */
struct evbuffer *
job_tail(struct job *j)
{
	return j->j_tail;
}

/*
 * Read what a pipe still holds now that the command has exited (its
 * bufferevent may not have seen it yet).  The bufferevent's own input is
 * frozen for outside reads, hence the buffer of our own.
 */
static void
job_drain(struct job *j, int which)
{
	struct bufferevent	*bev = j->j_bev[which];
	struct evbuffer		*buf;
	size_t			 total = 0;
	int			 n, fd;

	if (bev == NULL)
		return;
	job_take(j, which, bufferevent_get_input(bev));
	if ((buf = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	fd = bufferevent_getfd(bev);
	while (total < DRAIN_MAX) {
		n = evbuffer_read(buf, fd, READ_MAX);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (size_t)n;
		job_take(j, which, buf);
	}
	evbuffer_free(buf);
}

/* Describe how the command ended, into buf; NULL when it succeeded. */
static const char *
job_reason(struct job *j, int s, char *buf, size_t len)
{
	if (j->j_timedout)
		snprintf(buf, len, "%s: timed out after %lld s, killed",
		    j->j_name, j->j_timeout);
	else if (WIFSIGNALED(s))
		snprintf(buf, len, "%s: killed by signal %d (%s)",
		    j->j_name, WTERMSIG(s), strsignal(WTERMSIG(s)));
	else if (WIFEXITED(s) && WEXITSTATUS(s) != 0)
		snprintf(buf, len, "%s: exited with status %d", j->j_name,
		    WEXITSTATUS(s));
	else
		return NULL;
	return buf;
}

/* Free a job that is off the list. */
static void
job_free(struct job *j)
{
	int	 i;

	for (i = 0; i < P_COUNT; i++)
		job_close(j, i);
	event_free(j->j_timer);
	evbuffer_free(j->j_out);
	evbuffer_free(j->j_tail);
	free(j->j_name);
	free(j->j_label);
	free(j);
}

/*
 * A child exited: take in the rest of its output, report its end (the
 * reason, or NULL on success) and free it.
 */
void
job_reap(pid_t pid, int status)
{
	struct job	*j;
	char		 why[512];

	TAILQ_FOREACH(j, &jobs, j_entry)
		if (j->j_pid == pid)
			break;
	if (j == NULL)
		return;
	j->j_pid = -1;
	job_drain(j, P_OUT);
	job_drain(j, P_ERR);
	job_drain(j, P_PROG);
	TAILQ_REMOVE(&jobs, j, j_entry);
	j->j_cb->exit(j, job_reason(j, status, why, sizeof(why)), j->j_arg);
	job_free(j);
}

/*
 * Send sig to the process group of every running command; returns how many
 * were signalled.
 */
int
job_kill_all(int sig)
{
	struct job	*j;
	int		 n = 0;

	TAILQ_FOREACH(j, &jobs, j_entry) {
		kill(-j->j_pid, sig);
		n++;
	}
	return n;
}

/* Free every job (at exit), without reporting. */
void
job_free_all(void)
{
	struct job	*j;

	while ((j = TAILQ_FIRST(&jobs)) != NULL) {
		TAILQ_REMOVE(&jobs, j, j_entry);
		job_free(j);
	}
}
