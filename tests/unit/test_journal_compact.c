/* Public domain. See README.md for the licence of this project. */
/* Unit tests of journal compaction, and of a crash in the middle of one. */

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

#include "journal_helper.h"
#include "tap.h"

/* Record a fate for job id: state, tries and error "e<id>\n\001". */
static void
set_fate(struct journal *j, uint64_t id, int state, uint32_t tries)
{
	struct journal_fate	 jf;
	char			 e[32];

	memset(&jf, 0, sizeof(jf));
	snprintf(e, sizeof(e), "e%llu\n\001", (unsigned long long)id);
	jf.state = state;
	jf.tries = tries;
	jf.due = 1000000 + (int64_t)id;
	jf.first = 1;
	jf.last = 2;
	jf.error = e;
	jf.error_len = strlen(e);
	journal_fate(j, id, &jf);
}

/* Whether a replayed job carries the fate set_fate gave it. */
static int
has_fate(const struct tjob *t, int state, uint32_t tries)
{
	char	 e[32];

	snprintf(e, sizeof(e), "e%llu\n\001", (unsigned long long)t->id);
	if (state == JOURNAL_FATE_QUEUED)
		return t->fate == 0 && t->error_len == 0;
	return t->fate == state && t->tries == tries &&
	    t->due == 1000000 + (int64_t)t->id && t->error_len == strlen(e) &&
	    memcmp(t->error, e, t->error_len) == 0;
}

static void
test_compaction(void)
{
	struct journal		*j;
	struct journal_stats	 st;
	struct got		*g;
	struct donearg		 d;
	struct seen		 s = { 0 };
	struct tjob		 t, bt;
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
		if (i % 30 == 0 || i % 70 == 0 || i % 7 == 0)
			set_fate(j, ids[i], JOURNAL_FATE_FAILED, 9);
		if (i % 10 != 0)
			journal_end(j, ids[i], JOURNAL_END_COMPLETE);
		else if (i % 20 == 0)
			journal_attempt(j, ids[i], 4);
		if (i % 30 == 0)
			set_fate(j, ids[i], JOURNAL_FATE_RETRY, 3);
		else if (i % 50 == 0)
			set_fate(j, ids[i], JOURNAL_FATE_QUEUED, 0);
	}
	/* A broadcast job (a TADD record) stays live through compaction. */
	tjob_init(&bt, "up", "b", 1);
	bt.target = "web3";
	bt.target_len = 4;
	d.s = &s;
	d.k = 0;
	add_job(j, &bt, 1, &d);
	ok(run_until(&s.n, 1), "a targeted job added");
	s.n = 0;
	tjob_init(&t, "after", "z", 1);
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
	is_int(st.live, 101, "stats: 101 live");
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
	is_int(journal_replay(j, on_replay, g), 101,
	    "exactly the live set replays");
	good = g->n == 101;
	for (k = 0; good && k < 100; k++) {
		i = k * 10;
		if (g->j[k].id != ids[i] ||
		    g->j[k].attempts != (i % 20 == 0 ? 4U : 0U))
			good = 0;
		/* The last fate only; ended jobs' fates are gone. */
		if (i % 30 == 0 ? !has_fate(&g->j[k], JOURNAL_FATE_RETRY, 3) :
		    i % 50 == 0 ? !has_fate(&g->j[k], JOURNAL_FATE_QUEUED, 0) :
		    i % 70 == 0 ? !has_fate(&g->j[k], JOURNAL_FATE_FAILED, 9) :
		    !has_fate(&g->j[k], JOURNAL_FATE_QUEUED, 0))
			good = 0;
	}
	ok(good, "in order, with their ids, attempt counts and last fates");
	ok(g->n == 101 && same_job(&g->j[100], &bt),
	    "the targeted job comes back whole, with its target");
	journal_close(j);
	got_free(g);
	free(g);
	free(dir);
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

int
main(void)
{
	jt_begin();
	test_compaction();
	test_compaction_crash();
	jt_end();
	return tap_done();
}
