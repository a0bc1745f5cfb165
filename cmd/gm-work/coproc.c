/* Public domain. See README.md for the licence of this project. */
/*
 * Coprocess mode (-C): -j commands started once and kept.  Each serves one
 * job at a time: the payload goes to its stdin as a record and its next
 * record on stdout is the result.  One that exits or crashes fails the job
 * it held and is started again after a growing delay; one that does not
 * answer within -t is killed.  At the end their stdin is closed and they
 * exit on their own.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "gm-work.h"

/* Restart delays: the first, and the longest (ms). */
#define RESTART_MIN	100
#define RESTART_MAX	5000

struct coproc {
	int			 c_id;		/* 1 to -j, for messages */
	struct job		*c_job;		/* NULL: not running */
	struct task		*c_task;	/* the job it serves, or NULL */
	const char		*c_bad;		/* why it was killed, or NULL */
	struct event		*c_restart;
	int			 c_backoff;	/* next restart delay (ms) */
	long long		 c_served;	/* jobs answered since started */
};

/* A job that came while no coprocess was free (one was restarting). */
struct waiting {
	TAILQ_ENTRY(waiting)	 w_entry;
	struct task		*w_task;
	struct evbuffer		*w_rec;
};

static struct coproc		*coprocs;
static long long		 ncoprocs;
static TAILQ_HEAD(, waiting)	 waiting = TAILQ_HEAD_INITIALIZER(waiting);
static int			 stopping;	/* stdin closed, no restarts */

static int	coproc_start(struct coproc *);
static void	coproc_give(struct coproc *, struct task *, struct evbuffer *);

/* Hand the coprocess the oldest waiting job, if any. */
static void
coproc_next(struct coproc *c)
{
	struct waiting	*w;

	if (c->c_job == NULL || c->c_task != NULL ||
	    (w = TAILQ_FIRST(&waiting)) == NULL)
		return;
	TAILQ_REMOVE(&waiting, w, w_entry);
	coproc_give(c, w->w_task, w->w_rec);
	free(w);
}

/* stdout of a coprocess: each complete record answers its job. */
static void
coproc_output(struct job *j, struct evbuffer *out, void *arg)
{
	struct coproc	*c = arg;
	struct evbuffer	*rec;
	struct task	*t;
	const char	*why;
	int		 rv;

	while (c->c_task != NULL && c->c_bad == NULL) {
		if ((rec = evbuffer_new()) == NULL)
			fatalx("evbuffer_new");
		if ((rv = record_take(conf.framing, out, rec, &why)) != 1) {
			evbuffer_free(rec);
			if (rv == -1) {
				warnx("coprocess %d: %s; killing it", c->c_id,
				    why);
				c->c_bad = why;
				job_signal(j, SIGKILL);
			}
			return;
		}
		job_set_timeout(j, 0);
		t = c->c_task;
		c->c_task = NULL;
		c->c_served++;
		task_done(t, rec, NULL, NULL);
		evbuffer_free(rec);
		coproc_next(c);
	}
	if (c->c_task == NULL && evbuffer_get_length(out) > 0) {
		warnx("coprocess %d: %zu bytes of output with no job, dropped",
		    c->c_id, evbuffer_get_length(out));
		evbuffer_drain(out, evbuffer_get_length(out));
	}
}

/* A progress line: for the job being served. */
static void
coproc_progress(struct job *j, uint32_t num, uint32_t den, void *arg)
{
	struct coproc	*c = arg;

	(void)j;
	if (c->c_task != NULL)
		task_status(c->c_task, num, den);
}

/* No answer within -t. */
static void
coproc_expired(struct job *j, void *arg)
{
	struct coproc	*c = arg;

	(void)j;
	if (c->c_task != NULL)
		warnx("job %s (%s): no answer after %lld s, killing coprocess "
		    "%d", c->c_task->t_handle, c->c_task->t_func, conf.timeout,
		    c->c_id);
}

/* The restart delay has passed. */
static void
coproc_restart(evutil_socket_t fd, short ev, void *arg)
{
	struct coproc	*c = arg;

	(void)fd;
	(void)ev;
	if (stopping || worker_forced())
		return;
	if (coproc_start(c) == 0) {
		coproc_next(c);
		worker_slots_changed();
	}
}

/* Start the coprocess again after its delay, which then grows. */
static void
coproc_later(struct coproc *c)
{
	struct timeval	 tv;

	if (c->c_served > 0)
		c->c_backoff = RESTART_MIN;
	tv.tv_sec = c->c_backoff / 1000;
	tv.tv_usec = (c->c_backoff % 1000) * 1000;
	evtimer_add(c->c_restart, &tv);
	c->c_backoff = c->c_backoff * 2 > RESTART_MAX ? RESTART_MAX :
	    c->c_backoff * 2;
}

/*
 * A coprocess exited.  The job it held fails with its stderr tail; unless
 * we are stopping, it is started again later.
 */
