/* Public domain. See README.md for the licence of this project. */
/*
 * Jobs on their way: the per-function priority queues, submission (with
 * coalescing and the journal, and the JOB_CREATED replies held for it),
 * handing a job to a worker, results and status, requeue, and the retries
 * of failed background jobs (which end in failed.c's list when they have
 * no tries left).  Every operation on one job is O(1).  A job's own life
 * (allocation, indexes, clients, end) is job.c's; the functions
 * themselves are func.c's.
 */

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "log.h"
#include "lograte.h"
#include "xmalloc.h"
#include "journal.h"
#include "gm-server.h"

static void	 job_retry_at(struct job *, int64_t);
static void	 job_failed(struct job *, const void *, size_t);
static void	 journal_retry(struct job *, int64_t);
static void	 job_to_failed(struct job *, int64_t, int64_t, const void *,
		    size_t);
static void	 job_unrun(struct job *);
static void	 job_ready(struct job *, int64_t);
static void	 job_enqueue(struct job *);
static void	 journal_done(int, void *);
static int	 job_record(struct job *, int64_t, journal_done_cb, void *);
static void	 journal_coalesced(struct conn *, struct job *);
static void	 coalesced_done(int, void *);
static void	 send_created(struct conn *, struct job *);
static struct ack *hold_created(struct conn *, struct job *, struct ack **);
static void	 journal_error_text(int, char *, size_t);
static uint32_t	 status_number(const struct gm_arg *);

static uint64_t		 next_seq;	/* enqueue order */
static int		 journal_on;	/* the journal keeps payloads */

/* Set up the indexes; learn whether the journal keeps payloads. */
void
queue_init(void)
{
	struct journal_stats	 st;

	job_init();
	journal_stats(jnl, &st);
	journal_on = st.enabled;
}

/* Put a queued job at the tail of its queue and wake a worker for it. */
static void
job_enqueue(struct job *j)
{
	struct func	*f = j->j_func;

	j->j_state = JOB_QUEUED;
	j->j_key = (int64_t)++next_seq;
	j->j_since = timer_mono_us();
	f->f_queued[j->j_prio]++;
	if (j->j_target != NULL) {
		bcast_enqueue(j);
		return;
	}
	TAILQ_INSERT_TAIL(&f->f_q[j->j_prio], j, j_entry);
	worker_wake(f, 1);
}

/* A job may run from epoch second `when` (0: now). */
static void
job_ready(struct job *j, int64_t when)
{
	if (when > 0 && when * 1000 > timer_now_ms()) {
		j->j_state = JOB_WAITING;
		j->j_key = when * 1000;
		j->j_func->f_queued[j->j_prio]++;
		timer_add(j);
		return;
	}
	job_enqueue(j);
}

/* Send JOB_CREATED now. */
static void
send_created(struct conn *c, struct job *j)
{
	char	 h[GM_HANDLE_SIZE];
	int	 n;

	n = queue_handle(j, h, sizeof(h));
	conn_send(c, GM_JOB_CREATED, NULL, 0, h, (size_t)n);
}

/*
 * Hold a JOB_CREATED for c until the journal answers for j's record; the
 * ack goes on chain (NULL: the caller keeps it alone).
 */
static struct ack *
hold_created(struct conn *c, struct job *j, struct ack **chain)
{
	char		 h[GM_HANDLE_SIZE];
	struct gm_arg	 a;

	a.ptr = (const uint8_t *)h;
	a.len = (size_t)queue_handle(j, h, sizeof(h));
	return conn_ack_new(c, chain, GM_JOB_CREATED, &a, 1);
}

/* Release held replies: JOB_CREATED, or QUEUE_ERROR when error is set. */
void
release_created(struct ack *chain, int error)
{
	char	 text[128];

	if (error == 0) {
		conn_ack_done(chain, NULL, NULL);
		return;
	}
	journal_error_text(error, text, sizeof(text));
	conn_ack_done(chain, "QUEUE_ERROR", text);
}

/* The text of the QUEUE_ERROR a client gets when the journal fails. */
static void
journal_error_text(int error, char *buf, size_t len)
{
	snprintf(buf, len, "journal: %s", strerror(error));
}

