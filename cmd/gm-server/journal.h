/* Public domain. See README.md for the licence of this project. */
/*
 * The journal: durable background jobs.  Owned by journal.c; the rest of
 * the server calls only these functions.
 *
 * Contract with the server:
 * - journal_add() is called for every new background job (never for a
 *   foreground job), and for a foreground job when a background submission
 *   coalesces onto it.  It assigns j->id: the id the caller put there (its
 *   handle number) when that is above every id given so far, else the next
 *   free one.  Ids only grow; journal_next_id() is the first one not given,
 *   after replay above every id in the journal.
 *   When it returns 0 the record is durable already (memory-only journal)
 *   and done is not called.  When it returns 1 the record is queued, and
 *   done(error, arg) runs later in the event-loop thread once the record is
 *   on disk (error 0) or could not be written (an errno value); done calls
 *   happen in the order of the journal_add calls.  -1: the record could not
 *   even be queued (errno set); the submission must be refused.
 * - journal_attempt() records that a job was handed out again after a
 *   worker was lost (its new attempt count); journal_fate() records that
 *   it waits for a retry, is in the failed list, or is queued again;
 *   journal_end() records that the job is gone for good.  None has a
 *   callback.  A replayed job carries its last fate.
 * - journal_replay() calls cb once per live job, in submission order, before
 *   the server listens; cb's return value is ignored.  The job's strings
 *   and data_ptr point into the journal and are valid only during cb.
 * - journal_end() and journal_attempt() on an id that is not live (never
 *   added, already ended, or whose add failed) do nothing.
 * - journal_add() with data NULL takes the payload from data_ptr/data_len.
 * - The writer thread starts with the first write, so the server may
 *   daemonize (fork) after journal_open and journal_replay.
 * - journal_server_id() gives the server's id, kept in the journal
 *   directory ("server-id") so that it survives a restart.
 * - journal_close() writes and syncs everything queued; done callbacks that
 *   have not run by then are not called.
 */
#ifndef GM_JOURNAL_H
#define GM_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct journal;

enum journal_sync {
	JOURNAL_SYNC_ALWAYS,	/* fsync before acknowledging (default) */
	JOURNAL_SYNC_INTERVAL,	/* fsync at most every interval_ms */
	JOURNAL_SYNC_NEVER	/* leave it to the kernel */
};

enum journal_end {
	JOURNAL_END_COMPLETE,
	JOURNAL_END_FAIL,
	JOURNAL_END_EXCEPTION,
	JOURNAL_END_CANCEL,
	JOURNAL_END_EXHAUSTED,	/* ran out of attempts (-j) */
	JOURNAL_END_DROPPED,	/* dropped another way (drop function, ...) */
	JOURNAL_END_PURGED,	/* purged from the failed list */
	JOURNAL_END_EVICTED	/* pushed out of a full failed list */
};

/* Where a live job is (journal_fate, replay). */
enum journal_fate_state {
	JOURNAL_FATE_QUEUED,	/* queued as usual (the default) */
	JOURNAL_FATE_RETRY,	/* waiting for a retry until due */
	JOURNAL_FATE_FAILED	/* in the failed list */
};

#define JOURNAL_ERROR_MAX	4096	/* error text kept per job */

struct journal_fate {
	int		 state;		/* enum journal_fate_state */
	uint32_t	 tries;		/* failures so far */
	int64_t		 due;		/* RETRY: ms since the epoch */
	int64_t		 first;		/* first failure, ms since the epoch */
	int64_t		 last;		/* last failure */
	const char	*error;		/* last error a worker gave */
	size_t		 error_len;
};

struct journal_opts {
	enum journal_sync sync;
	int		 interval_ms;	/* for JOURNAL_SYNC_INTERVAL */
	int		 repair;	/* salvage a damaged journal at open */
};

/* One background job as the journal records it. */
struct journal_job {
	uint64_t	 id;		/* wished, then set by journal_add */
	int		 prio;		/* 0 high, 1 normal, 2 low */
	int64_t		 when;		/* not before this Unix time; 0: now */
	uint32_t	 attempts;	/* attempts already made */
	const char	*func;
	size_t		 func_len;
	const char	*unique;
	size_t		 unique_len;
	const char	*reducer;	/* NULL unless a reduce job */
	size_t		 reducer_len;
	const char	*target;	/* broadcast member, or NULL */
	size_t		 target_len;
	struct evbuffer	*data;		/* journal_add: payload, not drained */
	const void	*data_ptr;	/* replay: payload bytes */
	size_t		 data_len;	/* replay: payload length */
	int		 fate;		/* replay: enum journal_fate_state, */
	uint32_t	 tries;		/* and the rest of its last fate */
	int64_t		 due;
	int64_t		 first;
	int64_t		 last;
	const char	*error;
	size_t		 error_len;
};

/*
 * Flush durations are counted in buckets: bucket i up to
 * journal_flush_bounds_us[i], the last one +Inf.
 */
#define JOURNAL_FLUSH_BUCKETS	14
extern const uint64_t	 journal_flush_bounds_us[JOURNAL_FLUSH_BUCKETS - 1];

struct journal_stats {
	int		 enabled;	/* 0 for --journal none */
	const char	*dir;
	const char	*sync;		/* "always", "interval", "never", "none" */
	uint64_t	 bytes;		/* size of the journal files */
	uint64_t	 live;		/* records of jobs still pending */
	uint64_t	 dead;		/* records of ended jobs not compacted */
	uint64_t	 flushes;	/* batches written (and synced per mode) */
	uint64_t	 last_flush_us;
	uint64_t	 peak_flush_us;
	uint64_t	 flush_hist[JOURNAL_FLUSH_BUCKETS]; /* not cumulative */
	uint64_t	 flush_sum_us;
	uint64_t	 compactions;
	uint64_t	 write_errors;
};

typedef void	(*journal_done_cb)(int, void *);

struct journal	*journal_open(struct event_base *, const char *,
		    const struct journal_opts *, char **);
int		 journal_replay(struct journal *,
		    void (*)(const struct journal_job *, void *), void *);
int		 journal_add(struct journal *, struct journal_job *,
		    journal_done_cb, void *);
uint64_t	 journal_next_id(struct journal *);
int		 journal_server_id(struct journal *, char *, size_t,
		    char **);
void		 journal_attempt(struct journal *, uint64_t, uint32_t);
void		 journal_end(struct journal *, uint64_t, enum journal_end);
void		 journal_fate(struct journal *, uint64_t,
		    const struct journal_fate *);
void		 journal_stats(struct journal *, struct journal_stats *);
void		 journal_close(struct journal *);

/* For the unit tests. */
uint32_t	 journal_crc32c(uint32_t, const void *, size_t);
void		 journal_fault(struct journal *, int);

#endif /* GM_JOURNAL_H */
