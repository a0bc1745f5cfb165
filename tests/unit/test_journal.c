/* Public domain. See README.md for the licence of this project. */
/* Unit tests of the journal: records, replay, damage, locks, compaction. */

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

#include "../../cmd/gm-server/journal.h"
#include "tap.h"

static struct event_base	*base;
static char			 top[] = "/tmp/gm-journal-test.XXXXXX";

/* What a test expects a job to look like. */
struct tjob {
	uint64_t	 id;
	int		 prio;
	int64_t		 when;
	uint32_t	 attempts;
	char		*func;
	size_t		 func_len;
	char		*unique;
	size_t		 unique_len;
	char		*reducer;
	size_t		 reducer_len;
	char		*data;
	size_t		 data_len;
	int		 ended;
};

/* Done callbacks seen: the order of their args and their errors. */
struct seen {
	int	 n;
	int	 order[4096];
	int	 err[4096];
};

/* Jobs replay gave back. */
struct got {
	int		 n;
	struct tjob	 j[4096];
};

/* A done callback argument: which add this was, and where to report. */
struct donearg {
	struct seen	*s;
	int		 k;
};

static void
on_done2(int err, void *arg)
{
	struct donearg	*d = arg;

	d->s->order[d->s->n] = d->k;
	d->s->err[d->s->n++] = err;
}

static char *
dup_mem(const void *p, size_t n)
{
	char	*d = malloc(n + 1);

	if (n > 0)
		memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

static void
on_replay(const struct journal_job *jj, void *arg)
{
	struct got	*g = arg;
	struct tjob	*t = &g->j[g->n++];

	memset(t, 0, sizeof(*t));
	t->id = jj->id;
	t->prio = jj->prio;
	t->when = jj->when;
	t->attempts = jj->attempts;
	t->func = dup_mem(jj->func, jj->func_len);
	t->func_len = jj->func_len;
	t->unique = dup_mem(jj->unique, jj->unique_len);
	t->unique_len = jj->unique_len;
	if (jj->reducer != NULL) {
		t->reducer = dup_mem(jj->reducer, jj->reducer_len);
		t->reducer_len = jj->reducer_len;
	}
	t->data = dup_mem(jj->data_ptr, jj->data_len);
	t->data_len = jj->data_len;
}

static void
got_free(struct got *g)
{
	int	 i;

	for (i = 0; i < g->n; i++) {
		free(g->j[i].func);
		free(g->j[i].unique);
		free(g->j[i].reducer);
		free(g->j[i].data);
	}
	g->n = 0;
}

/* Run the loop until *n reaches want or 20 s pass. */
static int
run_until(int *n, int want)
{
	struct timespec	 t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (*n < want) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 20)
			return 0;
		usleep(50);
	}
	return 1;
}

/* A fresh directory under top. */
static char *
newdir(const char *name)
{
	char	*d;

	if (asprintf(&d, "%s/%s", top, name) == -1)
		abort();
	return d;
}

static struct journal *
jopen(const char *dir, enum journal_sync sync, int repair, char **cause)
{
	struct journal_opts	 o;

	memset(&o, 0, sizeof(o));
	o.sync = sync;
	o.interval_ms = 20;
	o.repair = repair;
	*cause = NULL;
	return journal_open(base, dir, &o, cause);
}

/* Add t to j with payload in an evbuffer (or data_ptr when ptr is set). */
static int
add_job(struct journal *j, struct tjob *t, int ptr, struct donearg *d)
{
	struct journal_job	 jj;
	struct evbuffer		*eb = NULL;
	int			 rc;

	memset(&jj, 0, sizeof(jj));
	jj.prio = t->prio;
	jj.when = t->when;
	jj.attempts = t->attempts;
	jj.func = t->func;
	jj.func_len = t->func_len;
	jj.unique = t->unique;
	jj.unique_len = t->unique_len;
	jj.reducer = t->reducer;
	jj.reducer_len = t->reducer_len;
	if (ptr) {
		jj.data_ptr = t->data;
		jj.data_len = t->data_len;
	} else {
		eb = evbuffer_new();
		evbuffer_add(eb, t->data, t->data_len);
		jj.data = eb;
	}
	rc = journal_add(j, &jj, on_done2, d);
	if (eb != NULL) {
		if (evbuffer_get_length(eb) != t->data_len)
			rc = -2;	/* the payload must not be drained */
		evbuffer_free(eb);
	}
	t->id = jj.id;
	return rc;
}