/*
 * The journal answered for a pending job: release its JOB_CREATED replies
 * and let it run, or refuse them all and forget the job.
 */
static void
journal_done(int error, void *arg)
{
	struct job	*j = arg;
	struct ack	*k;
	char		 h[GM_HANDLE_SIZE];

	k = j->j_u.waiters;
	j->j_u.waiters = NULL;
	if (error) {
		queue_handle(j, h, sizeof(h));
		log_rate(NULL, "journal: job %s (function %s) not "
		    "recorded: %s", h,
		    j->j_func->f_name, strerror(error));
		j->j_flags &= ~JOB_JOURNAL;
		job_detach_all(j);
		j->j_state = JOB_PENDING;
		job_end(j, -1);
	} else
		job_ready(j, j->j_key / 1000);
	release_created(k, error);
}

/*
 * Record a job in the journal, to run from epoch second when: the one
 * place a journal record is filled, from the job's own copies.  Returns
 * journal_add's answer (0 durable now, 1 done called later) or -1, logged,
 * with errno set.
 */
static int
job_record(struct job *j, int64_t when, journal_done_cb done, void *arg)
{
	struct journal_job	 jj;
	int			 rv, saved;

	memset(&jj, 0, sizeof(jj));
	jj.id = j->j_num;
	jj.prio = j->j_prio;
	jj.when = when;
	jj.attempts = j->j_attempts;
	jj.func = j->j_func->f_name;
	jj.func_len = j->j_func->f_len;
	jj.unique = job_unique(j);
	jj.unique_len = j->j_ulen;
	jj.reducer = j->j_rlen > 0 ? job_reducer(j) : NULL;
	jj.reducer_len = j->j_rlen;
	if (j->j_target != NULL) {
		jj.target = j->j_target;
		jj.target_len = strlen(j->j_target);
	}
	jj.data_ptr = job_data(j);
	jj.data_len = j->j_len;
	if ((rv = journal_add(jnl, &jj, done, arg)) == -1) {
		saved = errno;
		log_rate(NULL, "journal: cannot record a job of %s: %s",
		    j->j_func->f_name, strerror(saved));
		errno = saved;
		return -1;
	}
	j->j_jid = jj.id;
	j->j_flags |= JOB_JOURNAL;
	return rv;
}

/*
 * A background submission coalesced onto a job the journal does not hold (a
 * foreground one): record the job now and acknowledge once it is durable,
 * or refuse the submission.  The ack, not the job, carries the answer, so
 * the job may end meanwhile.
 */
static void
journal_coalesced(struct conn *c, struct job *j)
{
	struct ack	*k;
	int		 rv;

	k = hold_created(c, j, NULL);
	if ((rv = job_record(j, 0, coalesced_done, k)) == -1) {
		release_created(k, errno);
		return;
	}
	j->j_flags |= JOB_BG;
	if (rv == 0)
		release_created(k, 0);
}

/* The journal answered for a coalesced background submission. */
static void
coalesced_done(int error, void *arg)
{
	release_created(arg, error);
}

