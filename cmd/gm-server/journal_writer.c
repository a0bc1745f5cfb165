/* Public domain. See README.md for the licence of this project. */
/* The journal's writer thread: group commit, syncs and write errors. */

#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "journal_int.h"
#include "log.h"
#include "xmalloc.h"

static void	 ts_add_ms(struct timespec *, int64_t);

/* Flush duration buckets: 100 us to 1 s, then +Inf. */
const uint64_t journal_flush_bounds_us[JOURNAL_FLUSH_BUCKETS - 1] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000
};

/* Milliseconds from a to b. */
int64_t
ts_ms(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_nsec - a->tv_nsec) / 1000000;
}

static void
ts_add_ms(struct timespec *t, int64_t ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

/* Start a thread of the journal with every signal blocked in it; 0 or -1. */
int
thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t	 all, old;
	int		 rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg) == 0 ? 0 : -1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* Start the writer thread with the first write. */
void
writer_start(struct journal *j)
{
	if (j->started)
		return;
	j->started = 1;
	dir_lock_pid(j);
	if (thread_start(&j->writer, writer_main, j) == -1)
		fatalx("journal: cannot start the writer thread");
}

/*
 * Wake the writer for the records queued in this pass of the event loop:
 * one wake-up (and so one write) covers every submission that arrived
 * together.
 */
void
writer_kick(evutil_socket_t fd, short what, void *arg)
{
	struct journal	*j = arg;

	(void)fd;
	(void)what;
	j->kicked = 0;
	pthread_mutex_lock(&j->mtx);
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->mtx);
}

/* Queue a record of n bytes; return where its body goes.  Under mtx. */
uint8_t *
pending_rec(struct journal *j, size_t body)
{
	uint8_t	*p;

	if (!j->kicked) {
		j->kicked = 1;
		event_active(j->kick, EV_TIMEOUT, 0);
	}
	p = jbuf_grow(&j->pending, REC_HDR + body);
	le_put32(p, body);
	return p + REC_HDR;
}

/*

 * Keep the ATTEMPT and END records of a failed batch whose job's ADD is
 * on disk already, so they are written later; drop the rest.
 */
static void
batch_retain(struct jbuf *batch, struct jbuf *keep)
{
	uint64_t	*adds = NULL, id;
	size_t		 nadds = 0, off, n, lo, hi, mid;
	uint8_t		*p;
	int		 found;

	for (off = 0; off < batch->len; off += n) {
		p = batch->b + off;
		n = REC_HDR + (size_t)le_get32(p);
		id = le_get64(p + REC_HDR + 1);
		if (p[REC_HDR] == REC_ADD || p[REC_HDR] == REC_TADD) {
			adds = xreallocarray(adds, nadds + 1, sizeof(*adds));
			adds[nadds++] = id;
			continue;
		}
		found = 0;
		for (lo = 0, hi = nadds; lo < hi && !found;) {
			mid = lo + (hi - lo) / 2;
			if (adds[mid] < id)
				lo = mid + 1;
			else if (adds[mid] > id)
				hi = mid;
			else
				found = 1;
		}
		if (!found)
			memcpy(jbuf_grow(keep, n), p, n);
	}
	free(adds);
}

/*
 * Write zeros ahead of the appends up to at least end, and sync them once:
 * later appends then overwrite allocated blocks without changing the file
 * size, and fdatasync need not commit metadata.  When the disk has no room
 * for the zeros, appends go on without them.
 */
static void
seg_extend(struct journal *j, uint64_t end)
{
	static const uint8_t	 zero[65536];
	uint64_t		 to, off;
	size_t			 n;
	int			 e = 0;

	to = (end + PREALLOC - 1) / PREALLOC * PREALLOC;
	if (j->alloc < j->good)
		j->alloc = j->good;
	for (off = j->alloc; off < to && e == 0; off += n) {
		n = to - off < sizeof(zero) ? to - off : sizeof(zero);
		e = pwrite_all(j->fd, zero, n, off);
	}
	if (e == 0 && fdatasync(j->fd) == -1)
		e = errno;
	if (e != 0) {
		if (ftruncate(j->fd, j->good) == 0)
			j->alloc = j->good;
		return;
	}
	j->alloc = to;
}

/* Cut the unused zeros off the current segment; 0 or -1. */
int
seg_trim(struct journal *j)
{
	if (j->fd == -1 || j->alloc == j->good)
		return 0;
	if (ftruncate(j->fd, j->good) == -1) {
		log_warn("journal %s: truncate", j->dir);
		return -1;
	}
	j->alloc = j->good;
	j->dirty = 1;
	return 0;
}

/*
 * Write one batch (and sync it per the mode).  Return 0 or an errno value;
 * on error the file is cut back to its last good size.
 */