static int
same_job(const struct tjob *a, const struct tjob *b)
{
	if (a->id != b->id || a->prio != b->prio || a->when != b->when ||
	    a->attempts != b->attempts || a->func_len != b->func_len ||
	    a->unique_len != b->unique_len || a->data_len != b->data_len)
		return 0;
	if ((a->reducer == NULL) != (b->reducer == NULL) ||
	    a->reducer_len != b->reducer_len)
		return 0;
	return memcmp(a->func, b->func, a->func_len) == 0 &&
	    memcmp(a->unique, b->unique, a->unique_len) == 0 &&
	    (a->reducer == NULL ||
	    memcmp(a->reducer, b->reducer, a->reducer_len) == 0) &&
	    memcmp(a->data, b->data, a->data_len) == 0;
}

/* Path of the newest segment in dir (static buffer). */
static const char *
last_seg(const char *dir)
{
	static char	 path[1024];
	struct dirent	*de;
	DIR		*d;
	char		 best[256] = "";

	if ((d = opendir(dir)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "seg-", 4) == 0 &&
		    strlen(de->d_name) == 24 && strcmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	closedir(d);
	snprintf(path, sizeof(path), "%s/%s", dir, best);
	return path;
}

/* Count files in dir whose name contains pat. */
static int
count_files(const char *dir, const char *pat)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, pat) != NULL)
			n++;
	closedir(d);
	return n;
}

static off_t
file_size(const char *path)
{
	struct stat	 sb;

	return stat(path, &sb) == -1 ? -1 : sb.st_size;
}

/* Offset of the k-th record (from 0) of a segment file. */
static off_t
rec_offset(const char *path, int k)
{
	unsigned char	 h[4];
	off_t		 off = 32;
	int		 fd, i;

	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	for (i = 0; i < k; i++) {
		if (pread(fd, h, 4, off) != 4) {
			close(fd);
			return -1;
		}
		off += 8 + (h[0] | h[1] << 8 | h[2] << 16 |
		    (uint32_t)h[3] << 24);
	}
	close(fd);
	return off;
}

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
test_crc(void)
{
	is_int(journal_crc32c(0, "123456789", 9), 0xe3069283U,
	    "CRC32C of \"123456789\" is e3069283");
	is_int(journal_crc32c(journal_crc32c(0, "1234", 4), "56789", 5),
	    0xe3069283U, "CRC32C continues across calls");
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
	memset(&t, 0, sizeof(t));
	t.func = "f";
	t.func_len = 1;
	t.data = "x";
	t.data_len = 1;
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
	journal_stats(j, &st);
	is_int(st.live, njobs - 1, "stats after replay: live");
	memset(&t, 0, sizeof(t));
	t.func = "new";
	t.func_len = 3;
	t.data = "";
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

/* Write n small jobs to dir and close; return their ids in ids. */
static int
fill(const char *dir, int n, uint64_t *ids, enum journal_sync sync)
{
	struct journal	*j;
	struct donearg	*d;
	struct seen	*s;
	struct tjob	 t;
	char		*cause, buf[32];
	int		 i, bad = 0;

	j = jopen(dir, sync, 0, &cause);
	if (j == NULL) {
		printf("# %s\n", cause);
		return 0;
	}
	journal_replay(j, NULL, NULL);
	d = calloc(n, sizeof(*d));
	s = calloc(1, sizeof(*s));
	for (i = 0; i < n; i++) {
		memset(&t, 0, sizeof(t));
		snprintf(buf, sizeof(buf), "job-%d", i);
		t.func = "f";
		t.func_len = 1;
		t.unique = buf;
		t.unique_len = strlen(buf);
		t.data = buf;
		t.data_len = strlen(buf);
		d[i].s = s;
		d[i].k = i;
		if (add_job(j, &t, 1, &d[i]) != 1)
			bad = 1;
		if (ids != NULL)
			ids[i] = t.id;
	}
	if (!run_until(&s->n, n))
		bad = 1;
	for (i = 0; i < s->n; i++)
		if (s->err[i] != 0)
			bad = 1;
	journal_close(j);
	free(d);
	free(s);
	return !bad;
}

static void
test_torn_tail(void)
{
	struct journal	*j;
	struct got	*g;
	const char	*seg;
	char		*dir, *cause;
	off_t		 size, r4;
	int		 fd;
	unsigned char	 rec[64];

	dir = newdir("torn");
	ok(fill(dir, 5, NULL, JOURNAL_SYNC_ALWAYS), "5 jobs written");
	seg = last_seg(dir);
	size = file_size(seg);
	r4 = rec_offset(seg, 4);
	/* A crash in the middle of writing the last record. */
	ok(truncate(seg, r4 + 20) == 0, "cut the last record short");
	/* A record header announcing more than was written. */
	memset(rec, 0, sizeof(rec));
	g = calloc(1, sizeof(*g));
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j != NULL, "a torn tail does not stop the start (%s)",
	    cause ? cause : "");
	if (j == NULL)
		return;
	is_int(journal_replay(j, on_replay, g), 4, "the 4 whole jobs replay");
	is_int(file_size(seg), r4, "the torn record is cut off the file");
	journal_close(j);
	got_free(g);

	/* Zeros after the last record (blocks allocated, never written). */
	fd = open(seg, O_WRONLY | O_APPEND);
	ok(fd != -1 && write(fd, rec, sizeof(rec)) == sizeof(rec),
	    "append zeros to the segment");
	close(fd);
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j != NULL, "a tail of zeros does not stop the start");
	if (j != NULL) {
		is_int(journal_replay(j, on_replay, g), 4,
		    "the same 4 jobs replay");
		journal_close(j);
		is_int(file_size(seg), r4, "the zeros are cut off at close");
	}
	(void)size;
	got_free(g);
	free(g);
	ok(fill(dir, 1, NULL, JOURNAL_SYNC_ALWAYS), "appends work after");
	g = calloc(1, sizeof(*g));
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	if (j != NULL) {
		is_int(journal_replay(j, on_replay, g), 5,
		    "the new job follows cleanly");
		journal_close(j);
	} else
		ok(0, "reopen after append: %s", cause);
	got_free(g);
	free(g);
	free(dir);
}