/* Handle a SUBMIT_* (validated by dispatch.c). */
void
queue_submit(struct conn *c, const struct submit *s)
{
	struct func		*f;
	struct job		*j;
	uint32_t		 uh = 0;
	int			 rv, dash;
	char			 text[128];

	f = func_get(s->func, s->func_len, 1);
	dash = s->unique_len == 1 && s->unique[0] == '-';
	if (s->unique_len > 0 && !(dash && s->data_len == 0)) {
		uh = submit_uhash(s);
		if ((j = unique_lookup(f, s, uh)) != NULL) {
			if (!s->bg)
				job_attach(j, c);
			else if (!(j->j_flags & JOB_JOURNAL) && journal_on) {
				journal_coalesced(c, j);
				return;
			} else
				j->j_flags |= JOB_BG;
			if (j->j_state == JOB_PENDING)
				hold_created(c, j, &j->j_u.waiters);
			else
				send_created(c, j);
			return;
		}
	}
	if (func_full(f, s->prio)) {
		conn_error(c, "QUEUE_ERROR", "Job queue is full");
		return;
	}
	j = job_new(s, 0);
	job_link(j, f, s, uh);
	func_count(f, FE_SUBMITTED);
	/*
	 * Only background jobs are journaled: a foreground job's result
	 * goes to the clients connected now, and none of them is left to
	 * take it after a restart, so recording it would only slow the
	 * JOB_CREATED down.
	 */
	if (!s->bg) {
		job_attach(j, c);
		send_created(c, j);
		job_ready(j, 0);
		return;
	}
	if ((rv = job_record(j, s->when, journal_done, j)) == -1) {
		journal_error_text(errno, text, sizeof(text));
		conn_error(c, "QUEUE_ERROR", text);
		j->j_state = JOB_PENDING;
		job_end(j, -1);
		return;
	}
	if (rv == 1) {
		j->j_state = JOB_PENDING;
		j->j_key = s->when * 1000;
		j->j_u.waiters = NULL;
		hold_created(c, j, &j->j_u.waiters);
		return;
	}
	send_created(c, j);
	job_ready(j, s->when);
}

/*
 * Re-create a background job from the journal (start-up); jf, when not
 * NULL, says it waits for a retry.
 */
void
queue_replay(const struct submit *s, uint64_t jid, uint32_t attempts,
    const struct journal_fate *jf)
{
	struct job	*j;

	/* The job keeps the handle it had: its journal id. */
	j = job_restore(s, jid);
	j->j_jid = jid;
	j->j_flags |= JOB_JOURNAL;
	j->j_attempts = attempts;
	if (jf == NULL) {
		job_ready(j, s->when);
		return;
	}
	j->j_tries = jf->tries > UINT16_MAX ? UINT16_MAX : jf->tries;
	failed_note_fail(j->j_num, jf->first, jf->error, jf->error_len);
	j->j_flags |= JOB_NOTE;
	job_retry_at(j, jf->due);
}

/* Put a job in WAITING until wall ms due, for its next try. */
static void
job_retry_at(struct job *j, int64_t due)
{
	j->j_state = JOB_WAITING;
	j->j_flags |= JOB_RETRY;
	j->j_key = due;
	j->j_func->f_queued[j->j_prio]++;
	nretrying++;
	timer_add(j);
}

/* A job from the failed list goes back to its queue, under its handle. */
void
queue_revive(const struct failed_info *fi)
{
	struct job	*j;

	j = job_restore(&fi->job, fi->num);
	if (fi->journaled) {
		j->j_jid = fi->jid;
		j->j_flags |= JOB_JOURNAL;
	}
	job_enqueue(j);
}

/* The first job of a function's queue of priority prio, or NULL. */
struct job *
queue_best(struct func *f, int prio)
{
	return TAILQ_FIRST(&f->f_q[prio]);
}

/* Give a queued job to a worker; timeout in ms (0 none). */
void
queue_assign(struct job *j, struct conn *c, int timeout)
{
	struct func	*f = j->j_func;
	int64_t		 now;

	if (j->j_target != NULL)
		bcast_remove(j);
	else
		TAILQ_REMOVE(&f->f_q[j->j_prio], j, j_entry);
	f->f_queued[j->j_prio]--;
	f->f_running++;
	nrunning++;
	j->j_state = JOB_RUNNING;
	j->j_u.worker = c;
	worker_hold(c, j);
	now = timer_mono_us();
	func_time(f, 0, now - j->j_since);
	j->j_since = now;
	j->j_key = 0;
	if (timeout > 0) {
		j->j_key = timer_mono_ms() + timeout;
		timer_add(j);
	}
}

/* Take a running job off its worker. */
static void
job_unrun(struct job *j)
{
	timer_del(j);
	worker_release(j->j_u.worker, j);
	j->j_func->f_running--;
	nrunning--;
	j->j_numerator = j->j_denominator = 0;
}

/*
 * A running background job failed with error err: try it again after
 * its function's backoff, or keep it in the failed list when it has no
 * tries left.  Its clients, if any, were dealt with.
 */
