/* Public domain. See README.md for the licence of this project. */
/*
 * Workers: registrations (CAN_DO), sleep and NOOP wake-ups, grabbing the
 * best job across a worker's functions, the jobs a worker holds (at most
 * --max-held), and cleanup when a worker leaves.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "log.h"
#include "lograte.h"
#include "xmalloc.h"
#include "gm-server.h"

static void	reg_remove(struct reg *);
static int	worker_has_job(struct conn *);
static void	worker_requeue(struct conn *, struct func *, const char *);
static void	worker_sleep(struct conn *);

/* CAN_DO / CAN_DO_TIMEOUT: add a registration (duplicates count twice). */
void
worker_can_do(struct conn *c, const char *name, size_t len, int timeout)
{
	struct func	*f;
	struct reg	*r;

	log_debug("%s: fd %d (%s): %.*s", __func__, c->c_fd, c->c_peer,
	    (int)len, name);
	f = func_get(name, len, 1);
	r = xcalloc(1, sizeof(*r));
	r->r_func = f;
	r->r_conn = c;
	r->r_timeout = timeout;
	TAILQ_INSERT_HEAD(&c->c_regs, r, r_wentry);
	c->c_nregs++;
	TAILQ_INSERT_TAIL(&f->f_regs, r, r_fentry);
	f->f_nregs++;
	if ((c->c_flags & (CONN_SLEEPING | CONN_NOOPED | CONN_CAPPED)) ==
	    CONN_SLEEPING) {
		TAILQ_INSERT_TAIL(&f->f_sleepers, r, r_sentry);
		r->r_asleep = 1;
		if (worker_has_job(c))
			worker_noop(c);
	}
}

/* Unlink and free one registration. */
static void
reg_remove(struct reg *r)
{
	struct conn	*c = r->r_conn;
	struct func	*f = r->r_func;

	if (r->r_asleep)
		TAILQ_REMOVE(&f->f_sleepers, r, r_sentry);
	TAILQ_REMOVE(&c->c_regs, r, r_wentry);
	c->c_nregs--;
	TAILQ_REMOVE(&f->f_regs, r, r_fentry);
	f->f_nregs--;
	free(r);
}

/* Requeue the jobs c holds (of function f, or all when f is NULL). */
static void
worker_requeue(struct conn *c, struct func *f, const char *why)
{
	struct job	*j, *next;

	TAILQ_FOREACH_SAFE(j, &c->c_jobs, j_entry, next)
		if (f == NULL || j->j_func == f)
			queue_requeue(j, why);
}

/* c's registration of f, or NULL when c cannot do f. */
struct reg *
worker_reg(struct conn *c, const struct func *f)
{
	struct reg	*r;

	TAILQ_FOREACH(r, &c->c_regs, r_wentry)
		if (r->r_func == f)
			return r;
	return NULL;
}

/* CANT_DO: drop every registration of that name; requeue its jobs. */
void
worker_cant_do(struct conn *c, const char *name, size_t len)
{
	struct func	*f;
	struct reg	*r, *next;

	if ((f = func_get(name, len, 0)) == NULL)
		return;
	TAILQ_FOREACH_SAFE(r, &c->c_regs, r_wentry, next)
		if (r->r_func == f)
			reg_remove(r);
	worker_requeue(c, f, "worker lost (CANT_DO)");
}

/* RESET_ABILITIES: drop every registration; requeue the jobs held. */
void
worker_reset(struct conn *c)
{
	struct reg	*r;

	while ((r = TAILQ_FIRST(&c->c_regs)) != NULL)
		reg_remove(r);
	worker_requeue(c, NULL, "worker lost (RESET_ABILITIES)");
}

/* Whether some job is runnable for this worker now. */
static int
worker_has_job(struct conn *c)
{
	struct reg	*r;
	int		 p;

	if (bcast_best(c, NULL) != NULL)
		return 1;
	TAILQ_FOREACH(r, &c->c_regs, r_wentry)
		for (p = 0; p < PRIO_COUNT; p++)
			if (queue_best(r->r_func, p) != NULL)
				return 1;
	return 0;
}

/* Leave the sleeper lists (the worker is awake or gone). */
void
worker_unsleep(struct conn *c)
{
	struct reg	*r;

	c->c_flags &= ~(CONN_SLEEPING | CONN_NOOPED);
	TAILQ_FOREACH(r, &c->c_regs, r_wentry) {
		if (r->r_asleep) {
			TAILQ_REMOVE(&r->r_func->f_sleepers, r, r_sentry);
			r->r_asleep = 0;
		}
	}
}

/* Send a sleeping worker its one NOOP of this sleep. */
void
worker_noop(struct conn *c)
{
	struct reg	*r;

	TAILQ_FOREACH(r, &c->c_regs, r_wentry) {
		if (r->r_asleep) {
			TAILQ_REMOVE(&r->r_func->f_sleepers, r, r_sentry);
			r->r_asleep = 0;
		}
	}
	c->c_flags |= CONN_NOOPED;
	conn_send(c, GM_NOOP, NULL, 0, NULL, 0);
}

/* PRE_SLEEP: NOOP at once if there is work, else sleep until some comes. */
void
worker_pre_sleep(struct conn *c)
{
	c->c_flags |= CONN_SLEEPING;
	c->c_flags &= ~CONN_NOOPED;
	if (conf.max_held > 0 && c->c_njobs >= conf.max_held)
		c->c_flags |= CONN_CAPPED;
	worker_sleep(c);
}

/*
 * A sleeping worker: NOOP at once if there is work for it, else wait on
 * its functions' sleeper lists.  A worker at its --max-held cap waits on
 * none: it is woken when it gives a job back (worker_release).
 */
