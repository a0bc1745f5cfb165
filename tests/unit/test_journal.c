/* Public domain. See README.md for the licence of this project. */
/* Unit tests of the journal: records, replay, locks, sync, errors. */

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "../../cmd/gm-server/journal_int.h"
#include "journal_helper.h"
#include "tap.h"

static struct tjob	 jobs[64];

static int		 njobs;

static void
mkjob(int prio, int64_t when, uint32_t attempts, const char *func,
    const char *unique, size_t ulen, const char *reducer, const char *data,
    size_t dlen)
{
	struct tjob	*t = &jobs[njobs++];

	memset(t, 0, sizeof(*t));
	t->prio = prio;
	t->when = when;
	t->attempts = attempts;
	t->func = dup_mem(func, strlen(func));
	t->func_len = strlen(func);
	t->unique = dup_mem(unique, ulen);
	t->unique_len = ulen;
	if (reducer != NULL) {
		t->reducer = dup_mem(reducer, strlen(reducer));
		t->reducer_len = strlen(reducer);
	}
	t->data = dup_mem(data, dlen);
	t->data_len = dlen;
}

static void
test_memory(void)
{
	struct journal		*j;
	struct journal_stats	 st;
	struct tjob		 t;
	struct donearg		 d;
	struct seen		 s = { 0 };
	char			*cause;

	j = jopen("none", JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j != NULL, "--journal none opens");
	tjob_init(&t, "f", "x", 1);
	d.s = &s;
	d.k = 1;
	is_int(add_job(j, &t, 0, &d), 0, "memory-only add returns 0");
	is_int(t.id, 1, "first id is 1");
	is_int(add_job(j, &t, 1, &d), 0, "second add returns 0");
	is_int(t.id, 2, "second id is 2");
	journal_end(j, 1, JOURNAL_END_COMPLETE);
	journal_stats(j, &st);
	ok(st.enabled == 0 && strcmp(st.sync, "none") == 0 && st.live == 1,
	    "memory-only stats: disabled, sync none, 1 live");
	is_int(journal_replay(j, on_replay, NULL), 0, "nothing to replay");
	is_int(s.n, 0, "no done callback for memory-only adds");
	journal_close(j);
}

