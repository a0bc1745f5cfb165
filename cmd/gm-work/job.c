/* Public domain. See README.md for the licence of this project. */
/* Run one child per job over pipes, and turn its output into WORK_*. */

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

/* How much of the command's stderr a failure report carries. */
#define TAIL_MAX	4096
/* Longest line accepted on file descriptor 3 (progress). */
#define PROGRESS_MAX	128
/* At most this much is read from a pipe after its writer has exited. */
#define DRAIN_MAX	(4U * 1024 * 1024)
/* Bytes read from a pipe per callback. */
#define READ_MAX	(256 * 1024)

/* The child's pipes, as indexes into job->j_bev. */
enum { P_IN, P_OUT, P_ERR, P_PROG, P_COUNT };

struct job {
	TAILQ_ENTRY(job)	 j_entry;
	struct server		*j_srv;		/* where the job came from */
	unsigned int		 j_gen;		/* that connection's number */
	char			*j_handle;	/* freed by job_free */
	char			*j_func;
	char			*j_unique;
	pid_t			 j_pid;		/* -1: none or reaped */
	struct bufferevent	*j_bev[P_COUNT];
	struct evbuffer		*j_out;		/* stdout so far */
	struct evbuffer		*j_tail;	/* end of stderr */
	struct event		*j_timer;	/* -t */
	struct timespec		 j_start;
	int			 j_status;	/* from waitpid */
	int			 j_exec_errno;	/* exec failed */
	int			 j_timedout;
	int			 j_abandoned;	/* killed on a forced stop */
};

static TAILQ_HEAD(, job) jobs = TAILQ_HEAD_INITIALIZER(jobs);

static void	job_finish(struct job *);
static void	job_free(struct job *);
static void	job_send_lines(struct job *, int);
static void	job_read(struct bufferevent *, void *);
static void	job_wrote_in(struct bufferevent *, void *);
static void	job_event(struct bufferevent *, short, void *);
static void	job_timeout(evutil_socket_t, short, void *);

/* Is this "NAME=..." one of the variables the command is given? */
static int
job_own_var(const char *e)
{
	return strncmp(e, "GM_FUNCTION=", 12) == 0 ||
	    strncmp(e, "GM_HANDLE=", 10) == 0 ||
	    strncmp(e, "GM_UNIQUE=", 10) == 0;
}

/*
 * Start the command with fds as its descriptors 0 to 3, in a process group
 * of its own, with SIGPIPE back to its default and the job's variables in
 * its environment.  posix_spawn does not copy our address space and tells
 * when the exec failed.  Returns the pid, or -1 with errno set.  The fds
 * are all above 3 (main() keeps 0 to 3 taken), so no dup2 clobbers another.
 */
