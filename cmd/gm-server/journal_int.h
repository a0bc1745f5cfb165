/* Public domain. See README.md for the licence of this project. */
/*
 * Inside the journal: the structure the journal files share, and what each
 * offers the others.  The rest of the server includes journal.h only.
 *
 *	journal_format.c  bytes on disk: CRC32C, records, headers, the scan
 *	journal_disk.c	  the directory: lock, segment files, maps, repair
 *	journal.c	  the API: open, replay, add/attempt/end, the ring
 *			  of adds awaiting their done call
 *	journal_index.c	  the index of jobs and the table of fates
 *	journal_writer.c  the writer thread: group commit, sync, errors
 *	journal_compact.c compaction into a base segment, in its own thread
 */
#ifndef GM_JOURNAL_INT_H
#define GM_JOURNAL_INT_H

#include <sys/tree.h>

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include <event2/util.h>

#include "journal.h"
#include "journal_format.h"

#define JENT_DEAD	UINT32_MAX
#define PENDING_MAX	(256U << 20)	/* refuse adds beyond this backlog */
#define COMPACT_MIN	(64ULL << 20)	/* no compaction below this size */
#define RETRY_MS	100		/* pause after a write error */
#define PREALLOC	(4U << 20)	/* zeros written ahead of appends */
#define COMPACT_RETRY_S	30		/* pause after a failed compaction */

/*
 * A job the journal knows: live, or dead but not yet removed from the
 * array.  Sorted by id.  seg and off locate the ADD record during replay;
 * seg is JENT_DEAD for an ended job.
 */
struct jent {
	uint64_t	 id;
	uint64_t	 off;
	uint32_t	 attempts;
	uint32_t	 seg;
};

struct jindex {
	struct jent	*e;
	size_t		 n;
	size_t		 cap;
	size_t		 ndead;
};

/* A segment file and its size. */
struct jseg {
	uint64_t	 seq;
	uint64_t	 size;
};

/* A mapped segment, during open and replay. */
struct jmap {
	uint8_t		*p;
	size_t		 len;
	uint64_t	 seq;
	enum jdamage	 damage;
};

/* A journal_add waiting for its record to be written. */
struct jack {
	journal_done_cb	 done;
	void		*arg;
	uint64_t	 id;
};

/* Result of a flush: every add up to seq upto, with error err. */
struct jcompl {
	uint64_t	 upto;
	int		 err;
};

/*
 * The last FATE record of a live job, a copy of its whole record (header
 * included), by id: compaction and repair write it after the job's ADD.
 * Few jobs have one (those retrying or failed).
 */
struct jfate {
	RB_ENTRY(jfate)	 f_entry;
	uint64_t	 f_id;
	size_t		 f_len;
	uint8_t		*f_rec;
};
RB_HEAD(jfates, jfate);

/* What the compaction thread works on. */
struct jcompact {
	struct journal	*j;
	uint64_t	*ids;		/* live ids at the cut, sorted */
	uint32_t	*attempts;
	size_t		 n;
	struct jbuf	 fates;		/* FATE records of live jobs, by id */
	uint64_t	*old;		/* segments to replace */
	size_t		 nold;
	uint64_t	 base_seq;
	uint64_t	 next_id;
	uint64_t	 old_records;
};

struct journal {
	int		 disk;
	char		*dir;
	struct journal_opts opts;
	struct event_base *base;
	uint64_t	 next_id;
	uint64_t	 mem_live;	/* memory-only: live jobs */

	int		 lockfd;
	int		 dirfd;
	int		 efd;
	struct event	*ev;
	struct event	*kick;		/* wakes the writer once per loop pass */
	int		 kicked;

	/* Loop thread only. */
	struct jack	*acks;		/* ring of adds awaiting done */
	size_t		 ack_head;
	size_t		 ack_n;
	size_t		 ack_cap;
	uint64_t	 add_seq;	/* adds queued so far */
	uint64_t	 done_seq;	/* adds completed so far */
	struct jmap	*maps;
	size_t		 nmaps;
	struct jcompl	*compl_spare;
	size_t		 compl_spare_cap;