static void
test_damage(void)
{
	struct journal	*j;
	struct got	*g;
	char		*dir, *cause, want[1200], seg[1024];
	off_t		 r2;
	int		 fd;
	char		 c;

	dir = newdir("damage");
	ok(fill(dir, 5, NULL, JOURNAL_SYNC_ALWAYS), "5 jobs written");
	snprintf(seg, sizeof(seg), "%s", last_seg(dir));
	r2 = rec_offset(seg, 2);
	fd = open(seg, O_RDWR);
	ok(fd != -1 && pread(fd, &c, 1, r2 + 20) == 1, "read a byte");
	c ^= 0x40;
	ok(pwrite(fd, &c, 1, r2 + 20) == 1, "flip a bit in the 3rd record");
	close(fd);
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j == NULL, "damage in the middle stops the start");
	snprintf(want, sizeof(want), "journal %s: damaged record at offset "
	    "%lld (checksum mismatch)", seg, (long long)r2);
	ok(cause != NULL && strstr(cause, want) != NULL,
	    "the message names the file and the offset");
	if (cause != NULL)
		printf("# %s\n", cause);
	ok(cause != NULL && strstr(cause, "--journal-repair") != NULL,
	    "the message names --journal-repair");
	free(cause);
	is_int(file_size(seg), rec_offset(seg, 5), "nothing was changed");

	g = calloc(1, sizeof(*g));
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 1, &cause);
	ok(j != NULL, "--journal-repair starts (%s)", cause ? cause : "");
	if (j == NULL)
		return;
	is_int(journal_replay(j, on_replay, g), 4,
	    "every valid record is salvaged");
	ok(g->n == 4 && strcmp(g->j[1].data, "job-1") == 0 &&
	    strcmp(g->j[2].data, "job-3") == 0, "the damaged job is the one "
	    "missing");
	is_int(count_files(dir, ".damaged"), 1, "the damaged file is kept "
	    "aside");
	journal_close(j);
	got_free(g);
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j != NULL, "the repaired journal opens without --journal-repair");
	if (j != NULL) {
		is_int(journal_replay(j, on_replay, g), 4, "with the 4 jobs");
		journal_close(j);
	}
	got_free(g);
	free(g);
	free(dir);
}