static void
test_round_trip(void)
{
	static char		 big[1 << 20], longu[4000], bin[256];
	struct journal		*j;
	struct journal_stats	 st;
	struct donearg		 d[64];
	struct seen		 s = { 0 };
	struct got		*g;
	struct tjob		 t;
	char			*dir, *cause;
	int			 i, rc, inorder, allok, same;
	uint64_t		 maxid = 0;

	for (i = 0; i < (int)sizeof(big); i++)
		big[i] = (char)(i * 7);
	memset(longu, 'u', sizeof(longu));
	for (i = 0; i < (int)sizeof(bin); i++)
		bin[i] = (char)i;
	njobs = 0;
	mkjob(0, 0, 0, "high", "u-high", 6, NULL, "hi", 2);
	mkjob(1, 0, 0, "normal", "", 0, NULL, "norm", 4);
	mkjob(2, 0, 0, "low", "u-low", 5, NULL, "lo", 2);
	mkjob(1, 1000, 0, "epoch-past", "e1", 2, NULL, "p", 1);
	mkjob(1, 4102444800LL, 0, "epoch-future", "e2", 2, NULL, "f", 1);
	mkjob(1, 0, 3, "retried", "r", 1, NULL, "again", 5);
	mkjob(1, 0, 0, "empty-payload", "", 0, NULL, "", 0);
	mkjob(1, 0, 0, "binary", "bin", 3, NULL, bin, sizeof(bin));
	mkjob(1, 0, 0, "long-unique", longu, sizeof(longu), NULL, "l", 1);
	mkjob(0, 0, 0, "big", "big", 3, NULL, big, sizeof(big));
	mkjob(1, 0, 0, "", "empty function", 14, NULL, "e", 1);
	mkjob(1, 0, 0, "reduce", "red", 3, "reducer", "r", 1);
	mkjob(1, 0, 0, "reduce-empty", "red2", 4, "", "r", 1);
	mkjob(2, 0, 0, "ends", "gone", 4, NULL, "g", 1);
	mkjob(1, 0, 0, "normal", "", 0, NULL, "norm", 4);	/* same again */
	mkjob(1, 0, 0, "attempted", "a", 1, NULL, "a", 1);
	/* Broadcast jobs: for one member only (TADD records). */
	mkjob(1, 0, 0, "bcast", "", 0, NULL, "uptime", 6);
	jobs[njobs - 1].target = "web3";
	jobs[njobs - 1].target_len = 4;
	mkjob(2, 0, 0, "bcast-all", "u", 1, "red", "x", 1);
	jobs[njobs - 1].target = "";
	jobs[njobs - 1].target_len = 0;

	dir = newdir("rt");
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j != NULL, "journal opens in a new directory (%s)",
	    cause ? cause : "");
	if (j == NULL)
		return;
	is_int(journal_replay(j, on_replay, NULL), 0,
	    "a new journal replays nothing");
	allok = 1;
	for (i = 0; i < njobs; i++) {
		d[i].s = &s;
		d[i].k = i;
		rc = add_job(j, &jobs[i], i % 2, &d[i]);
		if (rc != 1)
			allok = 0;
		if (jobs[i].id <= maxid)
			allok = 0;
		maxid = jobs[i].id;
	}
	ok(allok, "every add is queued (returns 1) with increasing ids");
	is_int(s.n, 0, "no done callback before the loop runs");
	ok(run_until(&s.n, njobs), "every done callback runs");
	inorder = 1;
	for (i = 0; i < s.n; i++)
		if (s.order[i] != i || s.err[i] != 0)
			inorder = 0;
	ok(inorder, "done callbacks run in add order with error 0");
	journal_end(j, jobs[13].id, JOURNAL_END_COMPLETE);
	jobs[13].ended = 1;
	journal_attempt(j, jobs[15].id, 2);
	jobs[15].attempts = 2;
	journal_attempt(j, 999999, 5);		/* unknown: ignored */
	journal_end(j, 999999, JOURNAL_END_FAIL);
	journal_stats(j, &st);
	ok(st.enabled == 1 && strcmp(st.sync, "always") == 0 &&
	    strcmp(st.dir, dir) == 0, "stats: enabled, sync always, dir");
	is_int(st.live, njobs - 1, "stats: live jobs");
	ok(st.flushes >= 1 && st.peak_flush_us >= st.last_flush_us &&
	    st.bytes > sizeof(big), "stats: flushes, latency and bytes");
	journal_close(j);

	g = calloc(1, sizeof(*g));
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j != NULL, "journal reopens (%s)", cause ? cause : "");
	if (j == NULL)
		return;
	is_int(journal_replay(j, on_replay, g), njobs - 1,
	    "replay returns the live jobs");
	is_int(g->n, njobs - 1, "replay calls back once per live job");
	same = 1;
	for (i = 0, rc = 0; i < njobs && rc < g->n; i++) {
		if (jobs[i].ended)
			continue;
		if (!same_job(&g->j[rc], &jobs[i])) {
			printf("# job %d differs\n", i);
			same = 0;
		}
		rc++;
	}
	ok(same, "every field of every job survives, in submission order");
	ok(g->j[4].when == 4102444800LL && g->j[3].when == 1000,
	    "epoch times survive");
	ok(g->j[11].reducer != NULL && g->j[12].reducer != NULL &&
	    g->j[12].reducer_len == 0 && g->j[0].reducer == NULL,
	    "a missing reducer stays missing, an empty one empty");
	ok(g->j[15].target != NULL && strcmp(g->j[15].target, "web3") == 0 &&
	    g->j[16].target != NULL && g->j[16].target_len == 0 &&
	    g->j[16].reducer_len == 3 && g->j[0].target == NULL,
	    "a target survives, an empty one stays empty, none stays none");
	journal_stats(j, &st);
	is_int(st.live, njobs - 1, "stats after replay: live");
	tjob_init(&t, "new", "", 0);
	d[0].s = &s;
	s.n = 0;
	add_job(j, &t, 1, &d[0]);
	ok(t.id > maxid, "ids continue after the replayed ones");
	ok(run_until(&s.n, 1), "add after replay completes");
	journal_close(j);
	got_free(g);
	free(g);
	free(dir);
}

