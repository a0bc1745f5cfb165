/* Public domain. See README.md for the licence of this project. */
/* Helpers the journal's unit tests share (see journal_helper.h). */

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "journal_helper.h"

struct event_base	*base;
char			 top[] = "/tmp/gm-journal-test.XXXXXX";

/* Make the scratch directory and the event base; exit if impossible. */
void
jt_begin(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	base = event_base_new();
}

/* Remove the scratch directory and the event base. */
int
jt_end(void)
{
	char	 cmd[128];

	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", top);
	return 0;
}

void
on_done2(int err, void *arg)
{
	struct donearg	*d = arg;

	d->s->order[d->s->n] = d->k;
	d->s->err[d->s->n++] = err;
}

char *
dup_mem(const void *p, size_t n)
{
	char	*d = malloc(n + 1);

	if (n > 0)
		memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

void
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
	if (jj->target != NULL) {
		t->target = dup_mem(jj->target, jj->target_len);
		t->target_len = jj->target_len;
	}
	t->data = dup_mem(jj->data_ptr, jj->data_len);
	t->data_len = jj->data_len;
	t->fate = jj->fate;
	t->tries = jj->tries;
	t->due = jj->due;
	t->error = dup_mem(jj->error, jj->error_len);
	t->error_len = jj->error_len;
}

void
got_free(struct got *g)
{
	int	 i;

	for (i = 0; i < g->n; i++) {
		free(g->j[i].func);
		free(g->j[i].unique);
		free(g->j[i].reducer);
		free(g->j[i].target);
		free(g->j[i].data);
		free(g->j[i].error);
	}
	g->n = 0;
}

/* Run the loop until *n reaches want or 20 s pass. */
int
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
char *
newdir(const char *name)
{
	char	*d;

	if (asprintf(&d, "%s/%s", top, name) == -1)
		abort();
	return d;
}

struct journal *
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

/*
 * Open dir (repair: as --journal-repair), replay it and close it: how many
 * jobs it holds, or -1 when it does not open (the cause is printed as a
 * TAP comment).
 */
int
replay_count(const char *dir, int repair)
{
	struct journal	*j;
	struct got	*g;
	char		*cause;
	int		 n;

	if ((j = jopen(dir, JOURNAL_SYNC_ALWAYS, repair, &cause)) == NULL) {
		printf("# %s\n", cause != NULL ? cause : "no cause");
		free(cause);
		return -1;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL)
		abort();
	n = journal_replay(j, on_replay, g);
	journal_close(j);
	got_free(g);
	free(g);
	return n;
}

/*
 * Does opening dir (repair: as --journal-repair) fail with a cause that
 * holds want, and also (unless NULL)?  The cause is printed as a TAP
 * comment.
 */
int
open_refused(const char *dir, int repair, const char *want, const char *also)
{
	struct journal	*j;
	char		*cause;
	int		 refused;

	j = jopen(dir, JOURNAL_SYNC_ALWAYS, repair, &cause);
	refused = j == NULL && cause != NULL && strstr(cause, want) != NULL &&
	    (also == NULL || strstr(cause, also) != NULL);
	printf("# %s\n", cause != NULL ? cause : "started");
	journal_close(j);
	free(cause);
	return refused;
}

/* Make t a new job of func with dlen bytes of data, no unique id. */
void
tjob_init(struct tjob *t, char *func, char *data, size_t dlen)
{
	memset(t, 0, sizeof(*t));
	t->func = func;
	t->func_len = strlen(func);
	t->data = data;
	t->data_len = dlen;
}

/* Add t to j with payload in an evbuffer (or data_ptr when ptr is set). */
int
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
	jj.target = t->target;
	jj.target_len = t->target_len;
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

int
same_job(const struct tjob *a, const struct tjob *b)
{
	if (a->id != b->id || a->prio != b->prio || a->when != b->when ||
	    a->attempts != b->attempts || a->func_len != b->func_len ||
	    a->unique_len != b->unique_len || a->data_len != b->data_len)
		return 0;
	if ((a->reducer == NULL) != (b->reducer == NULL) ||
	    a->reducer_len != b->reducer_len)
		return 0;
	if ((a->target == NULL) != (b->target == NULL) ||
	    a->target_len != b->target_len || (a->target != NULL &&
	    memcmp(a->target, b->target, a->target_len) != 0))
		return 0;
	/* Empty strings may be NULL (tjob_init gives no unique id). */
	return memcmp(a->func, b->func, a->func_len) == 0 &&
	    (a->unique_len == 0 ||
	    memcmp(a->unique, b->unique, a->unique_len) == 0) &&
	    (a->reducer == NULL ||
	    memcmp(a->reducer, b->reducer, a->reducer_len) == 0) &&
	    (a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0);
}

/* Path of the newest segment in dir (static buffer). */
const char *
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
int
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

off_t
file_size(const char *path)
{
	struct stat	 sb;

	return stat(path, &sb) == -1 ? -1 : sb.st_size;
}

/* Offset of the k-th record (from 0) of a segment file. */
off_t
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

/* Write n small jobs to dir and close; return their ids in ids. */
int
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
		snprintf(buf, sizeof(buf), "job-%d", i);
		tjob_init(&t, "f", buf, strlen(buf));
		t.unique = buf;
		t.unique_len = strlen(buf);
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

/* Copy file from to to. */
int
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

/* Flip one bit of the byte at off in path; 0 or -1. */
int
flip_byte(const char *path, off_t off)
{
	char	 c;
	int	 fd, rc = -1;

	if ((fd = open(path, O_RDWR)) == -1)
		return -1;
	if (pread(fd, &c, 1, off) == 1) {
		c ^= 0x40;
		if (pwrite(fd, &c, 1, off) == 1)
			rc = 0;
	}
	close(fd);
	return rc;
}
