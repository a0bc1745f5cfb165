/* Public domain. See README.md for the licence of this project. */
/* Unit tests of the journal: torn tails, damage, repair, versions. */

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

#include "../../cmd/gm-server/journal_format.h"
#include "journal_helper.h"
#include "tap.h"

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
	is_int(replay_count(dir, 0), 5, "the new job follows cleanly");
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
	free(g);
	is_int(replay_count(dir, 0), 4, "the repaired journal opens without "
	    "--journal-repair, with the 4 jobs");
	free(dir);
}

static void
test_version(void)
{
	unsigned char	 h[32];
	char		*dir, path[1024];
	uint32_t	 crc;
	int		 fd;

	dir = newdir("version");
	ok(fill(dir, 1, NULL, JOURNAL_SYNC_ALWAYS), "1 job written");
	snprintf(path, sizeof(path), "%s", last_seg(dir));
	fd = open(path, O_RDWR);
	ok(fd != -1 && pread(fd, h, 32, 0) == 32, "read the header");
	h[8] = JOURNAL_VERSION + 1;
	crc = journal_crc32c(0, h, 28);
	h[28] = crc;
	h[29] = crc >> 8;
	h[30] = crc >> 16;
	h[31] = crc >> 24;
	ok(pwrite(fd, h, 32, 0) == 32, "make it format version %d",
	    JOURNAL_VERSION + 1);
	close(fd);
	ok(open_refused(dir, 1, "format version 4 is not supported", path),
	    "an unknown version is refused, even with repair");
	free(dir);
}

/* Append a sealed ADD record (a TADD with target) of job id to b. */
static void
old_add(struct jbuf *b, uint64_t id, const char *data, const char *target)
{
	struct jrec	 r;
	uint8_t		*p;
	size_t		 body;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.prio = 1;
	r.func = (const uint8_t *)"f";
	r.func_len = 1;
	r.data_len = strlen(data);
	if (target != NULL) {
		r.target = (const uint8_t *)target;
		r.target_len = strlen(target);
	}
	body = rec_add_size(&r);
	p = jbuf_grow(b, REC_HDR + body);
	memcpy(rec_add_put(p + REC_HDR, &r), data, r.data_len);
	rec_seal(p, body);
}

/*
 * Journals written by older servers replay: version 1 (ADD, ATTEMPT,
 * END) and version 2 (FATE too), made here byte by byte as those servers
 * wrote them; a targeted job added later joins them and all replay.
 */
static void
test_old_versions(void)
{
	struct journal	*j;
	struct got	*g;
	struct jbuf	 b;
	struct jrec	 fr;
	struct tjob	 t;
	struct donearg	 d;
	struct seen	 s = { 0 };
	uint32_t	 v, crc;
	char		*dir, *cause, path[1024], name[16];
	int		 fd;
	uint8_t		*p;

	g = calloc(1, sizeof(*g));
	for (v = 1; v <= 2; v++) {
		snprintf(name, sizeof(name), "old-v%u", v);
		dir = newdir(name);
		ok(mkdir(dir, 0700) == 0, "version %u: a directory", v);
		memset(&b, 0, sizeof(b));
		hdr_make(jbuf_grow(&b, HDR_SIZE), 0, 1);
		le_put32(b.b + 8, v);
		crc = journal_crc32c(0, b.b, HDR_CRC_OFF);
		le_put32(b.b + HDR_CRC_OFF, crc);
		old_add(&b, 1, "one", NULL);
		old_add(&b, 2, "two", NULL);
		old_add(&b, 3, "three", NULL);
		p = jbuf_grow(&b, REC_HDR + END_LEN);
		rec_end_put(p + REC_HDR, 1, JOURNAL_END_COMPLETE);
		rec_seal(p, END_LEN);
		if (v == 2) {
			memset(&fr, 0, sizeof(fr));
			fr.id = 3;
			fr.state = JOURNAL_FATE_FAILED;
			fr.attempts = 2;
			fr.first = fr.last = 1000;
			fr.error = (const uint8_t *)"bad";
			fr.error_len = 3;
			p = jbuf_grow(&b, REC_HDR + FATE_FIXED + 3);
			rec_fate_put(p + REC_HDR, &fr);
			rec_seal(p, FATE_FIXED + 3);
		}
		snprintf(path, sizeof(path), "%s/seg-%016x.jnl", dir, 1);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		ok(fd != -1 && write(fd, b.b, b.len) == (ssize_t)b.len &&
		    close(fd) == 0, "version %u: a segment written", v);
		free(b.b);

		j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
		ok(j != NULL, "version %u: it opens (%s)", v,
		    cause ? cause : "");
		if (j == NULL)
			continue;
		is_int(journal_replay(j, on_replay, g), 2,
		    "version %u: its 2 live jobs replay", v);
		ok(g->n == 2 && g->j[0].id == 2 && strcmp(g->j[0].data,
		    "two") == 0 && g->j[1].id == 3 && strcmp(g->j[1].data,
		    "three") == 0 && g->j[0].target == NULL &&
		    g->j[1].target == NULL,
		    "version %u: as written, with no target", v);
		ok(v == 1 || (g->j[1].fate == JOURNAL_FATE_FAILED &&
		    g->j[1].tries == 2 && strcmp(g->j[1].error, "bad") == 0),
		    "version %u: the failed job's fate replays", v);
		got_free(g);
		tjob_init(&t, "f", "four", 4);
		t.target = "web3";
		t.target_len = 4;
		d.s = &s;
		d.k = 0;
		s.n = 0;
		ok(add_job(j, &t, 1, &d) == 1 && run_until(&s.n, 1) &&
		    s.err[0] == 0, "version %u: a targeted job added", v);
		journal_close(j);
		j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
		ok(j != NULL && journal_replay(j, on_replay, g) == 3 &&
		    g->j[0].target == NULL && g->j[2].id == t.id &&
		    g->j[2].target != NULL && strcmp(g->j[2].target,
		    "web3") == 0 && strcmp(g->j[2].data, "four") == 0,
		    "version %u: old jobs and the targeted one replay", v);
		if (j != NULL)
			journal_close(j);
		got_free(g);
		free(cause);
		free(dir);
	}
	free(g);
}