static void
test_version(void)
{
	struct journal	*j;
	unsigned char	 h[32];
	char		*dir, *cause, path[1024];
	uint32_t	 crc;
	int		 fd;

	dir = newdir("version");
	ok(fill(dir, 1, NULL, JOURNAL_SYNC_ALWAYS), "1 job written");
	snprintf(path, sizeof(path), "%s", last_seg(dir));
	fd = open(path, O_RDWR);
	ok(fd != -1 && pread(fd, h, 32, 0) == 32, "read the header");
	h[8] = 2;
	crc = journal_crc32c(0, h, 28);
	h[28] = crc;
	h[29] = crc >> 8;
	h[30] = crc >> 16;
	h[31] = crc >> 24;
	ok(pwrite(fd, h, 32, 0) == 32, "make it format version 2");
	close(fd);
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 1, &cause);
	ok(j == NULL && cause != NULL &&
	    strstr(cause, "format version 2 is not supported") != NULL &&
	    strstr(cause, path) != NULL,
	    "an unknown version is refused, even with repair");
	if (cause != NULL)
		printf("# %s\n", cause);
	free(cause);
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
test_compaction(void)
{
	struct journal		*j;
	struct journal_stats	 st;
	struct got		*g;
	struct donearg		 d;
	struct seen		 s = { 0 };
	struct tjob		 t;
	struct timespec		 t0, t1;
	uint64_t		 ids[1000];
	char			*dir, *cause;
	int			 i, k, good;

	dir = newdir("compact");
	ok(fill(dir, 1000, ids, JOURNAL_SYNC_ALWAYS), "1000 jobs written");
	setenv("GM_JOURNAL_COMPACT_BYTES", "1", 1);
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	unsetenv("GM_JOURNAL_COMPACT_BYTES");
	ok(j != NULL, "reopen");
	if (j == NULL)
		return;
	journal_replay(j, NULL, NULL);
	for (i = 0; i < 1000; i++) {
		if (i % 10 != 0)
			journal_end(j, ids[i], JOURNAL_END_COMPLETE);
		else if (i % 20 == 0)
			journal_attempt(j, ids[i], 4);
	}
	memset(&t, 0, sizeof(t));
	t.func = "after";
	t.func_len = 5;
	t.data = "z";
	t.data_len = 1;
	d.s = &s;
	d.k = 0;
	/*
	 * Compaction starts after a write when dead records dominate; the
	 * ends may span several writes, so keep writing (an add and its end)
	 * until the dead records are gone.
	 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	k = 0;
	do {
		add_job(j, &t, 1, &d);
		k++;
		run_until(&s.n, k);
		journal_end(j, t.id, JOURNAL_END_COMPLETE);
		usleep(2000);
		journal_stats(j, &st);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((st.compactions == 0 || st.dead > 50) &&
	    t1.tv_sec - t0.tv_sec < 20);
	ok(s.n == k && s.err[0] == 0, "later adds complete");
	ok(st.compactions >= 1, "dead records dominate: compaction (%llu)",
	    (unsigned long long)st.compactions);
	is_int(st.live, 100, "stats: 100 live");
	ok(st.dead <= 50, "stats: few dead records left (%llu)",
	    (unsigned long long)st.dead);
	journal_close(j);
	ok(count_files(dir, "seg-") <= 2, "old segments are removed");
	is_int(count_files(dir, ".tmp"), 0, "no temp file is left");

	g = calloc(1, sizeof(*g));
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j != NULL, "compacted journal opens");
	if (j == NULL)
		return;
	is_int(journal_replay(j, on_replay, g), 100,
	    "exactly the live set replays");
	good = g->n == 100;
	for (k = 0; good && k < 100; k++) {
		i = k * 10;
		if (g->j[k].id != ids[i] ||
		    g->j[k].attempts != (i % 20 == 0 ? 4U : 0U))
			good = 0;
	}
	ok(good, "in order, with their ids and attempt counts");
	journal_close(j);
	got_free(g);
	free(g);
	free(dir);
}

/* Copy file from to to. */
static int
copy_file(const char *from, const char *to)
{
	char	 buf[65536];
	ssize_t	 n;
	int	 in, out, rc = 0;

	if ((in = open(from, O_RDONLY)) == -1)
		return -1;
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			rc = -1;
	close(in);
	close(out);
	return n < 0 ? -1 : rc;
}

/*
 * A crash in the middle of a compaction: the temp file is left, or the old
 * segments are still there next to the compacted one.
 */
static void
test_compaction_crash(void)
{
	struct journal		*j;
	struct journal_stats	 st;
	struct got		*g;
	struct timespec		 t0, t1;
	uint64_t		 ids[200];
	char			*dir, *cause, old[1024], keep[1024], tmp[1024];
	int			 i, fd;

	dir = newdir("compact-crash");
	ok(fill(dir, 200, ids, JOURNAL_SYNC_ALWAYS), "200 jobs written");
	snprintf(old, sizeof(old), "%s", last_seg(dir));
	snprintf(keep, sizeof(keep), "%s-old-segment", dir);
	ok(copy_file(old, keep) == 0, "keep a copy of the segment with 200 "
	    "adds");
	setenv("GM_JOURNAL_COMPACT_BYTES", "1", 1);
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	unsetenv("GM_JOURNAL_COMPACT_BYTES");
	if (j == NULL) {
		ok(0, "reopen: %s", cause);
		return;
	}
	journal_replay(j, NULL, NULL);
	for (i = 0; i < 200; i++)
		if (i % 4 != 0)
			journal_end(j, ids[i], JOURNAL_END_COMPLETE);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
		journal_stats(j, &st);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (st.compactions == 0 && t1.tv_sec - t0.tv_sec < 20);
	ok(st.compactions >= 1, "compacted");
	journal_close(j);
	ok(file_size(old) == -1, "the old segment is gone");

	/* Put an old segment back, as if the crash came before its unlink. */
	ok(copy_file(keep, old) == 0, "put it back as %s", old);
	snprintf(tmp, sizeof(tmp), "%s/compact.tmp", dir);
	fd = open(tmp, O_WRONLY | O_CREAT, 0600);
	ok(fd != -1 && write(fd, "half", 4) == 4, "leave a temp file");
	close(fd);
	g = calloc(1, sizeof(*g));
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j != NULL, "the journal opens (%s)", cause ? cause : "");
	if (j != NULL) {
		is_int(journal_replay(j, on_replay, g), 50,
		    "the live set replays once");
		ok(g->n == 50 && g->j[0].id == ids[0] &&
		    g->j[49].id == ids[196], "in order");
		journal_close(j);
	}
	ok(file_size(old) == -1, "the superseded segment is removed");
	ok(file_size(tmp) == -1, "the temp file is removed");
	got_free(g);
	free(g);
	free(dir);
}

