/* Public domain. See README.md for the licence of this project. */
/*
 * The journal of background jobs: open and replay, the calls the server
 * makes, and the ring of adds awaiting their done call.  The index of
 * jobs and the table of fates are journal_index.c's.
 * Map of the journal's files in journal_int.h.
 */

#include <sys/types.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "journal_int.h"
#include "log.h"
#include "xmalloc.h"

/* What the scan of one segment adds its records to. */
struct jscan_ctx {
	struct journal	*j;
	uint32_t	 m;		/* index of the segment in j->maps */
	const char	*path;
};

static void	 journal_take_id(struct journal *, struct journal_job *);
static struct jent *live_lock(struct journal *, uint64_t);

/* Apply one record read back from a segment to the index. */
static void
scan_record(const struct jrec *r, size_t off, void *arg)
{
	struct jscan_ctx	*ctx = arg;
	struct journal		*j = ctx->j;
	struct jent		*e;

	if (r->id >= j->next_id)
		j->next_id = r->id + 1;
	switch (r->type) {
	case REC_ADD:
		if (j->idx.n > 0 && j->idx.e[j->idx.n - 1].id >= r->id) {
			log_warnx("journal %s: job %" PRIu64 " at offset %zu "
			    "out of order, ignored", ctx->path, r->id, off);
			break;
		}
		idx_push(&j->idx, r->id, r->attempts, ctx->m, off);
		break;
	case REC_ATTEMPT:
		if ((e = idx_find(&j->idx, r->id)) != NULL &&
		    e->seg != JENT_DEAD && r->attempts > e->attempts)
			e->attempts = r->attempts;
		break;
	case REC_END:
		if ((e = idx_find(&j->idx, r->id)) != NULL &&
		    e->seg != JENT_DEAD) {
			idx_kill(&j->idx, e);
			idx_tidy(&j->idx, 0);
			fate_del(j, r->id);
		}
		break;
	case REC_FATE:
		if ((e = idx_find(&j->idx, r->id)) != NULL &&
		    e->seg != JENT_DEAD)
			fate_set(j, r);
		break;
	}
}

/* Open step: a journal with its defaults; disk or memory only. */
static struct journal *
open_new(struct event_base *base, const char *dir,
    const struct journal_opts *opts)
{
	struct journal		*j;
	pthread_condattr_t	 ca;

	j = xcalloc(1, sizeof(*j));
	j->next_id = 1;
	j->lockfd = j->dirfd = j->efd = j->fd = -1;
	j->opts.sync = JOURNAL_SYNC_ALWAYS;
	if (opts != NULL)
		j->opts = *opts;
	if (j->opts.sync == JOURNAL_SYNC_INTERVAL && j->opts.interval_ms < 1)
		j->opts.interval_ms = 1;
	if (dir == NULL || strcmp(dir, "none") == 0)
		return j;
	j->disk = 1;
	j->base = base;
	j->dir = xstrdup(dir);
	pthread_mutex_init(&j->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cond, &ca);
	pthread_condattr_destroy(&ca);
	j->compact_min = COMPACT_MIN;
	return j;
}

/* Open step: settings from the environment (for the tests). */
static int
open_env(struct journal *j, char **cause)
{
	const char	*s, *errstr;

	if ((s = getenv("GM_JOURNAL_COMPACT_BYTES")) == NULL)
		return 0;
	j->compact_min = strtonum(s, 0, LLONG_MAX, &errstr);
	if (errstr != NULL) {
		xasprintf(cause, "GM_JOURNAL_COMPACT_BYTES %s: %s", s, errstr);
		return -1;
	}
	return 0;
}

/*
 * Open step: map every segment and check its header; the newest base
 * segment makes the older ones moot, and they are removed.
 */
