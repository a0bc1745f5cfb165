/* Public domain. See README.md for the licence of this project. */
/*
 * Stream mode (--stream): each job's payload is written to our stdout as
 * a record, and the job is complete once all of its record is written to
 * the descriptor (in the pipe, or the file).  When stdout goes away (the
 * reader exited) gm-work stops: the jobs not yet written go back to the
 * servers.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "gm-work.h"

/* A job whose record is queued, and where that record ends. */
struct pending {
	TAILQ_ENTRY(pending)	 p_entry;
	struct task		*p_task;
	uint64_t		 p_end;		/* in bytes queued so far */
};

static TAILQ_HEAD(, pending) pending = TAILQ_HEAD_INITIALIZER(pending);
static struct evbuffer	*out;		/* records not yet written */
static struct event	*ev_out;	/* stdout writable again */
static struct event	*ev_gone;	/* the pipe's reader has gone */
static uint64_t		 queued, written;
static int		 oldflags = -1;	/* stdout's flags, to restore */
static int		 broken;	/* stdout failed: stopping */

static void	stream_flush(void);
static void	stream_broken(int);

/* stdout is writable again. */
static void
stream_writable(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	stream_flush();
}

/*
 * The write end of a pipe never becomes readable: it is reported so only
 * when the reader has closed it, and then gm-work stops at once rather
 * than when the next job comes.
 */
static void
stream_gone(evutil_socket_t fd, short ev, void *arg)
{
	struct pollfd	 pfd = { STDOUT_FILENO, 0, 0 };

	(void)fd;
	(void)ev;
	(void)arg;
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP)))
		stream_broken(EPIPE);
}

/*
 * Get stdout ready.  A pipe or socket is made non-blocking, so that a
 * slow reader does not stop the servers' traffic; a file or terminal is
 * written as it is.
 */
void
stream_init(void)
{
	struct stat	 st;
	int		 fl;

	if ((out = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	if (fstat(STDOUT_FILENO, &st) == -1)
		err(EXIT_ERROR, "stdout");
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
		if ((fl = fcntl(STDOUT_FILENO, F_GETFL)) == -1 ||
		    fcntl(STDOUT_FILENO, F_SETFL, fl | O_NONBLOCK) == -1)
			err(EXIT_ERROR, "stdout");
		oldflags = fl;
		ev_out = event_new(base, STDOUT_FILENO, EV_WRITE,
		    stream_writable, NULL);
		if (ev_out == NULL)
			fatalx("event_new");
	}
	if (S_ISFIFO(st.st_mode)) {
		ev_gone = event_new(base, STDOUT_FILENO, EV_READ | EV_PERSIST,
		    stream_gone, NULL);
		if (ev_gone == NULL)
			fatalx("event_new");
		event_add(ev_gone, NULL);
	}
}

/*
 * stdout failed: stop.  No job whose record was not all written is
 * reported; the servers hand those out again.
 */
static void
stream_broken(int e)
{
	long long	 n = 0;
	struct pending	*p;

	if (broken)
		return;
	broken = 1;
	if (ev_gone != NULL)
		event_del(ev_gone);
	TAILQ_FOREACH(p, &pending, p_entry)
		n++;
	warnx("stdout: %s (%s); stopping, %lld job%s not written go back "
	    "to the server", strerror(e), e == EPIPE ? "the reader has gone" :
	    "cannot write", n, n == 1 ? "" : "s");
	worker_stop(EXIT_OUTPUT);
	stream_stop();
}

/* Write what is queued; complete each job whose record is all out. */
static void
stream_flush(void)
{
	struct pending	*p;
	struct evbuffer	*empty;
	int		 n;

	while (!broken && evbuffer_get_length(out) > 0) {
		n = evbuffer_write(out, STDOUT_FILENO);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && ev_out != NULL) {
				event_add(ev_out, NULL);
				break;
			}
			stream_broken(errno);
			return;
		}
		written += (uint64_t)n;
		while ((p = TAILQ_FIRST(&pending)) != NULL &&
		    p->p_end <= written) {
			TAILQ_REMOVE(&pending, p, p_entry);
			if ((empty = evbuffer_new()) == NULL)
				fatalx("evbuffer_new");
			task_done(p->p_task, empty, NULL, NULL);
			evbuffer_free(empty);
			free(p);
		}
	}
}

/* Queue a job's payload (taken over) as a record on stdout. */
void
stream_run(struct task *t, struct evbuffer *payload)
{
	struct pending	*p;
	const char	*why;

	if (record_frame(conf.framing, payload, &why) == -1) {
		warnx("job %s (%s): %s", t->t_handle, t->t_func, why);
		evbuffer_free(payload);
		task_done(t, NULL, why, NULL);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->p_task = t;
	queued += evbuffer_get_length(payload);
	p->p_end = queued;
	evbuffer_add_buffer(out, payload);
	evbuffer_free(payload);
	TAILQ_INSERT_TAIL(&pending, p, p_entry);
	if (ev_out == NULL || !event_pending(ev_out, EV_WRITE, NULL))
		stream_flush();
}

/* Drop every job whose record is not written (they are not reported). */
void
stream_stop(void)
{
	struct pending	*p;

	broken = 1;
	while ((p = TAILQ_FIRST(&pending)) != NULL) {
		TAILQ_REMOVE(&pending, p, p_entry);
		task_done(p->p_task, NULL, "not written", NULL);
		free(p);
	}
}

/* Free the queue and give stdout back its flags (at exit). */
void
stream_free(void)
{
	if (ev_out != NULL)
		event_free(ev_out);
	if (ev_gone != NULL)
		event_free(ev_gone);
	if (out != NULL)
		evbuffer_free(out);
	if (oldflags != -1)
		fcntl(STDOUT_FILENO, F_SETFL, oldflags);
}