static void
test_lock(void)
{
	struct journal	*j, *j2;
	char		*dir, *cause, want[64];
	pid_t		 pid;
	int		 status;

	dir = newdir("lock");
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j != NULL, "first open");
	if (j == NULL)
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		j2 = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
		snprintf(want, sizeof(want), "(pid %ld)", (long)getppid());
		if (j2 == NULL && strstr(cause, "is in use by another "
		    "gm-server") != NULL && strstr(cause, dir) != NULL &&
		    strstr(cause, want) != NULL)
			_exit(0);
		_exit(1);
	}
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "a second process is refused with the "
	    "directory and the holder's pid");
	j2 = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j2 == NULL && cause != NULL, "a second open in-process is refused");
	if (cause != NULL)
		printf("# %s\n", cause);
	free(cause);
	journal_close(j);
	j2 = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j2 != NULL, "after close the directory opens again");
	journal_close(j2);
	free(dir);
}

static void
test_sync_modes(void)
{
	static const char	*names[] = { "always", "interval", "never" };
	struct journal		*j;
	struct journal_stats	 st;
	struct got		*g;
	char			*dir, *cause, name[32];
	int			 m;

	g = calloc(1, sizeof(*g));
	for (m = 0; m < 3; m++) {
		snprintf(name, sizeof(name), "sync-%s", names[m]);
		dir = newdir(name);
		ok(fill(dir, 200, NULL, m), "sync %s: 200 adds acknowledged",
		    names[m]);
		j = jopen(dir, m, 0, &cause);
		if (j == NULL) {
			ok(0, "reopen %s", cause);
			continue;
		}
		journal_stats(j, &st);
		ok(strcmp(st.sync, names[m]) == 0, "stats say sync %s",
		    st.sync);
		is_int(journal_replay(j, on_replay, g), 200,
		    "sync %s: 200 jobs replay", names[m]);
		journal_close(j);
		got_free(g);
		free(dir);
	}
	free(g);
}

static void
test_write_error(void)
{
	struct journal		*j;
	struct journal_stats	 st;
	struct donearg		 d[8];
	struct seen		 s = { 0 };
	struct tjob		 t[8];
	struct got		*g;
	char			*dir, *cause;
	int			 i;

	dir = newdir("fault");
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j != NULL, "open");
	if (j == NULL)
		return;
	for (i = 0; i < 8; i++) {
		tjob_init(&t[i], "f", "payload", 7);
		d[i].s = &s;
		d[i].k = i;
	}
	add_job(j, &t[0], 1, &d[0]);
	add_job(j, &t[1], 1, &d[1]);
	ok(run_until(&s.n, 2) && s.err[0] == 0 && s.err[1] == 0,
	    "two jobs written");
	journal_fault(j, ENOSPC);
	journal_end(j, t[0].id, JOURNAL_END_COMPLETE);
	add_job(j, &t[2], 1, &d[2]);
	add_job(j, &t[3], 1, &d[3]);
	ok(run_until(&s.n, 4), "the failing adds complete");
	ok(s.err[2] == ENOSPC && s.err[3] == ENOSPC,
	    "with error ENOSPC (%d, %d)", s.err[2], s.err[3]);
	journal_end(j, t[2].id, JOURNAL_END_DROPPED);	/* no-op */
	journal_stats(j, &st);
	ok(st.write_errors >= 1, "write_errors counts it (%llu)",
	    (unsigned long long)st.write_errors);
	is_int(st.live, 1, "failed adds are not live");
	journal_fault(j, 0);
	add_job(j, &t[4], 1, &d[4]);
	ok(run_until(&s.n, 5) && s.err[4] == 0, "once writes work again, "
	    "adds succeed by themselves");
	journal_close(j);

	g = calloc(1, sizeof(*g));
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j != NULL, "reopen after the errors (%s)", cause ? cause : "");
	if (j == NULL)
		return;
	is_int(journal_replay(j, on_replay, g), 2, "2 jobs live");
	ok(g->n == 2 && g->j[0].id == t[1].id && g->j[1].id == t[4].id,
	    "the end queued during the error was written later; failed adds "
	    "are gone");
	journal_close(j);
	got_free(g);
	free(g);
	free(dir);
}