static void
worker_sleep(struct conn *c)
{
	struct reg	*r;

	if (c->c_flags & CONN_CAPPED)
		return;
	if (worker_has_job(c)) {
		c->c_flags &= ~CONN_SLEEPING;
		conn_send(c, GM_NOOP, NULL, 0, NULL, 0);
		return;
	}
	TAILQ_FOREACH(r, &c->c_regs, r_wentry) {
		if (!r->r_asleep) {
			TAILQ_INSERT_TAIL(&r->r_func->f_sleepers, r, r_sentry);
			r->r_asleep = 1;
		}
	}
}

/*
 * A job of f became runnable: wake sleepers, as many as -w says (default
 * one per job, 0 all).  A woken worker leaves every sleeper list.
 */
void
worker_wake(struct func *f, int jobs)
{
	struct reg	*r;
	int		 n = conf.wakeup == 0 ? -1 : conf.wakeup * jobs;

	while (n != 0 && (r = TAILQ_FIRST(&f->f_sleepers)) != NULL) {
		worker_noop(r->r_conn);
		if (n > 0)
			n--;
	}
}

/*
 * GRAB_JOB, GRAB_JOB_UNIQ, GRAB_JOB_ALL: the highest-priority job across
 * the worker's functions, oldest first (or, with -R, from the first
 * function in rotation order).
 */
void
worker_grab(struct conn *c, uint32_t type)
{
	struct reg	*r, *best_r = NULL, *mine_r = NULL;
	struct job	*j, *best = NULL, *mine;
	struct gm_arg	 a[4];
	char		 h[GM_HANDLE_SIZE];
	int		 p, n;

	worker_unsleep(c);
	if (conf.max_held > 0 && c->c_njobs >= conf.max_held) {
		/* Greedy or stuck: others get the jobs meanwhile. */
		counters.held_capped++;
		c->c_flags |= CONN_CAPPED;
		if (!(c->c_flags & CONN_CAPLOGGED)) {
			c->c_flags |= CONN_CAPLOGGED;
			log_rate(&conf.max_held, "fd %d (%s): worker holds %u "
			    "jobs, the --max-held limit: no more until it "
			    "finishes one", c->c_fd, c->c_peer, c->c_njobs);
		}
		conn_send(c, GM_NO_JOB, NULL, 0, NULL, 0);
		return;
	}
	/* A job for this member alone comes first in its priority. */
	mine = bcast_best(c, &mine_r);
	for (p = 0; p < PRIO_COUNT && best == NULL; p++) {
		if (mine != NULL && mine->j_prio == p) {
			best = mine;
			best_r = mine_r;
			break;
		}
		TAILQ_FOREACH(r, &c->c_regs, r_wentry) {
			if ((j = queue_best(r->r_func, p)) == NULL)
				continue;
			if (best == NULL || (!conf.round_robin &&
			    j->j_key < best->j_key)) {
				best = j;
				best_r = r;
				if (conf.round_robin)
					break;
			}
		}
	}
	if (best == NULL) {
		conn_send(c, GM_NO_JOB, NULL, 0, NULL, 0);
		return;
	}
	j = best;
	queue_assign(j, c, best_r->r_timeout);
	if (conf.round_robin) {
		TAILQ_REMOVE(&c->c_regs, best_r, r_wentry);
		TAILQ_INSERT_TAIL(&c->c_regs, best_r, r_wentry);
	}
	n = queue_handle(j, h, sizeof(h));
	a[0].ptr = (const uint8_t *)h;
	a[0].len = (size_t)n;
	a[1].ptr = (const uint8_t *)j->j_func->f_name;
	a[1].len = j->j_func->f_len;
	a[2].ptr = (const uint8_t *)job_unique(j);
	a[2].len = j->j_ulen;
	a[3].ptr = (const uint8_t *)job_reducer(j);
	a[3].len = j->j_rlen;
	if (type == GM_GRAB_JOB)
		conn_send(c, GM_JOB_ASSIGN, a, 2, job_data(j), j->j_len);
	else if (type == GM_GRAB_JOB_ALL && j->j_rlen > 0)
		conn_send(c, GM_JOB_ASSIGN_ALL, a, 4, job_data(j), j->j_len);
	else
		conn_send(c, GM_JOB_ASSIGN_UNIQ, a, 3, job_data(j), j->j_len);
}

/* A worker takes a job (queue.c's assignment). */
void
worker_hold(struct conn *c, struct job *j)
{
	TAILQ_INSERT_HEAD(&c->c_jobs, j, j_entry);
	c->c_njobs++;
}

/*
 * A worker's job is over or taken back: under its cap again, a worker
 * that went to sleep at the cap sleeps as any other (NOOP if work waits).
 */
void
worker_release(struct conn *c, struct job *j)
{
	TAILQ_REMOVE(&c->c_jobs, j, j_entry);
	c->c_njobs--;
	if ((c->c_flags & CONN_CAPPED) && c->c_njobs < conf.max_held) {
		c->c_flags &= ~CONN_CAPPED;
		if ((c->c_flags & (CONN_SLEEPING | CONN_NOOPED |
		    CONN_DEAD)) == CONN_SLEEPING)
			worker_sleep(c);
	}
}

/* A connection closes: forget its registrations, requeue its jobs. */
void
worker_gone(struct conn *c)
{
	struct reg	*r;

	worker_unsleep(c);
	while ((r = TAILQ_FIRST(&c->c_regs)) != NULL)
		reg_remove(r);
	worker_requeue(c, NULL, "worker lost");
}