static int
open_map(struct journal *j, char **cause)
{
	struct jhdr	 hd;
	uint64_t	*seqs;
	size_t		 nseqs, i, start = 0;
	char		*path;
	int		 rc = -1;

	if (dir_list(j, &seqs, &nseqs, cause) == -1)
		return -1;
	j->maps = xcalloc(nseqs ? nseqs : 1, sizeof(*j->maps));
	for (i = 0; i < nseqs; i++) {
		j->nmaps = i + 1;
		if (seg_map(j, seqs[i], &j->maps[i], &hd, cause) == -1)
			goto out;
		if (hd.next_id > j->next_id)
			j->next_id = hd.next_id;
		if ((hd.flags & HDR_BASE) &&
		    j->maps[i].damage == JDAMAGE_NONE)
			start = i;
	}
	for (i = 0; i < start; i++) {
		path = seg_path(j, j->maps[i].seq);
		log_info("journal: removing %s, superseded by a compacted "
		    "segment", path);
		if (unlink(path) == -1)
			log_warn("journal: unlink %s", path);
		free(path);
		seg_unmap(&j->maps[i]);
	}
	if (start > 0) {
		memmove(j->maps, j->maps + start,
		    (j->nmaps - start) * sizeof(*j->maps));
		j->nmaps -= start;
	}
	rc = 0;
out:
	free(seqs);
	return rc;
}

/*
 * Open step: scan the records and rebuild the set of live jobs; *last
 * gets how the newest segment ends.  Return whether a segment is damaged.
 */
static int
open_scan(struct journal *j, struct jscan *last, char **cause)
{
	struct jscan_ctx	 ctx;
	struct jscan		 sc;
	struct jmap		*mp;
	uint32_t		 i;
	char			*path;
	int			 rc, damaged = 0;

	memset(last, 0, sizeof(*last));
	for (i = 0; i < j->nmaps; i++) {
		mp = &j->maps[i];
		if (mp->p == NULL)
			continue;
		ctx.j = j;
		ctx.m = i;
		path = seg_path(j, mp->seq);
		ctx.path = path;
		rc = seg_scan(mp->p, mp->len, i == j->nmaps - 1,
		    j->opts.repair, path, scan_record, &ctx, &sc, cause);
		free(path);
		if (rc == -1)
			return -1;
		j->records += sc.records;
		if (sc.damage != JDAMAGE_NONE)
			mp->damage = sc.damage;
		if (i == j->nmaps - 1)
			*last = sc;
	}
	for (i = 0; i < j->nmaps; i++)
		if (j->maps[i].damage != JDAMAGE_NONE)
			damaged = 1;
	return damaged;
}

/*
 * Open step, when nothing is damaged: take the segments as they are, with
 * the newest one's tail settled (zeros kept for appends, a torn record cut
 * off).
 */
static int
open_settle(struct journal *j, const struct jscan *last, char **cause)
{
	struct jseg	*cur;
	char		*path;
	size_t		 i;

	j->segs = xcalloc(j->nmaps ? j->nmaps : 1, sizeof(*j->segs));
	for (i = 0; i < j->nmaps; i++) {
		j->segs[i].seq = j->maps[i].seq;
		j->segs[i].size = j->maps[i].len;
	}
	j->nsegs = j->nmaps;
	if (j->nsegs == 0)
		return 0;
	cur = &j->segs[j->nsegs - 1];
	if (last->tail == JTAIL_ZEROS) {
		/* Keep the zeros: appends go on over them. */
		j->alloc = cur->size;
		cur->size = last->keep;
	} else if (last->keep < cur->size) {
		path = seg_path(j, cur->seq);
		if (truncate(path, last->keep) == -1) {
			xasprintf(cause, "journal %s: truncate: %s", path,
			    strerror(errno));
			free(path);
			return -1;
		}
		free(path);
		cur->size = last->keep;
	}
	return 0;
}

/* Open step: open the newest segment for appends, or start one. */
static int
open_append(struct journal *j, char **cause)
{
	uint64_t	 seq;
	char		*path;
	int		 fd;

	if (j->nsegs == 0) {
		seq = j->nmaps > 0 ? j->maps[j->nmaps - 1].seq : 1;
		if ((fd = seg_create(j, seq, 0, j->next_id)) == -1) {
			xasprintf(cause, "journal %s: creating a segment: %s",
			    j->dir, strerror(errno));
			return -1;
		}
		j->segs = xreallocarray(j->segs, 1, sizeof(*j->segs));
		j->segs[0].seq = seq;
		j->segs[0].size = HDR_SIZE;
		j->nsegs = 1;
	} else {
		path = seg_path(j, j->segs[j->nsegs - 1].seq);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd == -1) {
			xasprintf(cause, "journal %s: %s", path,
			    strerror(errno));
			free(path);
			return -1;
		}
		free(path);
	}
	j->fd = fd;
	j->cur_seq = j->segs[j->nsegs - 1].seq;
	j->good = j->segs[j->nsegs - 1].size;
	if (j->alloc < j->good)
		j->alloc = j->good;
	clock_gettime(CLOCK_MONOTONIC, &j->last_sync);
	return 0;
}