/* A real full disk: a 1 MiB tmpfs (needs root and mount). */
static void
test_full_disk(void)
{
	struct journal		*j;
	struct journal_stats	 st;
	struct donearg		 d[64];
	struct seen		 s = { 0 };
	struct tjob		 t;
	struct got		*g;
	static char		 payload[64 << 10];
	char			*dir, *cause, filler[1100];
	int			 i, fd, acked, failed;

	dir = newdir("tmpfs");
	mkdir(dir, 0700);
	if (mount("tmpfs", dir, "tmpfs", 0, "size=1m") == -1) {
		printf("ok %d # skip cannot mount a tmpfs: %s\n", ++tap_n,
		    strerror(errno));
		free(dir);
		return;
	}
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j != NULL, "journal on a 1 MiB tmpfs");
	if (j == NULL)
		goto out;
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	for (i = 0; i < 13; i++)
		if (write(fd, payload, sizeof(payload)) == -1)
			break;
	close(fd);
	tjob_init(&t, "f", payload, sizeof(payload));
	for (i = 0; i < 8; i++) {
		d[i].s = &s;
		d[i].k = i;
		add_job(j, &t, 1, &d[i]);
		run_until(&s.n, i + 1);
	}
	for (i = acked = failed = 0; i < s.n; i++) {
		if (s.err[i] == 0)
			acked++;
		else if (s.err[i] == ENOSPC)
			failed++;
	}
	ok(s.n == 8 && failed > 0, "a full disk fails adds with ENOSPC "
	    "(%d acked, %d failed)", acked, failed);
	journal_stats(j, &st);
	ok(st.write_errors > 0, "write_errors counts them");
	unlink(filler);
	for (i = 8; i < 12; i++) {
		d[i].s = &s;
		d[i].k = i;
		add_job(j, &t, 1, &d[i]);
	}
	ok(run_until(&s.n, 12) && s.err[8] == 0 && s.err[11] == 0,
	    "space returns: adds succeed again by themselves");
	acked += 4;
	journal_close(j);
	g = calloc(1, sizeof(*g));
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j != NULL, "reopen after the full disk (%s)", cause ? cause : "");
	if (j != NULL) {
		is_int(journal_replay(j, on_replay, g), acked,
		    "exactly the acknowledged jobs replay");
		journal_close(j);
	}
	got_free(g);
	free(g);
out:
	umount2(dir, MNT_DETACH);
	free(dir);
}

/* Ids seen by replay, to check them against what was expected. */
struct idlist {
	uint64_t	*ids;
	size_t		 n;
};

static void
on_replay_id(const struct journal_job *jj, void *arg)
{
	struct idlist	*l = arg;

	l->ids[l->n++] = jj->id;
}