static void
coproc_exit(struct job *j, const char *reason, void *arg)
{
	struct coproc	*c = arg;
	struct task	*t = c->c_task;
	char		 why[600];

	c->c_job = NULL;
	c->c_task = NULL;
	if (c->c_bad != NULL)
		snprintf(why, sizeof(why), "%s: %s", conf.argv[0], c->c_bad);
	else if (reason != NULL)
		snprintf(why, sizeof(why), "%s", reason);
	else
		snprintf(why, sizeof(why), "%s: exited", conf.argv[0]);
	c->c_bad = NULL;
	if (t != NULL) {
		if (!worker_forced())
			warnx("job %s (%s): %s", t->t_handle, t->t_func, why);
		task_done(t, NULL, why, job_tail(j));
	} else if (!stopping && !worker_forced())
		warnx("coprocess %d: %s", c->c_id, why);
	if (!stopping && !worker_forced()) {
		if (conf.verbose)
			warnx("coprocess %d: restarting in %d ms", c->c_id,
			    c->c_served > 0 ? RESTART_MIN : c->c_backoff);
		coproc_later(c);
	}
	worker_slots_changed();
}

static const struct job_cb coproc_cb = {
	coproc_output, coproc_progress, coproc_expired, coproc_exit
};

/* Run the command as coprocess c; NULL with errno set when it cannot. */
static struct job *
coproc_spawn(struct coproc *c)
{
	struct job	*j;
	char		 label[64];

	c->c_served = 0;
	if ((j = job_start(conf.argv, NULL, NULL, 1, &coproc_cb, c)) == NULL)
		return NULL;
	snprintf(label, sizeof(label), "coprocess %d", c->c_id);
	job_set_label(j, label);
	return j;
}

/* Start a coprocess again; -1 (logged, retried later) when it cannot run. */
static int
coproc_start(struct coproc *c)
{
	if ((c->c_job = coproc_spawn(c)) == NULL) {
		warn("coprocess %d: cannot run %s", c->c_id, conf.argv[0]);
		coproc_later(c);
		return -1;
	}
	return 0;
}

/* Start the -j coprocesses; exit when the command cannot be run at all. */
void
coproc_init(void)
{
	struct coproc	*c;
	long long	 i;

	ncoprocs = conf.maxjobs;
	coprocs = xcalloc((size_t)ncoprocs, sizeof(*coprocs));
	for (i = 0; i < ncoprocs; i++) {
		c = &coprocs[i];
		c->c_id = (int)i + 1;
		c->c_backoff = RESTART_MIN;
		if ((c->c_restart = evtimer_new(base, coproc_restart, c)) ==
		    NULL)
			fatalx("evtimer_new");
		if ((c->c_job = coproc_spawn(c)) == NULL)
			err(EXIT_ERROR, "cannot run %s", conf.argv[0]);
	}
}

/* How many coprocesses are not running (waiting to be restarted). */
long long
coproc_down(void)
{
	long long	 i, n = 0;

	for (i = 0; i < ncoprocs; i++)
		if (coprocs[i].c_job == NULL)
			n++;
	return n;
}

/* Give a coprocess a job's record (taken over). */
static void
coproc_give(struct coproc *c, struct task *t, struct evbuffer *rec)
{
	char	 label[300];

	c->c_task = t;
	/* The tail a failure reports is this job's. */
	evbuffer_drain(job_tail(c->c_job), evbuffer_get_length(
	    job_tail(c->c_job)));
	snprintf(label, sizeof(label), "job %s", t->t_handle);
	job_set_label(c->c_job, label);
	job_write(c->c_job, rec);
	if (conf.timeout > 0)
		job_set_timeout(c->c_job, conf.timeout);
}

/*
 * Run a job: frame its payload (taken over) and give it to a free
 * coprocess, or keep it until one is back.
 */
void
coproc_run(struct task *t, struct evbuffer *payload)
{
	struct waiting	*w;
	const char	*why;
	long long	 i;

	if (record_frame(conf.framing, payload, &why) == -1) {
		warnx("job %s (%s): %s", t->t_handle, t->t_func, why);
		evbuffer_free(payload);
		task_done(t, NULL, why, NULL);
		return;
	}
	for (i = 0; i < ncoprocs; i++)
		if (coprocs[i].c_job != NULL && coprocs[i].c_task == NULL) {
			coproc_give(&coprocs[i], t, payload);
			return;
		}
	w = xcalloc(1, sizeof(*w));
	w->w_task = t;
	w->w_rec = payload;
	TAILQ_INSERT_TAIL(&waiting, w, w_entry);
}

/*
 * Stop: close every coprocess's stdin so it exits on its own, or with
 * force send it SIGTERM and drop the waiting jobs (they go back to the
 * servers).  Returns how many coprocesses are still running.
 */
int
coproc_stop(int force)
{
	struct waiting	*w;
	long long	 i;
	int		 n = 0;

	stopping = 1;
	while ((w = TAILQ_FIRST(&waiting)) != NULL) {
		TAILQ_REMOVE(&waiting, w, w_entry);
		evbuffer_free(w->w_rec);
		task_done(w->w_task, NULL, "stopped", NULL);
		free(w);
	}
	for (i = 0; i < ncoprocs; i++) {
		evtimer_del(coprocs[i].c_restart);
		if (coprocs[i].c_job == NULL)
			continue;
		if (force)
			job_signal(coprocs[i].c_job, SIGTERM);
		else
			job_close_in(coprocs[i].c_job);
		n++;
	}
	return n;
}

/* Free the coprocess table (at exit; job.c frees the processes). */
void
coproc_free(void)
{
	long long	 i;

	for (i = 0; i < ncoprocs; i++)
		event_free(coprocs[i].c_restart);
	free(coprocs);
}
