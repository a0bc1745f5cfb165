/* Public domain. See README.md for the licence of this project. */
/*
 * Functions: the table of struct func by name, their creation order and
 * the per-function policy (today the queue limits of `maxqueue`) and
 * counters (jobs by outcome, queue wait and run time histograms).  State
 * that belongs to one function, not to one job or one worker, lives in
 * struct func and is changed here; queue.c and worker.c own the queues
 * and the registrations hung on it.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"
#include "gm-server.h"

static uint32_t	 func_hash(const void *);

/* Histogram bucket bounds: 1 ms to 1 h, then +Inf. */
const uint64_t hist_bounds_us[HIST_BUCKETS - 1] = {
	1000, 5000, 10000, 50000, 100000, 500000, 1000000, 5000000,
	10000000, 30000000, 60000000, 300000000, 3600000000ULL
};

static const char *const event_names[FE_COUNT] = {
	"submitted", "completed", "failed", "exceptions", "retried",
	"cancelled"
};

static struct htable	 funcs;		/* struct func by name (f_hnext) */
static TAILQ_HEAD(, func) funclist = TAILQ_HEAD_INITIALIZER(funclist);

static uint32_t
func_hash(const void *e)
{
	return ((const struct func *)e)->f_hash;
}

/* Set up the table. */
void
func_init(void)
{
	htable_init(&funcs, offsetof(struct func, f_hnext), func_hash);
}

/* Find a function by name; with create set, make it when it is missing. */
struct func *
func_get(const char *name, size_t len, int create)
{
	struct func	*f;
	uint32_t	 h = htable_hash(name, len, HTABLE_SEED);
	int		 i;

	for (f = htable_first(&funcs, h); f != NULL; f = f->f_hnext)
		if (f->f_hash == h && f->f_len == len &&
		    memcmp(f->f_name, name, len) == 0)
			return f;
	if (!create)
		return NULL;
	f = xcalloc(1, sizeof(*f) + len + 1);
	memcpy(f->f_name, name, len);
	f->f_len = len;
	f->f_hash = h;
	for (i = 0; i < PRIO_COUNT; i++)
		TAILQ_INIT(&f->f_q[i]);
	TAILQ_INIT(&f->f_regs);
	TAILQ_INIT(&f->f_sleepers);
	htable_insert(&funcs, f, h);
	TAILQ_INSERT_TAIL(&funclist, f, f_entry);
	return f;
}

/* Find a function by name, ignoring case (admin `drop function`). */
struct func *
func_find_ci(const char *name, size_t len)
{
	struct func	*f;

	TAILQ_FOREACH(f, &funclist, f_entry)
		if (f->f_len == len && strncasecmp(f->f_name, name, len) == 0)
			return f;
	return NULL;
}

/*
 * Remove a function.  Refused (-1) while it has workers or jobs of any
 * kind, so no job is ever orphaned.
 */
int
func_drop(struct func *f)
{
	if (f->f_nregs > 0 || f->f_total > 0)
		return -1;
	htable_remove(&funcs, f, f->f_hash);
	TAILQ_REMOVE(&funclist, f, f_entry);
	free(f);
	return 0;
}

/* Set the queue limits (admin `maxqueue`), one a priority; 0 is none. */
void
func_set_maxq(struct func *f, const uint32_t maxq[PRIO_COUNT])
{
	int	 i;

	for (i = 0; i < PRIO_COUNT; i++)
		f->f_maxq[i] = maxq[i];
}

/*
 * Whether a new job of priority prio is refused: the function holds as
 * many jobs as that priority's limit.  As gearmand, the limit counts every
 * job of the function, whatever its priority or state.
 */
int
func_full(const struct func *f, int prio)
{
	return f->f_maxq[prio] > 0 && f->f_total >= f->f_maxq[prio];
}

/* Call fn for every function, in creation order; fn may drop it. */
void
func_foreach(void (*fn)(struct func *, void *), void *arg)
{
	struct func	*f, *next;

	TAILQ_FOREACH_SAFE(f, &funclist, f_entry, next)
		fn(f, arg);
}

/* Count one event of a job of f. */
void
func_count(struct func *f, enum func_event ev)
{
	f->f_stats.fs_n[ev]++;
}

/*
 * Record a duration in microseconds: how long a job waited in its queue
 * (run 0) or ran (run 1).
 */
void
func_time(struct func *f, int run, int64_t us)
{
	struct hist	*h = run ? &f->f_stats.fs_run : &f->f_stats.fs_wait;
	int		 i;

	if (us < 0)
		us = 0;
	for (i = 0; i < HIST_BUCKETS - 1; i++)
		if ((uint64_t)us <= hist_bounds_us[i])
			break;
	h->h_count[i]++;
	h->h_sum_us += (uint64_t)us;
	h->h_n++;
}

/* The counters of f, for admin `stats` and HTTP. */
const struct func_stats *
func_stats(const struct func *f)
{
	return &f->f_stats;
}

/* The name of a counter, as admin `stats` and /metrics spell it. */
const char *
func_event_name(enum func_event ev)
{
	return event_names[ev];
}

/* Free every function (shutdown, once queue.c freed the jobs). */
void
func_free_all(void)
{
	struct func	*f;

	while ((f = TAILQ_FIRST(&funclist)) != NULL) {
		TAILQ_REMOVE(&funclist, f, f_entry);
		free(f);
	}
	htable_free(&funcs);
}
