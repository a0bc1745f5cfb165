/* Public domain. See README.md for the licence of this project. */
/*
 * The failed list (dead letter): background jobs that failed with no
 * tries left, kept with their payload and last error until an operator
 * retries or purges them, oldest first and bounded by count and bytes;
 * and the failure notes of live jobs (when a job first failed, the last
 * error, the last warning of the run in progress).  Other files see the
 * list only through struct failed_info and the functions below.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "journal.h"
#include "gm-server.h"

/*
 * One failed job.  One allocation holds the struct and, in this order,
 * the function name, unique id, reducer, payload and error bytes.
 */
struct failed {
	TAILQ_ENTRY(failed)	 fl_entry;	/* the list, oldest first */
	void			*fl_hnext;	/* index by handle number */
	uint64_t		 fl_num;
	uint64_t		 fl_jid;
	char			*fl_target;	/* broadcast member, or NULL */
	int64_t			 fl_first;
	int64_t			 fl_last;
	size_t			 fl_flen;
	size_t			 fl_len;	/* payload */
	size_t			 fl_elen;
	uint32_t		 fl_tries;
	uint16_t		 fl_rlen;
	uint8_t			 fl_ulen;
	uint8_t			 fl_prio;
	uint8_t			 fl_journaled;
	uint8_t			 fl_has_reducer;
};

#define fl_func(f)	((char *)((f) + 1))
#define fl_unique(f)	(fl_func(f) + (f)->fl_flen)
#define fl_reducer(f)	(fl_unique(f) + (f)->fl_ulen)
#define fl_data(f)	(fl_reducer(f) + (f)->fl_rlen)
#define fl_error(f)	(fl_data(f) + (f)->fl_len)
#define fl_bytes(f)	((f)->fl_flen + (f)->fl_ulen + (f)->fl_rlen + \
			    (f)->fl_len + (f)->fl_elen)

/* What is known of a live job's failures.  Strings are malloc'd here. */
struct note {
	void			*n_hnext;
	uint64_t		 n_num;
	int64_t			 n_first;	/* 0: it has not failed yet */
	char			*n_err;		/* the last failure's error */
	size_t			 n_elen;
	char			*n_warn;	/* last WORK_WARNING, this run */
	size_t			 n_wlen;
};

static uint32_t	 failed_hash(const void *);
static uint32_t	 note_hash(const void *);
static struct failed *failed_find(uint64_t);
static struct note *note_find(uint64_t);
static void	 failed_info_of(struct failed *, struct failed_info *);
static void	 failed_remove(struct failed *);
static void	 failed_evict(void);
static void	 tail_copy(char **, size_t *, const void *, size_t);

static TAILQ_HEAD(, failed) list = TAILQ_HEAD_INITIALIZER(list);
static struct htable	 byhandle;	/* struct failed by fl_num */
static struct htable	 notes;		/* struct note by n_num */
static struct failed_stats stats;

static uint32_t
failed_hash(const void *e)
{
	return (uint32_t)((const struct failed *)e)->fl_num;
}

static uint32_t
note_hash(const void *e)
{
	return (uint32_t)((const struct note *)e)->n_num;
}

/* Set up the indexes. */
void
failed_init(void)
{
	htable_init(&byhandle, offsetof(struct failed, fl_hnext), failed_hash);
	htable_init(&notes, offsetof(struct note, n_hnext), note_hash);
}

static struct failed *
failed_find(uint64_t num)
{
	struct failed	*f;

	for (f = htable_first(&byhandle, (uint32_t)num); f != NULL;
	    f = f->fl_hnext)
		if (f->fl_num == num)
			return f;
	return NULL;
}

static void
failed_info_of(struct failed *f, struct failed_info *fi)
{
	memset(fi, 0, sizeof(*fi));
	fi->num = f->fl_num;
	fi->jid = f->fl_jid;
	fi->journaled = f->fl_journaled;
	fi->job.prio = f->fl_prio;
	fi->job.bg = 1;
	fi->tries = f->fl_tries;
	fi->first = f->fl_first;
	fi->last = f->fl_last;
	fi->job.func = fl_func(f);
	fi->job.func_len = f->fl_flen;
	fi->job.unique = fl_unique(f);
	fi->job.unique_len = f->fl_ulen;
	fi->job.reducer = f->fl_has_reducer ? fl_reducer(f) : NULL;
	fi->job.reducer_len = f->fl_rlen;
	fi->job.target = f->fl_target;
	fi->job.data = fl_data(f);
	fi->job.data_len = f->fl_len;
	fi->error = fl_error(f);
	fi->error_len = f->fl_elen;
}

/* Unlink and free an entry. */
static void
failed_remove(struct failed *f)
{
	TAILQ_REMOVE(&list, f, fl_entry);
	htable_remove(&byhandle, f, (uint32_t)f->fl_num);
	stats.count--;
	stats.bytes -= fl_bytes(f);
	free(f->fl_target);
	free(f);
}