static void
job_failed(struct job *j, const void *err, size_t len)
{
	struct retry_policy	 rp;
	int64_t			 now = timer_now_ms(), first;
	char			 h[GM_HANDLE_SIZE];

	/* The run ended here: its time counts as any other run's. */
	func_time(j->j_func, 1, timer_mono_us() - j->j_since);
	if (j->j_tries < UINT16_MAX)
		j->j_tries++;
	first = failed_note_fail(j->j_num, now, err, len);
	j->j_flags |= JOB_NOTE;
	func_retry(j->j_func, &rp);
	if (j->j_tries > rp.rp_retries) {
		job_to_failed(j, first, now, err, len);
		return;
	}
	job_unrun(j);
	func_count(j->j_func, FE_RETRIED);
	job_retry_at(j, now + func_retry_delay(&rp, j->j_tries));
	queue_handle(j, h, sizeof(h));
	log_debug("%s: job %s (function %s) failed, retry %u of %u in "
	    "%" PRId64 " ms", __func__, h, j->j_func->f_name, j->j_tries,
	    rp.rp_retries, j->j_key - now);
	journal_retry(j, now);
}

/*
 * Journal that j waits for a retry due at j_key, with its tries and last
 * error (failed.c's note), the last failure at wall ms last.
 */
static void
journal_retry(struct job *j, int64_t last)
{
	struct journal_fate	 jf;

	if (!(j->j_flags & JOB_JOURNAL))
		return;
	memset(&jf, 0, sizeof(jf));
	jf.state = JOURNAL_FATE_RETRY;
	jf.tries = j->j_tries;
	jf.due = j->j_key;
	jf.last = last;
	failed_note_get(j->j_num, &jf.first, &jf.error, &jf.error_len);
	journal_fate(jnl, j->j_jid, &jf);
}

/* A background job has no tries left: over to the failed list. */
static void
job_to_failed(struct job *j, int64_t first, int64_t last, const void *err,
    size_t len)
{
	struct failed_info	 fi;
	char			 h[GM_HANDLE_SIZE], e[256];

	queue_handle(j, h, sizeof(h));
	log_warnx("job %s (function %s) failed %u time%s, kept in the failed "
	    "list: %s", h, j->j_func->f_name, j->j_tries,
	    j->j_tries == 1 ? "" : "s", log_escape(err, len, e, sizeof(e)));
	memset(&fi, 0, sizeof(fi));
	fi.num = j->j_num;
	fi.jid = j->j_jid;
	fi.journaled = (j->j_flags & JOB_JOURNAL) != 0;
	fi.tries = j->j_tries;
	fi.first = first;
	fi.last = last;
	fi.job.func = j->j_func->f_name;
	fi.job.func_len = j->j_func->f_len;
	fi.job.unique = job_unique(j);
	fi.job.unique_len = j->j_ulen;
	fi.job.reducer = j->j_rlen > 0 ? job_reducer(j) : NULL;
	fi.job.reducer_len = j->j_rlen;
	fi.job.target = j->j_target;
	fi.job.data = job_data(j);
	fi.job.data_len = j->j_len;
	fi.job.prio = j->j_prio;
	fi.job.bg = 1;
	fi.error = err;
	fi.error_len = len;
	failed_add(&fi, 1);
	job_fail_clients(j);
	job_detach_all(j);
	/* The journal record stays live: the failed list holds it now. */
	job_end(j, -1);
}

/*
 * A running job lost its worker (disconnect, CANT_DO, timeout): back to
 * the tail of its queue, or dropped when it ran out of attempts.  A
 * background job whose function has retries waits for its backoff
 * instead, and one that ran out of attempts goes to the failed list.
 */