/* Run the done callbacks of flushed adds, in journal_add order. */
static void
journal_notify(evutil_socket_t fd, short what, void *arg)
{
	struct journal	*j = arg;
	struct jcompl	*c;
	struct jack	 a;
	struct jent	*e;
	uint64_t	 v;
	size_t		 i, n, cap;

	(void)what;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("journal: eventfd");
	pthread_mutex_lock(&j->mtx);
	c = j->compl;
	n = j->ncompl;
	cap = j->compl_cap;
	j->compl = j->compl_spare;
	j->compl_cap = j->compl_spare_cap;
	j->ncompl = 0;
	pthread_mutex_unlock(&j->mtx);
	j->compl_spare = c;
	j->compl_spare_cap = cap;
	for (i = 0; i < n; i++) {
		while (j->ack_n > 0 && j->done_seq < c[i].upto) {
			a = j->acks[j->ack_head];
			j->ack_head = (j->ack_head + 1) % j->ack_cap;
			j->ack_n--;
			j->done_seq++;
			if (c[i].err != 0) {
				pthread_mutex_lock(&j->mtx);
				e = idx_find(&j->idx, a.id);
				if (e != NULL && e->seg != JENT_DEAD)
					idx_kill(&j->idx, e);
				pthread_mutex_unlock(&j->mtx);
			}
			if (a.done != NULL)
				a.done(c[i].err, a.arg);
		}
	}
}

/*
 * Open step: the eventfd the writer posts completions on, and the event
 * that wakes the writer once per pass of the loop.
 */