/* Push the oldest entries out until the list is within its bounds. */
static void
failed_evict(void)
{
	struct failed	*f;
	char		 h[GM_HANDLE_SIZE];

	while ((f = TAILQ_FIRST(&list)) != NULL &&
	    (stats.count > conf.failed_max ||
	    stats.bytes > conf.failed_max_bytes)) {
		queue_handle_num(f->fl_num, h, sizeof(h));
		log_warnx("failed list full (%llu jobs, %llu bytes): job %s "
		    "(function %.*s, %zu bytes) evicted",
		    (unsigned long long)stats.count,
		    (unsigned long long)stats.bytes, h, (int)f->fl_flen,
		    fl_func(f), f->fl_len);
		if (f->fl_journaled)
			journal_end(jnl, f->fl_jid, JOURNAL_END_EVICTED);
		stats.evicted++;
		ended_add(f->fl_num, ENDED_EVICTED);
		failed_remove(f);
	}
}

/*
 * Keep a job that has no tries left.  With record set (not at replay) its
 * journal record is marked failed.  The list may push out its oldest.
 */
void
failed_add(const struct failed_info *fi, int record)
{
	struct journal_fate	 jf;
	struct failed		*f;
	size_t			 elen = fi->error_len;
	const char		*err = fi->error;

	if (elen > JOURNAL_ERROR_MAX) {
		err += elen - JOURNAL_ERROR_MAX;
		elen = JOURNAL_ERROR_MAX;
	}
	f = xmalloc(sizeof(*f) + fi->job.func_len + fi->job.unique_len +
	    fi->job.reducer_len + fi->job.data_len + elen);
	memset(f, 0, sizeof(*f));
	f->fl_num = fi->num;
	f->fl_jid = fi->jid;
	f->fl_first = fi->first;
	f->fl_last = fi->last;
	f->fl_tries = fi->tries;
	f->fl_flen = fi->job.func_len;
	f->fl_ulen = (uint8_t)fi->job.unique_len;
	f->fl_rlen = (uint16_t)fi->job.reducer_len;
	f->fl_has_reducer = fi->job.reducer != NULL;
	f->fl_len = fi->job.data_len;
	f->fl_elen = elen;
	f->fl_prio = (uint8_t)fi->job.prio;
	f->fl_journaled = fi->journaled != 0;
	if (fi->job.target != NULL)
		f->fl_target = xstrdup(fi->job.target);
	memcpy(fl_func(f), fi->job.func, fi->job.func_len);
	if (fi->job.unique_len > 0)
		memcpy(fl_unique(f), fi->job.unique, fi->job.unique_len);
	if (fi->job.reducer_len > 0)
		memcpy(fl_reducer(f), fi->job.reducer, fi->job.reducer_len);
	if (fi->job.data_len > 0)
		memcpy(fl_data(f), fi->job.data, fi->job.data_len);
	if (elen > 0)
		memcpy(fl_error(f), err, elen);
	TAILQ_INSERT_TAIL(&list, f, fl_entry);
	htable_insert(&byhandle, f, (uint32_t)f->fl_num);
	stats.count++;
	stats.bytes += fl_bytes(f);
	stats.added++;
	if (record && f->fl_journaled) {
		memset(&jf, 0, sizeof(jf));
		jf.state = JOURNAL_FATE_FAILED;
		jf.tries = f->fl_tries;
		jf.first = f->fl_first;
		jf.last = f->fl_last;
		jf.error = err;
		jf.error_len = elen;
		journal_fate(jnl, f->fl_jid, &jf);
	}
	failed_evict();
}

/* The failed job of handle number num: 0 and *fi filled, or -1. */
int
failed_get(uint64_t num, struct failed_info *fi)
{
	struct failed	*f;

	if ((f = failed_find(num)) == NULL)
		return -1;
	failed_info_of(f, fi);
	return 0;
}

/* Call fn for every failed job (of function func if not NULL), oldest first. */
void
failed_foreach(const char *func, size_t len,
    void (*fn)(const struct failed_info *, void *), void *arg)
{
	struct failed		*f, *next;
	struct failed_info	 fi;

	TAILQ_FOREACH_SAFE(f, &list, fl_entry, next) {
		if (func != NULL && (f->fl_flen != len ||
		    memcmp(fl_func(f), func, len) != 0))
			continue;
		failed_info_of(f, &fi);
		fn(&fi, arg);
	}
}

/* Put failed job num back in its queue (handle and unique id kept). */
int
failed_retry(uint64_t num)
{
	struct journal_fate	 jf;
	struct failed_info	 fi;
	struct failed		*f;

	if ((f = failed_find(num)) == NULL)
		return -1;
	if (f->fl_journaled) {
		memset(&jf, 0, sizeof(jf));
		jf.state = JOURNAL_FATE_QUEUED;
		journal_fate(jnl, f->fl_jid, &jf);
	}
	failed_info_of(f, &fi);
	queue_revive(&fi);
	stats.retried++;
	failed_remove(f);
	return 0;
}