	/* Shared, under mtx. */
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	struct jbuf	 pending;
	uint64_t	 pending_seq;	/* last add seq in pending */
	struct jindex	 idx;		/* changed by the loop thread only */
	struct jfates	 fates;		/* changed under mtx, loop thread */
	uint64_t	 nfates;
	struct jcompl	*compl;
	size_t		 ncompl;
	size_t		 compl_cap;
	struct jseg	*segs;
	size_t		 nsegs;
	uint64_t	 records;	/* records in the segment files */
	uint64_t	 flushes;
	uint64_t	 last_flush_us;
	uint64_t	 peak_flush_us;
	uint64_t	 flush_hist[JOURNAL_FLUSH_BUCKETS];
	uint64_t	 flush_sum_us;
	uint64_t	 compactions;
	uint64_t	 write_errors;
	uint64_t	 compact_min;
	time_t		 compact_after;
	int		 fault;		/* test hook: fail writes with it */
	int		 stop;
	int		 compacting;
	int		 started;

	/* Writer thread only (after start). */
	pthread_t	 writer;
	pthread_t	 compactor;
	int		 compactor_run;
	int		 fd;		/* current segment */
	uint64_t	 cur_seq;
	uint64_t	 good;		/* end of its last good write */
	uint64_t	 alloc;		/* its size: zeros from good to alloc */
	int		 dirty;		/* written, not synced */
	struct timespec	 last_sync;
	struct timespec	 retry_at;
	struct jbuf	 batch;
	uint64_t	 posted_seq;
};

/* journal.c */
uint64_t	 journal_bytes(struct journal *);

/* journal_index.c */
struct jent	*idx_find(struct jindex *, uint64_t);
void		 idx_push(struct jindex *, uint64_t, uint32_t, uint32_t,
		    uint64_t);
void		 idx_tidy(struct jindex *, int);
void		 idx_kill(struct jindex *, struct jent *);
uint64_t	 idx_live(const struct jindex *);
struct jfate	*fate_find(struct journal *, uint64_t);
void		 fate_del(struct journal *, uint64_t);
void		 fate_set(struct journal *, const struct jrec *);
int		 fate_copy(struct journal *, uint64_t, struct jbuf *);
void		 fates_snapshot(struct journal *, struct jbuf *);
int		 fate_next(const struct jbuf *, size_t *, uint64_t,
		    struct jbuf *);
void		 fates_free(struct journal *);

/* journal_disk.c */
char		*seg_path(struct journal *, uint64_t);
int		 pwrite_all(int, const void *, size_t, off_t);
int		 seg_create(struct journal *, uint64_t, uint32_t, uint64_t);
int		 seg_install(struct journal *, const char *, struct jbuf *,
		    uint64_t);
int		 dir_open(struct journal *, char **);
void		 dir_lock_pid(struct journal *);
int		 dir_list(struct journal *, uint64_t **, size_t *, char **);
int		 seg_map(struct journal *, uint64_t, struct jmap *,
		    struct jhdr *, char **);
void		 seg_unmap(struct jmap *);
int		 repair(struct journal *, char **);

/* journal_writer.c */
void		 writer_start(struct journal *);
void		*writer_main(void *);
void		 writer_kick(evutil_socket_t, short, void *);
uint8_t		*pending_rec(struct journal *, size_t);
int		 seg_trim(struct journal *);
int64_t		 ts_ms(const struct timespec *, const struct timespec *);
int		 thread_start(pthread_t *, void *(*)(void *), void *);

/* journal_compact.c */
struct jcompact	*compact_begin(struct journal *);
void		 compact_start(struct journal *, struct jcompact *);
void		 compact_abort(struct journal *, struct jcompact *);

#endif /* GM_JOURNAL_INT_H */