/* Replay of a journal where most jobs ended (the index sheds them). */
static void
test_replay_dead(void)
{
	struct journal		*j;
	struct journal_job	 jj;
	struct idlist		 l;
	uint64_t		*ids;
	char			*dir, *cause;
	int			 i, n = 20000, good;

	dir = newdir("dead");
	j = jopen(dir, JOURNAL_SYNC_NEVER, 0, &cause);
	if (j == NULL) {
		ok(0, "open: %s", cause);
		return;
	}
	ids = calloc(n, sizeof(*ids));
	for (i = 0; i < n; i++) {
		memset(&jj, 0, sizeof(jj));
		jj.func = "f";
		jj.func_len = 1;
		jj.data_ptr = "x";
		jj.data_len = 1;
		journal_add(j, &jj, (journal_done_cb)NULL, NULL);
		ids[i] = jj.id;
	}
	for (i = 0; i < n; i++)
		if (i % 4 != 0)
			journal_end(j, ids[i], JOURNAL_END_COMPLETE);
	journal_close(j);
	j = jopen(dir, JOURNAL_SYNC_NEVER, 0, &cause);
	ok(j != NULL, "a journal of %d adds and %d ends opens", n, n / 4 * 3);
	if (j == NULL)
		return;
	l.ids = calloc(n, sizeof(*l.ids));
	l.n = 0;
	is_int(journal_replay(j, on_replay_id, &l), n / 4, "the live quarter "
	    "replays");
	good = (int)l.n == n / 4;
	for (i = 0; good && i < n / 4; i++)
		if (l.ids[i] != ids[i * 4])
			good = 0;
	ok(good, "with the right ids, in order");
	journal_close(j);
	free(l.ids);
	free(ids);
	free(dir);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Durable round trip, one add at a time (write + fsync + completion):
 * GM_JOURNAL_LATENCY=N adds (default 50), reported only.
 */
static void
test_latency(void)
{
	struct journal		*j;
	struct journal_stats	 st;
	struct donearg		 d;
	struct seen		*s;
	struct tjob		 t;
	struct timespec		 t0, t1;
	uint64_t		*us;
	const char		*env;
	char			*dir, *cause;
	int			 i, n = 50, good = 1;

	if ((env = getenv("GM_JOURNAL_LATENCY")) != NULL)
		n = atoi(env);
	if (n < 1 || n > 4000)
		n = 50;
	dir = newdir("latency");
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	if (j == NULL) {
		ok(0, "open: %s", cause);
		return;
	}
	s = calloc(1, sizeof(*s));
	us = calloc(n, sizeof(*us));
	tjob_init(&t, "f", "0123456789012345678901234567890123456789", 40);
	d.s = s;
	d.k = 0;
	for (i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		add_job(j, &t, 1, &d);
		if (!run_until(&s->n, i + 1) || s->err[i] != 0)
			good = 0;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		us[i] = (t1.tv_sec - t0.tv_sec) * 1000000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000;
	}
	journal_stats(j, &st);
	journal_close(j);
	qsort(us, n, sizeof(*us), cmp_u64);
	printf("# durable add round trip over %d adds: median %llu us, "
	    "p90 %llu us, max %llu us (peak flush %llu us)\n", n,
	    (unsigned long long)us[n / 2], (unsigned long long)us[n * 9 / 10],
	    (unsigned long long)us[n - 1],
	    (unsigned long long)st.peak_flush_us);
	ok(good && (int)st.flushes >= n, "%d adds, one at a time, each "
	    "durable in its own flush", n);
	free(us);
	free(s);
	free(dir);
}

/* The entry of id in x by a plain scan, the answer idx_find must give. */
static struct jent *
idx_scan(struct jindex *x, uint64_t id)
{
	size_t	 i;

	for (i = 0; i < x->n; i++)
		if (x->e[i].id == id)
			return &x->e[i];
	return NULL;
}

/* Every id from 0 to max finds what a scan finds; the count that did. */
static int
idx_agree(struct jindex *x, uint64_t max, size_t *found)
{
	struct jent	*e;
	uint64_t	 id;

	*found = 0;
	for (id = 0; id <= max; id++) {
		if ((e = idx_find(x, id)) != idx_scan(x, id))
			return 0;
		if (e != NULL)
			(*found)++;
	}
	return 1;
}

/*
 * The index lookup: ids with gaps (jobs the journal does not hold), ends
 * out of order, tidyings that remove entries after a live one; idx_find
 * looks first at a guessed place, and must agree with a scan everywhere.
 */
static void
test_index(void)
{
	struct jindex	 x;
	struct jent	*e;
	uint64_t	 id;
	size_t		 found, i;
	int		 same;

	memset(&x, 0, sizeof(x));
	same = idx_agree(&x, 3, &found);
	ok(same && found == 0, "an empty index finds nothing");
	for (id = 1; id <= 20000; id++)
		if (id % 7 != 0)
			idx_push(&x, id, 0, 0, 0);
	same = idx_agree(&x, 20010, &found);
	ok(same && found == 20000 - 20000 / 7,
	    "ids with gaps: every one found, none between or after");
	/* End the old ones, and every third of the rest, then tidy. */
	for (i = 0; i < x.n; i++)
		if (x.e[i].id < 15000 || x.e[i].id % 3 == 0)
			idx_kill(&x, &x.e[i]);
	idx_tidy(&x, 1);
	same = idx_agree(&x, 20010, &found);
	ok(same && x.ndead == 0 && found == x.n && x.n > 0,
	    "after a tidying: %zu live entries found, the ended ones not",
	    found);
	for (id = 20001; id <= 21000; id++)
		idx_push(&x, id, 0, 0, 0);
	e = idx_find(&x, 15002);
	same = idx_agree(&x, 21010, &found);
	ok(same && e != NULL && e->id == 15002,
	    "appends after a tidying: old and new entries found");
	free(x.e);
}

/* Replay speed: GM_JOURNAL_BENCH=N jobs (default 20000), reported only. */
static void
test_replay_many(void)
{
	struct journal	*j;
	struct timespec	 t0, t1;
	struct journal_job jj;
	struct seen	*s;
	const char	*env;
	char		*dir, *cause, data[100];
	long		 n = 20000, i, count = 0;
	int		 done = 0;

	if ((env = getenv("GM_JOURNAL_BENCH")) != NULL)
		n = strtol(env, NULL, 10);
	dir = newdir("many");
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	if (j == NULL)
		return;
	s = calloc(1, sizeof(*s));
	memset(data, 'd', sizeof(data));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		char	 u[32];

		memset(&jj, 0, sizeof(jj));
		snprintf(u, sizeof(u), "unique-%ld", i);
		jj.prio = i % 3;
		jj.func = "function";
		jj.func_len = 8;
		jj.unique = u;
		jj.unique_len = strlen(u);
		jj.data_ptr = data;
		jj.data_len = sizeof(data);
		journal_add(j, &jj, (journal_done_cb)NULL, NULL);
		if (i % 100000 == 99999)
			event_base_loop(base, EVLOOP_NONBLOCK);
	}
	journal_close(j);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# wrote %ld jobs in %.3f s\n", n, (t1.tv_sec - t0.tv_sec) +
	    (t1.tv_nsec - t0.tv_nsec) / 1e9);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	if (j != NULL)
		count = journal_replay(j, NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# replayed %ld jobs in %.3f s\n", count,
	    (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	is_int(count, n, "a journal of %ld jobs replays all of them", n);
	journal_close(j);
	(void)done;
	free(s);
	free(dir);
}

int
main(void)
{
	jt_begin();
	test_memory();
	test_index();
	test_round_trip();
	test_lock();
	test_sync_modes();
	test_write_error();
	test_full_disk();
	test_replay_dead();
	test_latency();
	test_replay_many();
	jt_end();
	return tap_done();
}