/* Forget failed job num for good. */
int
failed_purge(uint64_t num)
{
	struct failed	*f;

	if ((f = failed_find(num)) == NULL)
		return -1;
	if (f->fl_journaled)
		journal_end(jnl, f->fl_jid, JOURNAL_END_PURGED);
	stats.purged++;
	ended_add(f->fl_num, ENDED_PURGED);
	failed_remove(f);
	return 0;
}

/* Retry, or purge, every failed job of a function (NULL: all). */
static uint64_t
failed_each(const char *func, size_t len, int (*op)(uint64_t))
{
	struct failed	*f, *next;
	uint64_t	 n = 0;

	TAILQ_FOREACH_SAFE(f, &list, fl_entry, next) {
		if (func != NULL && (f->fl_flen != len ||
		    memcmp(fl_func(f), func, len) != 0))
			continue;
		if (op(f->fl_num) == 0)
			n++;
	}
	return n;
}

uint64_t
failed_retry_func(const char *func, size_t len)
{
	return failed_each(func, len, failed_retry);
}

uint64_t
failed_purge_func(const char *func, size_t len)
{
	return failed_each(func, len, failed_purge);
}

/* The list's figures. */
void
failed_stats(struct failed_stats *st)
{
	*st = stats;
	st->max = conf.failed_max;
	st->max_bytes = conf.failed_max_bytes;
	st->retrying = queue_retrying();
}

static struct note *
note_find(uint64_t num)
{
	struct note	*n;

	for (n = htable_first(&notes, (uint32_t)num); n != NULL;
	    n = n->n_hnext)
		if (n->n_num == num)
			return n;
	return NULL;
}

static struct note *
note_get(uint64_t num)
{
	struct note	*n;

	if ((n = note_find(num)) != NULL)
		return n;
	n = xcalloc(1, sizeof(*n));
	n->n_num = num;
	htable_insert(&notes, n, (uint32_t)num);
	return n;
}

/* Replace *dst by the last JOURNAL_ERROR_MAX bytes of p. */
static void
tail_copy(char **dst, size_t *dlen, const void *p, size_t len)
{
	const char	*s = p;

	if (len > JOURNAL_ERROR_MAX) {
		s += len - JOURNAL_ERROR_MAX;
		len = JOURNAL_ERROR_MAX;
	}
	free(*dst);
	*dst = len > 0 ? xmalloc(len) : NULL;
	if (len > 0)
		memcpy(*dst, s, len);
	*dlen = len;
}

/* A live background job's worker sent a WORK_WARNING. */
void
failed_note_warning(uint64_t num, const void *p, size_t len)
{
	struct note	*n = note_get(num);

	tail_copy(&n->n_warn, &n->n_wlen, p, len);
}

/*
 * A live job failed with error p (which may be its last warning, from
 * failed_note_warned, and then stays valid): remember it, and its first
 * failure (first, unless one is known); return the first failure's time.
 */
int64_t
failed_note_fail(uint64_t num, int64_t first, const void *p, size_t len)
{
	struct note	*n = note_get(num);

	if (n->n_first == 0)
		n->n_first = first;
	if (p == n->n_warn) {
		/* The warning becomes the error: p stays valid. */
		free(n->n_err);
		n->n_err = n->n_warn;
		n->n_elen = n->n_wlen;
	} else {
		tail_copy(&n->n_err, &n->n_elen, p, len);
		free(n->n_warn);
	}
	n->n_warn = NULL;
	n->n_wlen = 0;
	return n->n_first;
}

/* When job num first failed and its last error: 0, or -1 if it did not. */
int
failed_note_get(uint64_t num, int64_t *first, const char **err, size_t *len)
{
	struct note	*n;

	if ((n = note_find(num)) == NULL || n->n_first == 0)
		return -1;
	*first = n->n_first;
	*err = n->n_err != NULL ? n->n_err : "";
	*len = n->n_elen;
	return 0;
}

/* The last warning of job num's current run: 1 and set, or 0. */
int
failed_note_warned(uint64_t num, const char **p, size_t *len)
{
	struct note	*n;

	if ((n = note_find(num)) == NULL || n->n_warn == NULL)
		return 0;
	*p = n->n_warn;
	*len = n->n_wlen;
	return 1;
}

static void
note_free(struct note *n)
{
	free(n->n_err);
	free(n->n_warn);
	free(n);
}

/* Job num ended or left for the failed list: forget its note. */
void
failed_note_drop(uint64_t num)
{
	struct note	*n;

	if ((n = note_find(num)) == NULL)
		return;
	htable_remove(&notes, n, (uint32_t)num);
	note_free(n);
}

static void
note_free_one(void *e, void *arg __unused)
{
	note_free(e);
}

/* Free everything (shutdown). */
void
failed_free_all(void)
{
	struct failed	*f;

	while ((f = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, f, fl_entry);
		free(f->fl_target);
		free(f);
	}
	htable_free(&byhandle);
	htable_foreach(&notes, note_free_one, NULL);
	htable_free(&notes);
}
