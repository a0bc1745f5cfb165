/* Public domain. See README.md for the licence of this project. */
/*
 * The life of one job: struct job and struct attach, allocation, the
 * handle and unique indexes (handle numbers and their text form, lookup
 * by handle or unique id), the clients attached to a job, and its end,
 * which unlinks, records and frees it.  The queues a job waits on and
 * what happens to it in between (submit, results, requeue) are queue.c's.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "journal.h"
#include "gm-server.h"

static uint32_t	 handle_hash(const void *);
static uint32_t	 unique_hash(const void *);

static struct htable	 handles;	/* struct job by j_num (j_hnext) */
static struct htable	 uniques;	/* struct job by j_uhash (j_unext) */
static uint64_t		 next_handle;	/* last handle number given */
static uint64_t		 njobs;
uint64_t		 nrunning;
uint64_t		 nretrying;	/* WAITING with JOB_RETRY */

#define DASH_SEED	0x2d2d2d2dU

/* Set up the indexes. */
void
job_init(void)
{
	htable_init(&handles, offsetof(struct job, j_hnext), handle_hash);
	htable_init(&uniques, offsetof(struct job, j_unext), unique_hash);
}

static uint32_t
handle_hash(const void *e)
{
	return (uint32_t)((const struct job *)e)->j_num;
}

static uint32_t
unique_hash(const void *e)
{
	return ((const struct job *)e)->j_uhash;
}

/* Unindex a job's unique id; j_ulen stays, for `show unique jobs`. */
static void
unique_remove(struct job *j)
{
	if (j->j_ulen > 0)
		htable_remove(&uniques, j, j->j_uhash);
}

/*
 * The unique index hash of a submission: of its unique id, or for "-" of
 * its payload.
 */
uint32_t
submit_uhash(const struct submit *s)
{
	if (s->unique_len == 1 && s->unique[0] == '-')
		return htable_hash(s->data, s->data_len, DASH_SEED);
	return htable_hash(s->unique, s->unique_len, HTABLE_SEED);
}

/* Find the job a submission coalesces with. */
struct job *
unique_lookup(struct func *f, const struct submit *s, uint32_t h)
{
	struct job	*j;
	int		 dash = s->unique_len == 1 && s->unique[0] == '-';

	for (j = htable_first(&uniques, h); j != NULL; j = j->j_unext) {
		if (j->j_uhash != h || j->j_func != f ||
		    j->j_ulen != s->unique_len ||
		    memcmp(job_unique(j), s->unique, s->unique_len) != 0)
			continue;
		if (dash && (j->j_len != s->data_len ||
		    memcmp(job_data(j), s->data, s->data_len) != 0))
			continue;
		return j;
	}
	return NULL;
}

/* Format a handle number; returns its length.  Hot: no printf. */
int
queue_handle_num(uint64_t num, char *buf, size_t len)
{
	static size_t	 plen;
	char		 digits[24];
	size_t		 n = 0, i;

	if (plen == 0)
		plen = strlen(conf.handle_prefix);

	do {
		digits[n++] = (char)('0' + num % 10);
		num /= 10;
	} while (num > 0);
	if (plen + 1 + n >= len)
		return snprintf(buf, len, "?");
	memcpy(buf, conf.handle_prefix, plen);
	buf[plen] = ':';
	for (i = 0; i < n; i++)
		buf[plen + 1 + i] = digits[n - 1 - i];
	buf[plen + 1 + n] = '\0';
	return (int)(plen + 1 + n);
}

/* Format a job's handle; returns its length. */
int
queue_handle(const struct job *j, char *buf, size_t len)
{
	return queue_handle_num(j->j_num, buf, len);
}