void
queue_requeue(struct job *j, const char *why)
{
	struct retry_policy	 rp;
	struct func		*f = j->j_func;
	char			 h[GM_HANDLE_SIZE], *err;
	int			 n;

	if (j->j_flags & JOB_CANCELLED) {
		job_end(j, -1);
		return;
	}
	func_retry(f, &rp);
	if ((j->j_flags & JOB_BG) && rp.rp_retries > 0) {
		job_failed(j, why, strlen(why));
		return;
	}
	j->j_attempts++;
	queue_handle(j, h, sizeof(h));
	/* A broadcast job belongs to its member: it fails, never moves. */
	if (j->j_target != NULL && !(j->j_flags & JOB_BG)) {
		log_info("broadcast job %s (function %s) for %s failed: %s",
		    h, f->f_name, j->j_target, why);
		job_fail_clients(j);
		job_end(j, -1);
		return;
	}
	if (conf.job_retries > 0 && j->j_attempts >= conf.job_retries) {
		if (!(j->j_flags & JOB_BG)) {
			job_fail_clients(j);
			log_warnx("job %s (function %s) dropped after %u "
			    "attempts (last: %s)", h, f->f_name,
			    j->j_attempts, why);
			job_end(j, JOURNAL_END_EXHAUSTED);
			return;
		}
		n = xasprintf(&err, "retries exhausted after %u attempt%s "
		    "(last: %s)", j->j_attempts, j->j_attempts == 1 ? "" : "s",
		    why);
		j->j_tries = j->j_attempts > UINT16_MAX ? UINT16_MAX :
		    (uint16_t)j->j_attempts;
		job_to_failed(j, failed_note_fail(j->j_num, timer_now_ms(),
		    err, (size_t)n), timer_now_ms(), err, (size_t)n);
		free(err);
		return;
	}
	if (!(j->j_flags & JOB_BG) && LIST_EMPTY(&j->j_clients)) {
		log_debug("%s: job %s: no client waits for it", __func__, h);
		job_end(j, -1);
		return;
	}
	log_debug("%s: job %s (function %s) requeued: %s", __func__, h,
	    f->f_name, why);
	job_unrun(j);
	if (j->j_flags & JOB_JOURNAL)
		journal_attempt(jnl, j->j_jid, j->j_attempts);
	func_count(f, FE_RETRIED);
	job_enqueue(j);
}

/* A WORK_STATUS number, as gearmand's atoi reads it: junk or < 0 is 0. */
static uint32_t
status_number(const struct gm_arg *a)
{
	int64_t	 n = proto_number(a, UINT32_MAX);

	return n < 0 ? 0 : (uint32_t)n;
}