/* A segment whose header was cut short by a crash right after creation. */
static void
test_torn_header(void)
{
	struct journal	*j;
	struct got	*g;
	char		*dir, *cause, path[1024];
	int		 fd;

	dir = newdir("torn-header");
	ok(fill(dir, 3, NULL, JOURNAL_SYNC_ALWAYS), "3 jobs written");
	snprintf(path, sizeof(path), "%s/seg-00000000000000ff.jnl", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ok(fd != -1 && write(fd, "gmjou", 5) == 5, "a newest segment of 5 "
	    "bytes");
	close(fd);
	g = calloc(1, sizeof(*g));
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j != NULL, "a torn header at the end does not stop the start");
	if (j != NULL) {
		is_int(journal_replay(j, on_replay, g), 3, "3 jobs replay");
		journal_close(j);
	}
	is_int(file_size(path), 32, "the segment starts over with a header");
	got_free(g);
	ok(fill(dir, 1, NULL, JOURNAL_SYNC_ALWAYS), "appends go on");
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	if (j != NULL) {
		is_int(journal_replay(j, on_replay, g), 4, "4 jobs replay");
		journal_close(j);
	} else
		ok(0, "reopen: %s", cause);
	got_free(g);
	free(g);
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
		memset(&t[i], 0, sizeof(t[i]));
		t[i].func = "f";
		t[i].func_len = 1;
		t[i].data = "payload";
		t[i].data_len = 7;
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
	memset(&t, 0, sizeof(t));
	t.func = "f";
	t.func_len = 1;
	t.data = payload;
	t.data_len = sizeof(payload);
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
	memset(&t, 0, sizeof(t));
	t.func = "f";
	t.func_len = 1;
	t.data = "0123456789012345678901234567890123456789";
	t.data_len = 40;
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
	char	 cmd[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	base = event_base_new();
	test_crc();
	test_memory();
	test_round_trip();
	test_torn_tail();
	test_damage();
	test_version();
	test_lock();
	test_compaction();
	test_compaction_crash();
	test_torn_header();
	test_sync_modes();
	test_write_error();
	test_full_disk();
	test_replay_dead();
	test_latency();
	test_replay_many();
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", top);
	return tap_done();
}
