/* Public domain. See README.md for the licence of this project. */
/*
 * Functions: the table of struct func by name, their creation order and
 * the per-function policy (the queue limits of `maxqueue`, and the retry
 * policy, which is kept in a file of the journal directory so that it
 * survives a restart) and counters (jobs by outcome, queue wait and run
 * time histograms).  State
 * that belongs to one function, not to one job or one worker, lives in
 * struct func and is changed here; queue.c and worker.c own the queues
 * and the registrations hung on it.
 */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"
#include "gm-server.h"

/*
 * The retry policy file: one line per function with its own policy,
 * "retries backoff_ms max_ms name_len name\n" (the name may hold any
 * byte).  Rewritten whole on every change: temp file, fsync, rename.
 */
#define POLICY_FILE	"retry-policy"

static uint32_t	 func_hash(const void *);
static void	 policy_write(FILE *);

static char		*policy_dir;	/* NULL: policies are not kept */
static char		*policy_path;

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
	int	 kept = f->f_retry_set;

	if (f->f_nregs > 0 || f->f_total > 0)
		return -1;
	htable_remove(&funcs, f, f->f_hash);
	TAILQ_REMOVE(&funclist, f, f_entry);
	free(f);
	if (kept)
		func_policy_save();
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

/* The retry policy that applies to f: its own, else the server's. */
void
func_retry(const struct func *f, struct retry_policy *rp)
{
	*rp = f->f_retry_set ? f->f_retry : conf.retry;
}

/* Give f a retry policy of its own (NULL: back to the server's). */
void
func_set_retry(struct func *f, const struct retry_policy *rp)
{
	if (rp == NULL) {
		f->f_retry_set = 0;
		memset(&f->f_retry, 0, sizeof(f->f_retry));
	} else {
		f->f_retry_set = 1;
		f->f_retry = *rp;
	}
	func_policy_save();
}

/*
 * The delay before retry number tries (1 for the first): the backoff
 * doubled per earlier retry and bounded by the maximum, then a random
 * point between half of it and all of it, so that jobs that failed
 * together do not come back together.
 */
int64_t
func_retry_delay(const struct retry_policy *rp, uint32_t tries)
{
	uint64_t	 d = rp->rp_backoff;
	uint32_t	 k;

	for (k = 1; k < tries && d < rp->rp_max; k++)
		d *= 2;
	if (d > rp->rp_max)
		d = rp->rp_max;
	if (d < 2)
		return (int64_t)d;
	return (int64_t)(d - d / 2 + arc4random_uniform((uint32_t)(d / 2 + 1)));
}

static void
policy_write(FILE *fp)
{
	struct func	*f;

	TAILQ_FOREACH(f, &funclist, f_entry) {
		if (!f->f_retry_set)
			continue;
		fprintf(fp, "%u %u %u %zu ", f->f_retry.rp_retries,
		    f->f_retry.rp_backoff, f->f_retry.rp_max, f->f_len);
		fwrite(f->f_name, 1, f->f_len, fp);
		fputc('\n', fp);
	}
}

/*
 * Keep the retry policies in dir (NULL: nowhere) and read those kept
 * there.  -1 with *cause set (caller frees) when the file is damaged.
 */
int
func_policy_load(const char *dir, char **cause)
{
	struct retry_policy	 rp;
	struct func		*f;
	FILE			*fp;
	char			*name;
	size_t			 len;
	int			 c, line = 0;

	if (dir == NULL)
		return 0;
	policy_dir = xstrdup(dir);
	xasprintf(&policy_path, "%s/%s", dir, POLICY_FILE);
	if ((fp = fopen(policy_path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		xasprintf(cause, "%s: %s", policy_path, strerror(errno));
		return -1;
	}
	for (;;) {
		line++;
		if ((c = getc(fp)) == EOF)
			break;
		ungetc(c, fp);
		if (fscanf(fp, "%" SCNu32 " %" SCNu32 " %" SCNu32 " %zu",
		    &rp.rp_retries, &rp.rp_backoff, &rp.rp_max, &len) != 4 ||
		    getc(fp) != ' ' || len == 0 || len > 65536)
			goto bad;
		name = xmalloc(len);
		if (fread(name, 1, len, fp) != len || getc(fp) != '\n') {
			free(name);
			goto bad;
		}
		f = func_get(name, len, 1);
		f->f_retry = rp;
		f->f_retry_set = 1;
		free(name);
	}
	fclose(fp);
	return 0;
bad:
	xasprintf(cause, "%s: line %d is damaged; fix or remove the file",
	    policy_path, line);
	fclose(fp);
	return -1;
}

/* Write every function's own retry policy down (temp file, rename). */
void
func_policy_save(void)
{
	FILE	*fp;
	char	*tmp;
	int	 fd, e = 0;

	if (policy_path == NULL)
		return;
	xasprintf(&tmp, "%s.tmp", policy_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd == -1 || (fp = fdopen(fd, "w")) == NULL) {
		log_warn("retry policy: %s", tmp);
		if (fd != -1)
			close(fd);
		free(tmp);
		return;
	}
	policy_write(fp);
	if (fflush(fp) == EOF || fsync(fd) == -1)
		e = errno;
	if (fclose(fp) == EOF && e == 0)
		e = errno;
	if (e == 0 && rename(tmp, policy_path) == -1)
		e = errno;
	if (e != 0) {
		log_warnx("retry policy: cannot write %s: %s", policy_path,
		    strerror(e));
		unlink(tmp);
	} else if ((fd = open(policy_dir, O_RDONLY | O_CLOEXEC)) != -1) {
		fsync(fd);
		close(fd);
	}
	free(tmp);
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
	free(policy_path);
	free(policy_dir);
	policy_path = policy_dir = NULL;
}