/* The number of a handle of ours: 0 and *num set, or -1. */
int
queue_handle_parse(const void *p, size_t len, uint64_t *num)
{
	const char	*s = p;
	size_t		 plen = strlen(conf.handle_prefix), i;
	uint64_t	 n = 0;

	if (len <= plen + 1 || len - plen - 1 > 19 ||
	    memcmp(s, conf.handle_prefix, plen) != 0 || s[plen] != ':')
		return -1;
	for (i = plen + 1; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	*num = n;
	return 0;
}

/* Look a handle up; NULL unless it is one of ours and the job exists. */
struct job *
queue_find_handle(const void *p, size_t len)
{
	struct job	*j;
	uint64_t	 num;

	if (queue_handle_parse(p, len, &num) == -1)
		return NULL;
	for (j = htable_first(&handles, (uint32_t)num); j != NULL;
	    j = j->j_hnext)
		if (j->j_num == num)
			return j;
	return NULL;
}

/* Look a unique id up across functions (GET_STATUS_UNIQUE). */
struct job *
queue_find_unique(const void *p, size_t len)
{
	struct job	*j;
	uint32_t	 h;

	if (len == 0)
		return NULL;
	h = htable_hash(p, len, HTABLE_SEED);
	for (j = htable_first(&uniques, h); j != NULL; j = j->j_unext)
		if (j->j_uhash == h && j->j_ulen == len &&
		    !(j->j_flags & JOB_DASH) &&
		    memcmp(job_unique(j), p, len) == 0)
			return j;
	return NULL;
}

/*
 * Allocate a job with its strings and payload in one block, under handle
 * number num (0: the next one).
 */
struct job *
job_new(const struct submit *s, uint64_t num)
{
	struct job	*j;

	j = xmalloc(sizeof(*j) + s->unique_len + s->reducer_len + s->data_len);
	memset(j, 0, sizeof(*j));
	j->j_ulen = (uint8_t)s->unique_len;
	j->j_rlen = (uint16_t)s->reducer_len;
	j->j_len = (uint32_t)s->data_len;
	j->j_prio = (uint8_t)s->prio;
	if (s->unique_len > 0)
		memcpy(job_unique(j), s->unique, s->unique_len);
	if (s->reducer_len > 0)
		memcpy(job_reducer(j), s->reducer, s->reducer_len);
	if (s->data_len > 0)
		memcpy(job_data(j), s->data, s->data_len);
	if (s->target != NULL)
		j->j_target = xstrdup(s->target);
	LIST_INIT(&j->j_clients);
	if (num > next_handle)
		next_handle = num;
	j->j_num = num > 0 ? num : ++next_handle;
	if (s->bg)
		j->j_flags |= JOB_BG;
	return j;
}

/* Index a new job and count it in its function. */
void
job_link(struct job *j, struct func *f, const struct submit *s, uint32_t uh)
{
	j->j_func = f;
	htable_insert(&handles, j, (uint32_t)j->j_num);
	if (s->unique_len > 0 && !(s->unique_len == 1 && s->unique[0] == '-' &&
	    s->data_len == 0)) {
		if (s->unique_len == 1 && s->unique[0] == '-')
			j->j_flags |= JOB_DASH;
		j->j_uhash = uh;
		htable_insert(&uniques, j, uh);
	}
	f->f_total++;
	njobs++;
}

/*
 * Attach a foreground client to a job, once per submission: a client that
 * submits the same unique twice gets every reply twice, as from gearmand.
 */
void
job_attach(struct job *j, struct conn *c)
{
	struct attach	*a;

	a = xmalloc(sizeof(*a));
	a->a_job = j;
	a->a_conn = c;
	LIST_INSERT_HEAD(&j->j_clients, a, a_jentry);
	LIST_INSERT_HEAD(&c->c_attached, a, a_centry);
}

/* Detach every client of a job. */
void
job_detach_all(struct job *j)
{
	struct attach	*a;

	while ((a = LIST_FIRST(&j->j_clients)) != NULL) {
		LIST_REMOVE(a, a_jentry);
		LIST_REMOVE(a, a_centry);
		free(a);
	}
}

/* Send one packet body to every attached client. */
void
job_send_clients(struct job *j, uint32_t type, const void *body, size_t len)
{
	struct attach	*a, *next;

	LIST_FOREACH_SAFE(a, &j->j_clients, a_jentry, next)
		conn_send_raw(a->a_conn, type, body, len);
}

/* Tell every attached client the job failed (WORK_FAIL handle). */
void
job_fail_clients(struct job *j)
{
	char	 h[GM_HANDLE_SIZE];
	int	 n;

	n = queue_handle(j, h, sizeof(h));
	job_send_clients(j, GM_WORK_FAIL, h, (size_t)n);
}

/* How a job ended, for `fate`, from how the journal records it. */
static int
ended_how(int how)
{
	switch (how) {
	case JOURNAL_END_COMPLETE:
		return ENDED_DONE;
	case JOURNAL_END_EXCEPTION:
		return ENDED_EXCEPTION;
	case JOURNAL_END_CANCEL:
		return ENDED_CANCELLED;
	default:
		return ENDED_FAILED;
	}
}

/*
 * A job is gone for good: unlink it from wherever it is, record its end
 * (how: enum journal_end, or -1 for none) and free it.
 */
void
job_end(struct job *j, int how)
{
	struct func	*f = j->j_func;
	struct conn	*w;

	switch (j->j_state) {
	case JOB_WAITING:
		timer_del(j);
		f->f_queued[j->j_prio]--;
		if (j->j_flags & JOB_RETRY)
			nretrying--;
		break;
	case JOB_QUEUED:
		if (j->j_target != NULL)
			bcast_remove(j);
		else
			TAILQ_REMOVE(&f->f_q[j->j_prio], j, j_entry);
		f->f_queued[j->j_prio]--;
		break;
	case JOB_RUNNING:
		timer_del(j);
		w = j->j_u.worker;
		worker_release(w, j);
		if (!(j->j_flags & JOB_CANCELLED)) {
			f->f_running--;
			nrunning--;
			if (how >= 0)
				func_time(f, 1, timer_mono_us() - j->j_since);
		}
		break;
	}
	switch (how) {
	case JOURNAL_END_COMPLETE:
		func_count(f, FE_COMPLETED);
		break;
	case JOURNAL_END_FAIL:
	case JOURNAL_END_EXHAUSTED:
		func_count(f, FE_FAILED);
		break;
	case JOURNAL_END_EXCEPTION:
		func_count(f, FE_EXCEPTIONS);
		break;
	}
	job_detach_all(j);
	htable_remove(&handles, j, (uint32_t)j->j_num);
	if (!(j->j_flags & JOB_CANCELLED)) {
		unique_remove(j);
		f->f_total--;
		njobs--;
	}
	if ((j->j_flags & JOB_JOURNAL) && how >= 0)
		journal_end(jnl, j->j_jid, how);
	if (how >= 0 && !(j->j_flags & JOB_CANCELLED))
		ended_add(j->j_num, ended_how(how));
	if (j->j_flags & JOB_NOTE)
		failed_note_drop(j->j_num);
	free(j->j_target);
	free(j);
}

/* Give no new job a handle number up to n (journaled jobs had them). */
void
queue_handle_floor(uint64_t n)
{
	if (n > next_handle)
		next_handle = n;
}

/* Make and index a job that had handle number num (replay, revive). */
struct job *
job_restore(const struct submit *s, uint64_t num)
{
	struct func	*f;
	struct job	*j;
	uint32_t	 uh = 0;

	f = func_get(s->func, s->func_len, 1);
	if (s->unique_len > 0)
		uh = submit_uhash(s);
	j = job_new(s, num);
	job_link(j, f, s, uh);
	return j;
}

struct job_foreach {
	void	(*fn)(struct job *, void *);
	void	 *arg;
};

static void
job_foreach_one(void *e, void *arg)
{
	struct job		*j = e;
	struct job_foreach	*fe = arg;

	if (!(j->j_flags & JOB_CANCELLED))
		fe->fn(j, fe->arg);
}

/* Call fn for every job still listed (hash order, as gearmand). */
void
queue_foreach_job(void (*fn)(struct job *, void *), void *arg)
{
	struct job_foreach	 fe = { fn, arg };

	htable_foreach(&handles, job_foreach_one, &fe);
}

/* How many jobs wait for a retry. */
uint64_t
queue_retrying(void)
{
	return nretrying;
}

/* How many jobs are running. */
uint64_t
queue_running(void)
{
	return nrunning;
}

static void
job_stop_one(void *e, void *arg __unused)
{
	struct job	*j = e;

	if (j->j_state == JOB_RUNNING)
		job_end(j, -1);
}

/*
 * Shutdown, before the connections close: forget the running jobs
 * without recording anything.  A run cut short by a shutdown is not a
 * lost attempt: the job stays in the journal as it is and runs again
 * after the restart.
 */
void
queue_stop_running(void)
{
	htable_foreach(&handles, job_stop_one, NULL);
}

/* Free a job at shutdown, refusing the replies that wait on it. */
static void
job_free_one(void *e, void *arg __unused)
{
	struct job	*j = e;

	if (j->j_state == JOB_PENDING)
		release_created(j->j_u.waiters, ECANCELED);
	job_detach_all(j);
	free(j->j_target);
	free(j);
}

/* Free every job (shutdown; connections are gone). */
void
queue_free_all(void)
{
	htable_foreach(&handles, job_free_one, NULL);
	htable_free(&handles);
	htable_free(&uniques);
}

/*
 * Admin `cancel job`: the clients get WORK_FAIL and the job is gone from
 * every listing at once.  A running job's worker may still report; its
 * results are dropped.  -1 if there is no such job.
 */
int
queue_cancel(const char *handle, size_t len)
{
	struct job	*j;
	struct func	*f;

	j = queue_find_handle(handle, len);
	if (j == NULL || j->j_state == JOB_PENDING ||
	    (j->j_flags & JOB_CANCELLED))
		return -1;
	job_fail_clients(j);
	job_detach_all(j);
	func_count(j->j_func, FE_CANCELLED);
	if (j->j_state != JOB_RUNNING) {
		job_end(j, JOURNAL_END_CANCEL);
		return 0;
	}
	if (j->j_flags & JOB_JOURNAL)
		journal_end(jnl, j->j_jid, JOURNAL_END_CANCEL);
	j->j_flags &= ~JOB_JOURNAL;
	ended_add(j->j_num, ENDED_CANCELLED);
	timer_del(j);
	f = j->j_func;
	unique_remove(j);
	f->f_total--;
	f->f_running--;
	nrunning--;
	njobs--;
	j->j_flags |= JOB_CANCELLED;
	return 0;
}