static int
open_events(struct journal *j, char **cause)
{
	if ((j->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		xasprintf(cause, "journal: eventfd: %s", strerror(errno));
		return -1;
	}
	j->ev = event_new(j->base, j->efd, EV_READ | EV_PERSIST,
	    journal_notify, j);
	j->kick = event_new(j->base, -1, 0, writer_kick, j);
	if (j->ev == NULL || j->kick == NULL || event_add(j->ev, NULL) == -1) {
		xasprintf(cause, "journal: cannot add the completion event");
		return -1;
	}
	return 0;
}

/* Open the journal in dir; dir NULL or "none" keeps jobs in memory only. */
struct journal *
journal_open(struct event_base *base, const char *dir,
    const struct journal_opts *opts, char **cause)
{
	struct journal	*j;
	struct jscan	 last;
	int		 damaged;

	*cause = NULL;
	j = open_new(base, dir, opts);
	if (!j->disk)
		return j;
	if (open_env(j, cause) == -1 || dir_open(j, cause) == -1 ||
	    open_map(j, cause) == -1 ||
	    (damaged = open_scan(j, &last, cause)) == -1)
		goto fail;
	if ((damaged ? repair(j, cause) : open_settle(j, &last, cause)) == -1)
		goto fail;
	if (open_append(j, cause) == -1 || open_events(j, cause) == -1)
		goto fail;
	log_info("journal %s: %" PRIu64 " jobs pending, %" PRIu64 " records "
	    "in %zu segments", dir, idx_live(&j->idx), j->records, j->nsegs);
	return j;
fail:
	journal_close(j);
	return NULL;
}

/* Call cb for every live job, in submission order, then forget the maps. */
int
journal_replay(struct journal *j, void (*cb)(const struct journal_job *,
    void *), void *arg)
{
	struct journal_job	 job;
	struct jrec		 r, fr;
	struct jent		*e;
	struct jfate		*f;
	const char		*why;
	size_t			 i;
	int			 n = 0;

	if (!j->disk || j->maps == NULL)
		return 0;
	for (i = 0; i < j->idx.n; i++) {
		e = &j->idx.e[i];
		if (e->seg == JENT_DEAD)
			continue;
		if (rec_parse(j->maps[e->seg].p + e->off,
		    j->maps[e->seg].len - e->off, &r, &why) == 0)
			fatalx("journal: job %" PRIu64 " changed on disk during "
			    "replay", e->id);
		memset(&job, 0, sizeof(job));
		job.id = r.id;
		job.prio = r.prio;
		job.when = r.when;
		job.attempts = e->attempts;
		job.func = (const char *)r.func;
		job.func_len = r.func_len;
		job.unique = (const char *)r.unique;
		job.unique_len = r.unique_len;
		job.reducer = (const char *)r.reducer;
		job.reducer_len = r.reducer_len;
		job.target = (const char *)r.target;
		job.target_len = r.target_len;
		job.data_ptr = r.data;
		job.data_len = r.data_len;
		if ((f = fate_find(j, e->id)) != NULL &&
		    rec_parse(f->f_rec, f->f_len, &fr, &why) != 0) {
			job.fate = fr.state;
			job.tries = fr.attempts;
			job.due = fr.due;
			job.first = fr.first;
			job.last = fr.last;
			job.error = (const char *)fr.error;
			job.error_len = fr.error_len;
		}
		if (cb != NULL)
			cb(&job, arg);
		n++;
	}
	for (i = 0; i < j->nmaps; i++)
		seg_unmap(&j->maps[i]);
	free(j->maps);
	j->maps = NULL;
	j->nmaps = 0;
	pthread_mutex_lock(&j->mtx);
	idx_tidy(&j->idx, 1);
	pthread_mutex_unlock(&j->mtx);
	return n;
}

/*
 * The server's id, 8 hex digits in buf (at least 9 bytes): kept in the
 * file "server-id" of the journal directory, made at random the first
 * time, so that it survives a restart; at random without a journal.
 * -1 with *cause set when the file cannot be read or written.
 */
int
journal_server_id(struct journal *j, char *buf, size_t len, char **cause)
{
	char	 tmp[16];
	ssize_t	 n;
	int	 fd;

	*cause = NULL;
	if (len < 9) {
		xasprintf(cause, "server id: buffer too small");
		return -1;
	}
	if (j->dirfd != -1 && (fd = openat(j->dirfd, "server-id",
	    O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, tmp, sizeof(tmp) - 1);
		close(fd);
		tmp[n > 0 ? n : 0] = '\0';
		tmp[strcspn(tmp, "\n")] = '\0';
		if (strlen(tmp) != 8 ||
		    strspn(tmp, "0123456789abcdef") != 8) {
			xasprintf(cause, "journal %s/server-id: not 8 "
			    "lower-case hex digits; remove it for a new id",
			    j->dir);
			return -1;
		}
		strlcpy(buf, tmp, len);
		return 0;
	} else if (j->dirfd != -1 && errno != ENOENT) {
		xasprintf(cause, "journal %s/server-id: %s", j->dir,
		    strerror(errno));
		return -1;
	}
	snprintf(buf, len, "%08x", arc4random());
	if (j->dirfd == -1)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s\n", buf);
	fd = openat(j->dirfd, "server-id.tmp", O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0640);
	if (fd == -1 || write(fd, tmp, 9) != 9 || fsync(fd) == -1 ||
	    renameat(j->dirfd, "server-id.tmp", j->dirfd, "server-id") == -1 ||
	    fsync(j->dirfd) == -1) {
		xasprintf(cause, "journal %s/server-id: %s", j->dir,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Give a new job its id: the one the caller wished for (its handle number)
 * when it is above every id given so far, else the next free one.  Ids
 * only grow, which the index relies on.
 */
static void
journal_take_id(struct journal *j, struct journal_job *job)
{
	if (job->id < j->next_id)
		job->id = j->next_id;
	j->next_id = job->id + 1;
}

/* The first id no job has had; after replay, above every journaled id. */
uint64_t
journal_next_id(struct journal *j)
{
	return j->next_id;
}

/* Record a new background job; see journal.h for the contract. */
int
journal_add(struct journal *j, struct journal_job *job, journal_done_cb done,
    void *arg)
{
	struct jrec	 r;
	struct jack	*na;
	uint8_t		*b;
	uint64_t	 body;
	size_t		 dlen, rlen, i;

	if (!j->disk) {
		journal_take_id(j, job);
		j->mem_live++;
		return 0;
	}
	dlen = job->data != NULL ? evbuffer_get_length(job->data) :
	    job->data_len;
	rlen = job->reducer != NULL ? job->reducer_len : 0;
	body = (uint64_t)ADD_FIXED + job->func_len + job->unique_len + rlen +
	    (job->target != NULL ? 4 + (uint64_t)job->target_len : 0) + dlen;
	if (body > UINT32_MAX - 1 || job->prio < 0 || job->prio > 2) {
		errno = job->prio < 0 || job->prio > 2 ? EINVAL : EFBIG;
		return -1;
	}
	writer_start(j);
	pthread_mutex_lock(&j->mtx);
	if (j->pending.len > PENDING_MAX) {
		pthread_mutex_unlock(&j->mtx);
		errno = ENOBUFS;
		return -1;
	}
	journal_take_id(j, job);
	memset(&r, 0, sizeof(r));
	r.id = job->id;
	r.prio = job->prio;
	r.when = job->when;
	r.attempts = job->attempts;
	r.func = (const uint8_t *)job->func;
	r.func_len = job->func_len;
	r.unique = (const uint8_t *)job->unique;
	r.unique_len = job->unique_len;
	r.reducer = (const uint8_t *)job->reducer;
	r.reducer_len = rlen;
	r.target = (const uint8_t *)job->target;
	r.target_len = job->target_len;
	r.data_len = dlen;
	b = rec_add_put(pending_rec(j, body), &r);
	if (dlen > 0) {
		if (job->data != NULL)
			evbuffer_copyout(job->data, b, dlen);
		else
			memcpy(b, job->data_ptr, dlen);
	}
	idx_push(&j->idx, job->id, job->attempts, 0, 0);
	j->pending_seq = ++j->add_seq;
	pthread_mutex_unlock(&j->mtx);

	if (j->ack_n == j->ack_cap) {
		na = xreallocarray(NULL, j->ack_cap ? j->ack_cap * 2 : 1024,
		    sizeof(*na));
		for (i = 0; i < j->ack_n; i++)
			na[i] = j->acks[(j->ack_head + i) % j->ack_cap];
		free(j->acks);
		j->acks = na;
		j->ack_head = 0;
		j->ack_cap = j->ack_cap ? j->ack_cap * 2 : 1024;
	}
	na = &j->acks[(j->ack_head + j->ack_n) % j->ack_cap];
	na->done = done;
	na->arg = arg;
	na->id = job->id;
	j->ack_n++;
	return 1;
}

/*
 * The index entry of job id if it is live, with the writer started and
 * the journal locked for the record about it; NULL, unlocked, if the
 * journal does not hold the job.
 */
static struct jent *
live_lock(struct journal *j, uint64_t id)
{
	struct jent	*e;

	e = idx_find(&j->idx, id);
	if (e == NULL || e->seg == JENT_DEAD)
		return NULL;
	writer_start(j);
	pthread_mutex_lock(&j->mtx);
	return e;
}

/* Record that job id was handed out again; attempts is its new count. */
void
journal_attempt(struct journal *j, uint64_t id, uint32_t attempts)
{
	struct jent	*e;

	if (!j->disk || (e = live_lock(j, id)) == NULL)
		return;
	e->attempts = attempts;
	rec_attempt_put(pending_rec(j, ATTEMPT_LEN), id, attempts);
	pthread_mutex_unlock(&j->mtx);
}

/* Record that job id is gone for good. */
void
journal_end(struct journal *j, uint64_t id, enum journal_end how)
{
	struct jent	*e;

	if (!j->disk) {
		if (j->mem_live > 0)
			j->mem_live--;
		return;
	}
	if ((e = live_lock(j, id)) == NULL)
		return;
	idx_kill(&j->idx, e);
	fate_del(j, id);
	rec_end_put(pending_rec(j, END_LEN), id, how);
	idx_tidy(&j->idx, 0);
	pthread_mutex_unlock(&j->mtx);
}

/* Record where live job id is now: retrying, failed, or queued again. */
void
journal_fate(struct journal *j, uint64_t id, const struct journal_fate *jf)
{
	struct jrec	 r;

	if (!j->disk || live_lock(j, id) == NULL)
		return;
	memset(&r, 0, sizeof(r));
	r.type = REC_FATE;
	r.id = id;
	r.state = jf->state;
	r.attempts = jf->tries;
	r.due = jf->due;
	r.first = jf->first;
	r.last = jf->last;
	r.error = (const uint8_t *)jf->error;
	r.error_len = (uint32_t)(jf->error_len > JOURNAL_ERROR_MAX ?
	    JOURNAL_ERROR_MAX : jf->error_len);
	rec_fate_put(pending_rec(j, FATE_FIXED + r.error_len), &r);
	fate_set(j, &r);
	pthread_mutex_unlock(&j->mtx);
}

/* Test hook: make every write fail with err (0: stop failing). */
void
journal_fault(struct journal *j, int err)
{
	if (!j->disk)
		return;
	pthread_mutex_lock(&j->mtx);
	j->fault = err;
	pthread_mutex_unlock(&j->mtx);
}

/* Size of the segment files.  Under mtx once the writer runs. */
uint64_t
journal_bytes(struct journal *j)
{
	uint64_t	 n = 0;
	size_t		 i;

	for (i = 0; i < j->nsegs; i++)
		n += j->segs[i].size;
	return n;
}

/* Fill st with the journal's figures. */
void
journal_stats(struct journal *j, struct journal_stats *st)
{
	uint64_t	 live;

	memset(st, 0, sizeof(*st));
	if (!j->disk) {
		st->sync = "none";
		st->live = j->mem_live;
		return;
	}
	st->enabled = 1;
	st->dir = j->dir;
	switch (j->opts.sync) {
	case JOURNAL_SYNC_ALWAYS:
		st->sync = "always";
		break;
	case JOURNAL_SYNC_INTERVAL:
		st->sync = "interval";
		break;
	case JOURNAL_SYNC_NEVER:
		st->sync = "never";
		break;
	}
	pthread_mutex_lock(&j->mtx);
	live = idx_live(&j->idx);
	st->bytes = journal_bytes(j);
	st->live = live;
	st->dead = j->records > live ? j->records - live : 0;
	st->flushes = j->flushes;
	st->last_flush_us = j->last_flush_us;
	st->peak_flush_us = j->peak_flush_us;
	memcpy(st->flush_hist, j->flush_hist, sizeof(st->flush_hist));
	st->flush_sum_us = j->flush_sum_us;
	st->compactions = j->compactions;
	st->write_errors = j->write_errors;
	pthread_mutex_unlock(&j->mtx);
}

/* Write what is queued, stop the threads and release the directory. */
void
journal_close(struct journal *j)
{
	size_t	 i;

	if (j == NULL)
		return;
	if (j->disk) {
		if (j->started) {
			pthread_mutex_lock(&j->mtx);
			j->stop = 1;
			pthread_cond_signal(&j->cond);
			pthread_mutex_unlock(&j->mtx);
			pthread_join(j->writer, NULL);
			if (j->compactor_run)
				pthread_join(j->compactor, NULL);
		}
		if (j->ev != NULL)
			event_free(j->ev);
		if (j->kick != NULL)
			event_free(j->kick);
		if (j->efd != -1)
			close(j->efd);
		if (j->fd != -1) {
			if (seg_trim(j) == 0 && j->dirty)
				fdatasync(j->fd);
			close(j->fd);
		}
		for (i = 0; i < j->nmaps; i++)
			seg_unmap(&j->maps[i]);
		if (j->lockfd != -1)
			close(j->lockfd);
		if (j->dirfd != -1)
			close(j->dirfd);
		pthread_mutex_destroy(&j->mtx);
		pthread_cond_destroy(&j->cond);
	}
	free(j->maps);
	free(j->dir);
	free(j->acks);
	free(j->compl);
	free(j->compl_spare);
	free(j->segs);
	fates_free(j);
	free(j->idx.e);
	free(j->pending.b);
	free(j->batch.b);
	free(j);
}