static pid_t
job_spawn(struct job *j, int fds[P_COUNT])
{
	extern char			**environ;
	posix_spawn_file_actions_t	  fa;
	posix_spawnattr_t		  attr;
	sigset_t			  set;
	char				**env;
	size_t				  n = 0, k = 0, i;
	pid_t				  pid;
	int				  rv;

	while (environ[n] != NULL)
		n++;
	env = xcalloc(n + 4, sizeof(*env));
	for (i = 0; i < n; i++)
		if (!job_own_var(environ[i]))
			env[k++] = environ[i];
	xasprintf(&env[k++], "GM_FUNCTION=%s", j->j_func);
	xasprintf(&env[k++], "GM_HANDLE=%s", j->j_handle);
	xasprintf(&env[k++], "GM_UNIQUE=%s", j->j_unique);

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

	rv = posix_spawnp(&pid, conf.argv[0], &fa, &attr, conf.argv, env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	for (i = k - 3; i < k; i++)
		free(env[i]);
	free(env);
	if (rv != 0) {
		errno = rv;
		return -1;
	}
	return pid;
}

/* Open a pipe whose both ends are close-on-exec; -1 on failure. */
static int
job_pipe(int p[2])
{
	return pipe2(p, O_CLOEXEC);
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
 * Start a job: run the command with the payload (which is taken over) on
 * its stdin, or with no command give the payload back as the result.
 */
void
job_start(struct server *srv, unsigned int gen, const char *handle,
    const char *func, const char *unique, struct evbuffer *payload)
{
	struct job	*j;
	int		 p[P_COUNT][2], child[P_COUNT], i, e;

	j = xcalloc(1, sizeof(*j));
	j->j_srv = srv;
	j->j_gen = gen;
	j->j_handle = xstrdup(handle);
	j->j_func = xstrdup(func);
	j->j_unique = xstrdup(unique);
	j->j_pid = -1;
	if ((j->j_out = evbuffer_new()) == NULL ||
	    (j->j_tail = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	clock_gettime(CLOCK_MONOTONIC, &j->j_start);
	TAILQ_INSERT_TAIL(&jobs, j, j_entry);
	if (conf.verbose)
		warnx("job %s (%s): start", handle, func);

	if (conf.argv == NULL) {
		/* Echo: the payload is the output. */
		evbuffer_add_buffer(j->j_out, payload);
		evbuffer_free(payload);
		if (conf.out != OUT_WHOLE)
			job_send_lines(j, 1);
		job_finish(j);
		return;
	}

	for (i = 0; i < P_COUNT; i++)
		p[i][0] = p[i][1] = -1;
	for (i = 0; i < P_COUNT; i++)
		if (job_pipe(p[i]) == -1)
			goto fail;
	/* The child reads stdin and writes the others. */
	child[P_IN] = p[P_IN][0];
	for (i = P_OUT; i < P_COUNT; i++)
		child[i] = p[i][1];
	j->j_pid = job_spawn(j, child);
	e = errno;
	for (i = 0; i < P_COUNT; i++)
		close(child[i]);
	if (j->j_pid == -1) {
		for (i = 0; i < P_COUNT; i++)
			close(i == P_IN ? p[i][1] : p[i][0]);
		evbuffer_free(payload);
		j->j_exec_errno = e;
		warnx("cannot run %s: %s", conf.argv[0], strerror(e));
		job_finish(j);
		return;
	}

	j->j_bev[P_IN] = job_bev(j, p[P_IN][1], NULL, job_wrote_in);
	for (i = P_OUT; i < P_COUNT; i++)
		j->j_bev[i] = job_bev(j, p[i][0], job_read, NULL);
	if (evbuffer_get_length(payload) == 0) {
		bufferevent_free(j->j_bev[P_IN]);
		j->j_bev[P_IN] = NULL;
	} else
		bufferevent_write_buffer(j->j_bev[P_IN], payload);
	evbuffer_free(payload);

	if (conf.timeout > 0) {
		struct timeval	 tv = { (time_t)conf.timeout, 0 };

		j->j_timer = evtimer_new(base, job_timeout, j);
		evtimer_add(j->j_timer, &tv);
	}
	return;

fail:
	e = errno;
	for (i = 0; i < P_COUNT; i++) {
		if (p[i][0] != -1)
			close(p[i][0]);
		if (p[i][1] != -1)
			close(p[i][1]);
	}
	evbuffer_free(payload);
	j->j_pid = -1;
	j->j_exec_errno = e;
	warnx("cannot start %s: %s", conf.argv[0], strerror(e));
	job_finish(j);
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

/* All of the payload is in the pipe: close it so the command sees EOF. */
static void
job_wrote_in(struct bufferevent *bev, void *arg)
{
	struct job	*j = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		job_close(j, P_IN);
}

/*
 * Send each complete line of the output as its own WORK_DATA (with -N
 * without its newline); at the end (last) also the unterminated rest.
 */
static void
job_send_lines(struct job *j, int last)
{
	struct evbuffer_ptr	 eol;
	struct gm_arg		 h = gm_str(j->j_handle);
	struct evbuffer		*line;
	size_t			 len, eollen;

	if ((line = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	for (;;) {
		eol = evbuffer_search_eol(j->j_out, NULL, &eollen,
		    EVBUFFER_EOL_LF);
		if (eol.pos == -1)
			break;
		len = (size_t)eol.pos;
		if (conf.out == OUT_LINES)
			len += eollen;
		evbuffer_remove_buffer(j->j_out, line, len);
		if (conf.out == OUT_LINES_NONL)
			evbuffer_drain(j->j_out, eollen);
		server_send(j->j_srv, j->j_gen, GM_WORK_DATA, &h, 1, line);
		evbuffer_drain(line, evbuffer_get_length(line));
	}
	if (last && evbuffer_get_length(j->j_out) > 0)
		server_send(j->j_srv, j->j_gen, GM_WORK_DATA, &h, 1, j->j_out);
	evbuffer_free(line);
}

/* Collect stdout, or pass it on line by line. */
static void
job_take_out(struct job *j, struct evbuffer *in)
{
	evbuffer_add_buffer(j->j_out, in);
	if (conf.out != OUT_WHOLE)
		job_send_lines(j, 0);
}

/* Copy stderr to our own and keep its last TAIL_MAX bytes. */
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
		off = len > TAIL_MAX ? len - TAIL_MAX : 0;
		evbuffer_add(j->j_tail, p + off, len - off);
		evbuffer_drain(in, len);
		len = evbuffer_get_length(j->j_tail);
		if (len > TAIL_MAX)
			evbuffer_drain(j->j_tail, len - TAIL_MAX);
	}
}

/* Parse progress lines "N D" from file descriptor 3 into WORK_STATUS. */
static void
job_take_prog(struct job *j, struct evbuffer *in)
{
	struct gm_arg	 a[3];
	char		*line, num[32], den[32];
	const char	*errstr;
	long long	 n, d = 0;
	size_t		 len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		if (sscanf(line, "%31s %31s", num, den) != 2) {
			warnx("job %s: bad progress line on fd 3", j->j_handle);
			free(line);
			continue;
		}
		n = strtonum(num, 0, UINT32_MAX, &errstr);
		if (errstr == NULL)
			d = strtonum(den, 0, UINT32_MAX, &errstr);
		if (errstr != NULL) {
			warnx("job %s: bad progress line on fd 3",
			    j->j_handle);
			free(line);
			continue;
		}
		free(line);
		snprintf(num, sizeof(num), "%lld", n);
		snprintf(den, sizeof(den), "%lld", d);
		a[0] = gm_str(j->j_handle);
		a[1] = gm_str(num);
		a[2] = gm_str(den);
		server_send(j->j_srv, j->j_gen, GM_WORK_STATUS, a, 3, NULL);
	}
	if (evbuffer_get_length(in) > PROGRESS_MAX) {
		warnx("job %s: progress line too long on fd 3", j->j_handle);
		evbuffer_drain(in, evbuffer_get_length(in));
	}
}

/* Hand what a pipe brought to its processor. */
static void
job_take(struct job *j, int which, struct evbuffer *in)
{
	switch (which) {
	case P_OUT:
		job_take_out(j, in);
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
	job_take(j, which, bufferevent_get_input(bev));
	job_close(j, which);
}

/* The job ran too long: kill its whole process group. */
static void
job_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct job	*j = arg;

	(void)fd;
	(void)ev;
	if (j->j_pid == -1)
		return;
	j->j_timedout = 1;
	warnx("job %s (%s): timed out after %lld s, killing it", j->j_handle,
	    j->j_func, conf.timeout);
	kill(-j->j_pid, SIGKILL);
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

/* A child exited: finish its job. */
void
job_reap(pid_t pid, int status)
{
	struct job	*j;

	TAILQ_FOREACH(j, &jobs, j_entry)
		if (j->j_pid == pid)
			break;
	if (j == NULL)
		return;
	j->j_pid = -1;
	j->j_status = status;
	job_drain(j, P_OUT);
	job_drain(j, P_ERR);
	job_drain(j, P_PROG);
	if (conf.out != OUT_WHOLE)
		job_send_lines(j, 1);
	job_finish(j);
}

/* Describe why a job failed, into buf; returns NULL when it succeeded. */
static const char *
job_reason(struct job *j, char *buf, size_t len)
{
	int	 s = j->j_status;

	if (j->j_exec_errno != 0)
		snprintf(buf, len, "cannot run %s: %s", conf.argv[0],
		    strerror(j->j_exec_errno));
	else if (j->j_timedout)
		snprintf(buf, len, "%s: timed out after %lld s, killed",
		    conf.argv[0], conf.timeout);
	else if (conf.argv == NULL)
		return NULL;
	else if (WIFSIGNALED(s))
		snprintf(buf, len, "%s: killed by signal %d (%s)",
		    conf.argv[0], WTERMSIG(s), strsignal(WTERMSIG(s)));
	else if (WIFEXITED(s) && WEXITSTATUS(s) != 0)
		snprintf(buf, len, "%s: exited with status %d", conf.argv[0],
		    WEXITSTATUS(s));
	else
		return NULL;
	return buf;
}

/*
 * Report the job's end.  Success is WORK_COMPLETE with the output.  A
 * failure sends the output so far as WORK_DATA, then a message made of the
 * tail of stderr and the reason: as WORK_WARNING followed by WORK_FAIL,
 * which every client and server understand, or with -x as WORK_EXCEPTION.
 */
static void
job_finish(struct job *j)
{
	struct gm_arg		 h = gm_str(j->j_handle);
	struct evbuffer		*msg;
	struct evbuffer_ptr	 nl;
	struct timespec		 now;
	char			 why[512];
	const char		*reason;
	size_t			 len;
	double			 secs;

	if (j->j_abandoned)
		goto done;
	reason = job_reason(j, why, sizeof(why));
	if (!server_alive(j->j_srv, j->j_gen)) {
		warnx("job %s (%s): %s; the connection to %s was lost, result "
		    "dropped", j->j_handle, j->j_func, reason != NULL ? reason :
		    "done", server_name(j->j_srv));
		goto done;
	}
	if (reason == NULL) {
		if (conf.out != OUT_WHOLE)
			evbuffer_drain(j->j_out, evbuffer_get_length(j->j_out));
		server_send(j->j_srv, j->j_gen, GM_WORK_COMPLETE, &h, 1,
		    j->j_out);
		if (conf.verbose) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			secs = (now.tv_sec - j->j_start.tv_sec) +
			    (now.tv_nsec - j->j_start.tv_nsec) / 1e9;
			warnx("job %s (%s): done in %.3f s", j->j_handle,
			    j->j_func, secs);
		}
		goto done;
	}
	if (j->j_exec_errno == 0)
		warnx("job %s (%s): %s", j->j_handle, j->j_func, reason);
	if (evbuffer_get_length(j->j_out) > 0)
		server_send(j->j_srv, j->j_gen, GM_WORK_DATA, &h, 1, j->j_out);
	if ((msg = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	/* Start the tail at a line when it was cut. */
	len = evbuffer_get_length(j->j_tail);
	if (len >= TAIL_MAX) {
		nl = evbuffer_search(j->j_tail, "\n", 1, NULL);
		if (nl.pos != -1 && (size_t)nl.pos + 1 < len)
			evbuffer_drain(j->j_tail, (size_t)nl.pos + 1);
	}
	evbuffer_add_buffer(msg, j->j_tail);
	evbuffer_add_printf(msg, "gm-work: %s\n", reason);
	if (conf.exceptions)
		server_send(j->j_srv, j->j_gen, GM_WORK_EXCEPTION, &h, 1, msg);
	else {
		server_send(j->j_srv, j->j_gen, GM_WORK_WARNING, &h, 1, msg);
		server_send(j->j_srv, j->j_gen, GM_WORK_FAIL, &h, 1, NULL);
	}
	evbuffer_free(msg);
done:
	TAILQ_REMOVE(&jobs, j, j_entry);
	worker_job_done(j->j_srv, j->j_gen);
	job_free(j);
}

/* Free a job that is off the list. */
static void
job_free(struct job *j)
{
	int	 i;

	for (i = 0; i < P_COUNT; i++)
		job_close(j, i);
	if (j->j_timer != NULL)
		event_free(j->j_timer);
	evbuffer_free(j->j_out);
	evbuffer_free(j->j_tail);
	free(j->j_handle);
	free(j->j_func);
	free(j->j_unique);
	free(j);
}

/*
 * Send sig to the process group of every running child and mark its job
 * abandoned: its result is never sent, so the server hands it out again.
 * Returns how many children were signalled.
 */
int
job_kill_all(int sig)
{
	struct job	*j;
	int		 n = 0;

	TAILQ_FOREACH(j, &jobs, j_entry) {
		if (j->j_pid == -1)
			continue;
		j->j_abandoned = 1;
		kill(-j->j_pid, sig);
		n++;
	}
	return n;
}

/* Free every job (at exit). */
void
job_free_all(void)
{
	struct job	*j;

	while ((j = TAILQ_FIRST(&jobs)) != NULL) {
		TAILQ_REMOVE(&jobs, j, j_entry);
		job_free(j);
	}
}