/*
 * A segment shorter than its header: a new segment appears whole (it is
 * written under a temp name first), so this is damage, not a crash.
 */
static void
test_short_segment(void)
{
	struct journal	*j;
	char		*dir, *cause, path[1024], want[1200];
	int		 fd;

	dir = newdir("short-segment");
	ok(fill(dir, 3, NULL, JOURNAL_SYNC_ALWAYS), "3 jobs written");
	is_int(count_files(dir, ".tmp"), 0, "no temp file is left");
	snprintf(path, sizeof(path), "%s/seg-00000000000000ff.jnl", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ok(fd != -1 && write(fd, "gmjou", 5) == 5, "a newest segment of 5 "
	    "bytes");
	close(fd);
	snprintf(want, sizeof(want), "journal %s: damaged header at offset 0 "
	    "(file too short)", path);
	ok(open_refused(dir, 0, want, "--journal-repair"),
	    "a short newest segment stops the start");
	is_int(replay_count(dir, 1), 3, "--journal-repair starts, 3 jobs "
	    "replay");
	is_int(count_files(dir, "ff.jnl.damaged"), 1, "the short segment is "
	    "kept aside");
	ok(fill(dir, 1, NULL, JOURNAL_SYNC_ALWAYS), "appends go on");
	is_int(replay_count(dir, 0), 4, "4 jobs replay");

	/* A leftover temp file of a segment being created goes. */
	snprintf(path, sizeof(path), "%s/segment.tmp", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	j = jopen(dir, JOURNAL_SYNC_ALWAYS, 0, &cause);
	ok(j != NULL && file_size(path) == -1, "an unfinished segment.tmp "
	    "is removed at open");
	journal_close(j);
	free(dir);
}

/* The only segment cut to 0 bytes: every job in it would be lost. */
static void
test_empty_segment(void)
{
	char		*dir, seg[1024], want[1200];

	dir = newdir("empty-segment");
	ok(fill(dir, 3, NULL, JOURNAL_SYNC_ALWAYS), "3 jobs written");
	snprintf(seg, sizeof(seg), "%s", last_seg(dir));
	ok(truncate(seg, 0) == 0, "cut the segment to 0 bytes");
	snprintf(want, sizeof(want), "journal %s: damaged header at offset 0 "
	    "(file too short)", seg);
	ok(open_refused(dir, 0, want, NULL),
	    "a segment of 0 bytes stops the start");
	is_int(file_size(seg), 0, "the file is left as it is");
	is_int(replay_count(dir, 1), 0, "--journal-repair starts, with no "
	    "job");
	is_int(count_files(dir, ".damaged"), 1, "the empty file is kept aside");
	free(dir);
}

/* A whole last record with a wrong checksum was acknowledged: damage. */
static void
test_last_record(void)
{
	char		*dir, seg[1024], want[1200];
	off_t		 r4;

	dir = newdir("last-record");
	ok(fill(dir, 5, NULL, JOURNAL_SYNC_ALWAYS), "5 jobs written");
	snprintf(seg, sizeof(seg), "%s", last_seg(dir));
	r4 = rec_offset(seg, 4);
	is_int(file_size(seg), rec_offset(seg, 5), "the last record ends "
	    "the file");
	ok(flip_byte(seg, r4 + 20) == 0, "flip a bit in the last record");
	snprintf(want, sizeof(want), "journal %s: damaged record at offset "
	    "%lld (checksum mismatch)", seg, (long long)r4);
	ok(open_refused(dir, 0, want, NULL),
	    "it stops the start, naming file and offset");
	is_int(file_size(seg), rec_offset(seg, 5), "nothing was cut off");

	/* The same with a damaged length field. */
	ok(flip_byte(seg, r4 + 20) == 0 && flip_byte(seg, r4 + 1) == 0,
	    "restore it, damage its length instead");
	ok(open_refused(dir, 0, "damaged record length", NULL),
	    "a damaged length stops the start too");

	is_int(replay_count(dir, 1), 4, "--journal-repair starts, the other "
	    "4 jobs are salvaged");
	free(dir);
}

int
main(void)
{
	jt_begin();
	test_torn_tail();
	test_damage();
	test_version();
	test_old_versions();
	test_short_segment();
	test_empty_segment();
	test_last_record();
	jt_end();
	return tap_done();
}