static int
batch_write(struct journal *j, int fault, uint64_t *nrec)
{
	struct jbuf	*b = &j->batch;
	size_t		 off, len;
	int		 e;

	*nrec = 0;
	for (off = 0; off < b->len; off += REC_HDR + len) {
		len = le_get32(b->b + off);
		rec_seal(b->b + off, len);
		(*nrec)++;
	}
	if (fault == 0 && j->good + b->len > j->alloc)
		seg_extend(j, j->good + b->len);
	if (fault != 0) {
		/* Simulate a short write, then the failure. */
		pwrite_all(j->fd, b->b, b->len / 2, j->good);
		e = fault;
	} else
		e = pwrite_all(j->fd, b->b, b->len, j->good);
	if (e == 0 && j->opts.sync == JOURNAL_SYNC_ALWAYS &&
	    fdatasync(j->fd) == -1)
		e = errno;
	if (e != 0) {
		if (ftruncate(j->fd, j->good) == -1)
			log_warn("journal %s: cannot cut back a failed write",
			    j->dir);
		else
			j->alloc = j->good;
		return e;
	}
	j->good += b->len;
	if (j->alloc < j->good)
		j->alloc = j->good;
	if (j->opts.sync == JOURNAL_SYNC_ALWAYS)
		clock_gettime(CLOCK_MONOTONIC, &j->last_sync);
	else
		j->dirty = 1;
	return 0;
}

/* Wake the event loop: completions are waiting. */
static void
notify_loop(struct journal *j)
{
	uint64_t	 one = 1;

	if (write(j->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("journal: eventfd");
}

/* The writer thread: write batches, sync them, post completions. */
void *
writer_main(void *arg)
{
	struct journal	*j = arg;
	struct jbuf	 t, keep = { NULL, 0, 0 };
	struct jcompact	*cp;
	struct timespec	 now, dl, t0, t1;
	uint64_t	 upto, nrec, us;
	int		 e, fault, post, sync_due, stop, i;

	pthread_mutex_lock(&j->mtx);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (j->pending.len > 0 && !j->stop &&
		    ts_ms(&now, &j->retry_at) > 0) {
			pthread_cond_timedwait(&j->cond, &j->mtx, &j->retry_at);
			continue;
		}
		sync_due = j->dirty && (j->stop ||
		    (j->opts.sync == JOURNAL_SYNC_INTERVAL &&
		    ts_ms(&j->last_sync, &now) >= j->opts.interval_ms));
		if (j->pending.len == 0 && !sync_due) {
			if (j->stop)
				break;
			if (j->dirty &&
			    j->opts.sync == JOURNAL_SYNC_INTERVAL) {
				dl = j->last_sync;
				ts_add_ms(&dl, j->opts.interval_ms);
				pthread_cond_timedwait(&j->cond, &j->mtx, &dl);
			} else
				pthread_cond_wait(&j->cond, &j->mtx);
			continue;
		}
		t = j->batch;
		j->batch = j->pending;
		j->pending = t;
		j->pending.len = 0;
		upto = j->pending_seq;
		fault = j->fault;
		stop = j->stop;
		cp = compact_begin(j);
		pthread_mutex_unlock(&j->mtx);

		e = 0;
		nrec = 0;
		us = 0;
		if (j->batch.len > 0) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			e = batch_write(j, fault, &nrec);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			us = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
			    (t1.tv_nsec - t0.tv_nsec) / 1000;
			if (e != 0) {
				log_warnx("journal %s: write failed: %s", j->dir,
				    strerror(e));
				keep.len = 0;
				batch_retain(&j->batch, &keep);
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (j->dirty && (stop || (j->opts.sync ==
		    JOURNAL_SYNC_INTERVAL && ts_ms(&j->last_sync, &now) >=
		    j->opts.interval_ms))) {
			if (fdatasync(j->fd) == -1)
				log_warn("journal %s: fsync", j->dir);
			j->dirty = 0;
			j->last_sync = now;
		}

		pthread_mutex_lock(&j->mtx);
		if (j->batch.len > 0) {
			j->flushes++;
			j->last_flush_us = us;
			if (us > j->peak_flush_us)
				j->peak_flush_us = us;
			for (i = 0; i < JOURNAL_FLUSH_BUCKETS - 1; i++)
				if (us <= journal_flush_bounds_us[i])
					break;
			j->flush_hist[i]++;
			j->flush_sum_us += us;
			if (e == 0) {
				j->records += nrec;
				j->segs[j->nsegs - 1].size = j->good;
			} else {
				j->write_errors++;
				j->retry_at = now;
				ts_add_ms(&j->retry_at, RETRY_MS);
				if (keep.len > 0 && !stop) {
					memcpy(jbuf_grow(&keep,
					    j->pending.len), j->pending.b,
					    j->pending.len);
					t = j->pending;
					j->pending = keep;
					keep = t;
				} else if (keep.len > 0)
					log_warnx("journal %s: %zu bytes of "
					    "records lost at shutdown",
					    j->dir, keep.len);
			}
		}
		post = upto > j->posted_seq;
		if (post) {
			if (j->ncompl == j->compl_cap) {
				j->compl_cap = j->compl_cap ?
				    j->compl_cap * 2 : 64;
				j->compl = xreallocarray(j->compl,
				    j->compl_cap, sizeof(*j->compl));
			}
			j->compl[j->ncompl].upto = upto;
			j->compl[j->ncompl++].err = e;
			j->posted_seq = upto;
		}
		pthread_mutex_unlock(&j->mtx);
		if (post)
			notify_loop(j);
		j->batch.len = 0;
		if (cp != NULL) {
			if (e == 0)
				compact_start(j, cp);
			else
				compact_abort(j, cp);
		}
		pthread_mutex_lock(&j->mtx);
	}
	pthread_mutex_unlock(&j->mtx);
	free(keep.b);
	return NULL;
}