/* WORK_STATUS, _DATA, _WARNING, _COMPLETE, _FAIL, _EXCEPTION from a worker. */
void
queue_work(struct conn *c, uint32_t type, const struct gm_packet *pkt)
{
	struct job	*j;
	struct attach	*a, *next;
	const uint8_t	*body = pkt->arg[0].ptr;
	size_t		 size = pkt->hdr.size, tlen;
	const char	*text;
	uint64_t	 num;

	if (type == GM_WORK_FAIL && pkt->arg[0].len >= GM_HANDLE_SIZE) {
		conn_error(c, "ARGUMENT_TOO_LARGE", "Error occurred due to "
		    "GEARMAND_JOB_HANDLE_SIZE being too small from snprintf");
		return;
	}
	j = queue_find_handle(pkt->arg[0].ptr, pkt->arg[0].len);
	if (j == NULL || j->j_state != JOB_RUNNING || j->j_u.worker != c) {
		/*
		 * Perl's Gearman::Worker follows a WORK_EXCEPTION with a
		 * WORK_FAIL for the same job: that one is taken silently.
		 */
		if (type == GM_WORK_FAIL && c->c_exc_num != 0 &&
		    queue_handle_parse(pkt->arg[0].ptr, pkt->arg[0].len,
		    &num) == 0 && num == c->c_exc_num) {
			c->c_exc_num = 0;
			return;
		}
		if (type == GM_WORK_DATA || type == GM_WORK_WARNING)
			text = "Job does not exist on server";
		else if (type == GM_WORK_EXCEPTION)
			text = "An exception was received for a job that "
			    "does not exist";
		else
			text = "Job given in work result not found";
		conn_error(c, "JOB_NOT_FOUND", text);
		return;
	}
	if (type == GM_WORK_EXCEPTION)
		c->c_exc_num = j->j_num;
	if (j->j_flags & JOB_CANCELLED) {
		/* Its clients were told at cancel time. */
		if (type == GM_WORK_COMPLETE || type == GM_WORK_FAIL ||
		    type == GM_WORK_EXCEPTION)
			job_end(j, -1);
		return;
	}
	switch (type) {
	case GM_WORK_STATUS:
		j->j_numerator = status_number(&pkt->arg[1]);
		j->j_denominator = status_number(&pkt->arg[2]);
		job_send_clients(j, type, body, size);
		break;
	case GM_WORK_WARNING:
		if (j->j_flags & JOB_BG) {
			failed_note_warning(j->j_num, pkt->arg[1].ptr,
			    pkt->arg[1].len);
			j->j_flags |= JOB_NOTE;
		}
		/* FALLTHROUGH */
	case GM_WORK_DATA:
		job_send_clients(j, type, body, size);
		break;
	case GM_WORK_COMPLETE:
		job_send_clients(j, type, body, size);
		job_end(j, JOURNAL_END_COMPLETE);
		break;
	case GM_WORK_FAIL:
		job_send_clients(j, type, body, size);
		if (!(j->j_flags & JOB_BG)) {
			job_end(j, JOURNAL_END_FAIL);
			break;
		}
		job_detach_all(j);
		if (!(j->j_flags & JOB_NOTE) ||
		    !failed_note_warned(j->j_num, &text, &tlen)) {
			text = "WORK_FAIL";
			tlen = strlen(text);
		}
		func_count(j->j_func, FE_FAILED);
		job_failed(j, text, tlen);
		break;
	case GM_WORK_EXCEPTION:
		LIST_FOREACH_SAFE(a, &j->j_clients, a_jentry, next) {
			if (a->a_conn->c_flags & CONN_EXCEPTIONS)
				conn_send_raw(a->a_conn, type, body, size);
			else
				conn_send(a->a_conn, GM_WORK_FAIL, NULL, 0,
				    pkt->arg[0].ptr, pkt->arg[0].len);
		}
		if (!(j->j_flags & JOB_BG)) {
			job_end(j, JOURNAL_END_EXCEPTION);
			break;
		}
		job_detach_all(j);
		func_count(j->j_func, FE_EXCEPTIONS);
		if (pkt->arg[1].len > 0)
			job_failed(j, pkt->arg[1].ptr, pkt->arg[1].len);
		else
			job_failed(j, "WORK_EXCEPTION", 14);
		break;
	}
}

/* GET_STATUS: STATUS_RES handle, known, running, numerator, denominator. */
void
queue_status(struct conn *c, const void *handle, size_t len)
{
	struct gm_arg	 a[4];
	struct job	*j;
	char		 num[16], den[16];
	int		 known = 0, running = 0;

	j = queue_find_handle(handle, len);
	if (j != NULL && !(j->j_flags & JOB_CANCELLED)) {
		known = 1;
		running = j->j_state == JOB_RUNNING;
	} else
		j = NULL;
	snprintf(num, sizeof(num), "%u", j ? j->j_numerator : 0);
	snprintf(den, sizeof(den), "%u", j ? j->j_denominator : 0);
	a[0].ptr = handle;
	a[0].len = len;
	a[1] = gm_str(known ? "1" : "0");
	a[2] = gm_str(running ? "1" : "0");
	a[3] = gm_str(num);
	conn_send(c, GM_STATUS_RES, a, 4, den, strlen(den));
}

/* GET_STATUS_UNIQUE: STATUS_RES_UNIQUE ..., client count. */
void
queue_status_unique(struct conn *c, const void *unique, size_t len)
{
	struct gm_arg	 a[5];
	struct attach	*at;
	struct job	*j;
	char		 num[16], den[16], cnt[16];
	unsigned	 clients = 0;
	int		 known = 0, running = 0;

	if ((j = queue_find_unique(unique, len)) != NULL) {
		known = 1;
		running = j->j_state == JOB_RUNNING;
		LIST_FOREACH(at, &j->j_clients, a_jentry)
			clients++;
	}
	snprintf(num, sizeof(num), "%u", j ? j->j_numerator : 0);
	snprintf(den, sizeof(den), "%u", j ? j->j_denominator : 0);
	snprintf(cnt, sizeof(cnt), "%u", clients);
	a[0].ptr = unique;
	a[0].len = len;
	a[1] = gm_str(known ? "1" : "0");
	a[2] = gm_str(running ? "1" : "0");
	a[3] = gm_str(num);
	a[4] = gm_str(den);
	conn_send(c, GM_STATUS_RES_UNIQUE, a, 5, cnt, strlen(cnt));
}

/*
 * A client closed: detach it.  A foreground job nobody waits for any more
 * is dropped at once when it is not running yet; background jobs stay.
 */
void
queue_client_gone(struct conn *c)
{
	struct attach	*a;
	struct job	*j;

	while ((a = LIST_FIRST(&c->c_attached)) != NULL) {
		j = a->a_job;
		LIST_REMOVE(a, a_centry);
		LIST_REMOVE(a, a_jentry);
		free(a);
		if (LIST_EMPTY(&j->j_clients) && !(j->j_flags & JOB_BG) &&
		    j->j_state == JOB_QUEUED)
			job_end(j, -1);
	}
}

/* timer.c: an epoch job is due, or a running job's time is up. */
void
queue_timer_due(struct job *j)
{
	if (j->j_state == JOB_WAITING) {
		j->j_func->f_queued[j->j_prio]--;
		if (j->j_flags & JOB_RETRY) {
			j->j_flags &= ~JOB_RETRY;
			nretrying--;
		}
		job_enqueue(j);
	} else if (j->j_state == JOB_RUNNING)
		queue_requeue(j, "timed out (CAN_DO_TIMEOUT)");
}

/* Arguments of retry_now_one. */
struct retry_now {
	const char	*func;		/* NULL: every function */
	size_t		 len;
	uint64_t	 n;		/* jobs made due */
};

/* Make j due now if it waits for a retry of the function asked for. */
static void
retry_now_one(struct job *j, void *arg)
{
	struct retry_now	*rn = arg;

	if (j->j_state != JOB_WAITING || !(j->j_flags & JOB_RETRY) ||
	    (j->j_flags & JOB_CANCELLED) || (rn->func != NULL &&
	    (j->j_func->f_len != rn->len ||
	    memcmp(j->j_func->f_name, rn->func, rn->len) != 0)))
		return;
	timer_del(j);
	/* Due now, after a restart as well (tries and error kept). */
	j->j_key = timer_now_ms();
	journal_retry(j, j->j_key);
	queue_timer_due(j);
	rn->n++;
}

/*
 * An operator's retry of jobs that wait for their next try (after a
 * failure, under a retry policy): the job of handle p runs now instead of
 * at its due time; -1 if it does not wait for a retry.
 */
int
queue_retry_now(const void *p, size_t len)
{
	struct retry_now	 rn = { NULL, 0, 0 };
	struct job		*j;

	if ((j = queue_find_handle(p, len)) == NULL)
		return -1;
	retry_now_one(j, &rn);
	return rn.n == 1 ? 0 : -1;
}

/* The same for every job of function func (NULL: all); how many. */
uint64_t
queue_retry_now_func(const char *func, size_t len)
{
	struct retry_now	 rn = { func, len, 0 };

	queue_foreach_job(retry_now_one, &rn);
	return rn.n;
}

/*
 * When the oldest queued job of f was queued (monotonic us), or -1: the
 * heads of the queues are their oldest, as jobs join at the tail; jobs
 * targeted at a member wait on bcast.c's list.
 */
int64_t
queue_oldest_us(const struct func *f)
{
	struct job	*j;
	int64_t		 t = bcast_oldest_us(f);
	int		 i;

	for (i = 0; i < PRIO_COUNT; i++)
		if ((j = TAILQ_FIRST(&f->f_q[i])) != NULL &&
		    (t == -1 || j->j_since < t))
			t = j->j_since;
	return t;
}
