/* Public domain. See README.md for the licence of this project. */
/* Unit tests of the journal's on-disk format, on bytes in memory only. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cmd/gm-server/journal_format.h"
#include "tap.h"

/* What seg_scan reported: the offsets and ids of the records. */
struct seen {
	int		 n;
	size_t		 off[64];
	uint64_t	 id[64];
	int		 type[64];
};

static void
on_rec(const struct jrec *r, size_t off, void *arg)
{
	struct seen	*s = arg;

	s->off[s->n] = off;
	s->id[s->n] = r->id;
	s->type[s->n++] = r->type;
}

/* Append a sealed ADD record of job id with payload data to b. */
static size_t
put_add(struct jbuf *b, uint64_t id, const char *data)
{
	struct jrec	 r;
	uint8_t		*p;
	size_t		 off = b->len, body;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.prio = 1;
	r.func = (const uint8_t *)"f";
	r.func_len = 1;
	r.unique = (const uint8_t *)"u";
	r.unique_len = 1;
	r.data_len = strlen(data);
	body = rec_add_size(&r);
	p = jbuf_grow(b, REC_HDR + body);
	memcpy(rec_add_put(p + REC_HDR, &r), data, r.data_len);
	rec_seal(p, body);
	return off;
}

/* Append a sealed END record of job id to b. */
static size_t
put_end(struct jbuf *b, uint64_t id)
{
	uint8_t	*p;
	size_t	 off = b->len;

	p = jbuf_grow(b, REC_HDR + END_LEN);
	rec_end_put(p + REC_HDR, id, 0);
	rec_seal(p, END_LEN);
	return off;
}

/* A segment with a header and three ADD records; offsets in off[]. */
static void
mkseg(struct jbuf *b, size_t off[3])
{
	memset(b, 0, sizeof(*b));
	hdr_make(jbuf_grow(b, HDR_SIZE), 0, 1);
	off[0] = put_add(b, 1, "one");
	off[1] = put_add(b, 2, "two");
	off[2] = put_add(b, 3, "three");
}

static void
test_crc(void)
{
	is_int(journal_crc32c(0, "123456789", 9), 0xe3069283U,
	    "CRC32C of \"123456789\" is e3069283");
	is_int(journal_crc32c(journal_crc32c(0, "1234", 4), "56789", 5),
	    0xe3069283U, "CRC32C continues across calls");
	is_int(journal_crc32c_sw(0, "123456789", 9), 0xe3069283U,
	    "the tables give the same");
}

/*
 * The CRC32C in use (the crc32 instruction where there is one) and the
 * tables agree on every length and alignment.
 */
static void
test_crc_same(void)
{
	uint8_t		 buf[300 + 8];
	size_t		 n, a;
	uint32_t	 seed = 1;
	int		 same = 1;

	for (n = 0; n < sizeof(buf); n++) {
		seed = seed * 1103515245 + 12345;
		buf[n] = seed >> 16;
	}
	for (a = 0; a < 8; a++)
		for (n = 0; n <= 300; n++)
			if (journal_crc32c(0x1234, buf + a, n) !=
			    journal_crc32c_sw(0x1234, buf + a, n))
				same = 0;
	ok(same, "the CRC32C in use equals the tables' over lengths 0-300 at "
	    "every alignment");
}

static void
test_records(void)
{
	struct jbuf	 b = { NULL, 0, 0 };
	struct jrec	 w, r;
	const char	*why;
	uint8_t		*p;
	size_t		 body, n;

	memset(&w, 0, sizeof(w));
	w.id = 0x0102030405060708ULL;
	w.prio = 2;
	w.when = -5;
	w.attempts = 7;
	w.func = (const uint8_t *)"func";
	w.func_len = 4;
	w.unique = (const uint8_t *)"uniq";
	w.unique_len = 4;
	w.reducer = (const uint8_t *)"";
	w.reducer_len = 0;
	w.data_len = 3;
	body = rec_add_size(&w);
	is_int(body, ADD_FIXED + 11, "ADD body: fixed part and the strings");
	p = jbuf_grow(&b, REC_HDR + body);
	memcpy(rec_add_put(p + REC_HDR, &w), "abc", 3);
	rec_seal(p, body);
	n = rec_parse(b.b, b.len, &r, &why);
	is_int(n, REC_HDR + body, "a sealed ADD parses whole");
	ok(r.type == REC_ADD && r.id == w.id && r.prio == 2 && r.when == -5 &&
	    r.attempts == 7, "its fixed fields come back");
	ok(r.func_len == 4 && memcmp(r.func, "func", 4) == 0 &&
	    r.unique_len == 4 && memcmp(r.unique, "uniq", 4) == 0 &&
	    r.data_len == 3 && memcmp(r.data, "abc", 3) == 0,
	    "its strings and payload come back");
	ok(r.reducer != NULL && r.reducer_len == 0,
	    "an empty reducer stays empty, not missing");

	rec_copy_add(&b, b.b, 9);
	n = rec_parse(b.b + REC_HDR + body, b.len - REC_HDR - body, &r, &why);
	ok(n == REC_HDR + body && r.attempts == 9 && r.id == w.id,
	    "a copied ADD is resealed with its new attempt count");

	ok(rec_parse(b.b, 5, &r, &why) == 0 &&
	    strcmp(why, "record header cut short") == 0, "header cut short");
	ok(rec_parse(b.b, REC_HDR + body - 1, &r, &why) == 0 &&
	    strcmp(why, "record cut short") == 0, "body cut short");
	b.b[REC_HDR + 12] ^= 1;
	ok(rec_parse(b.b, b.len, &r, &why) == 0 &&
	    strcmp(why, "checksum mismatch") == 0, "a flipped bit: checksum");
	b.b[REC_HDR + 12] ^= 1;
	le_put32(b.b, 3);
	ok(rec_parse(b.b, b.len, &r, &why) == 0 &&
	    strcmp(why, "bad record length") == 0, "a length below END_LEN");
	b.b[REC_HDR + 9] = 3;		/* priority 3 */
	rec_seal(b.b, body);
	ok(rec_parse(b.b, b.len, &r, &why) == 0 &&
	    strcmp(why, "malformed record") == 0,
	    "a sealed record with a bad priority is malformed");
	b.b[REC_HDR] = 9;		/* no such type */
	rec_seal(b.b, body);
	ok(rec_parse(b.b, b.len, &r, &why) == 0 &&
	    strcmp(why, "malformed record") == 0, "an unknown type too");

	b.len = 0;
	p = jbuf_grow(&b, REC_HDR + ATTEMPT_LEN);
	rec_attempt_put(p + REC_HDR, 42, 3);
	rec_seal(p, ATTEMPT_LEN);
	ok(rec_parse(b.b, b.len, &r, &why) == REC_HDR + ATTEMPT_LEN &&
	    r.type == REC_ATTEMPT && r.id == 42 && r.attempts == 3,
	    "an ATTEMPT record round-trips");
	b.len = 0;
	put_end(&b, 43);
	ok(rec_parse(b.b, b.len, &r, &why) == REC_HDR + END_LEN &&
	    r.type == REC_END && r.id == 43, "an END record round-trips");
	free(b.b);
}

/* A TADD: an ADD for one member, parsed as an ADD with its target. */
static void
test_target(void)
{
	struct jbuf	 b = { 0 };
	struct jrec	 w, r;
	const char	*why;
	uint8_t		*p;
	size_t		 body, n;

	memset(&w, 0, sizeof(w));
	w.id = 42;
	w.prio = 1;
	w.func = (const uint8_t *)"up";
	w.func_len = 2;
	w.unique = (const uint8_t *)"u";
	w.unique_len = 1;
	w.reducer = (const uint8_t *)"rd";
	w.reducer_len = 2;
	w.target = (const uint8_t *)"web3";
	w.target_len = 4;
	w.data_len = 6;
	body = rec_add_size(&w);
	is_int(body, TADD_FIXED + 15, "TADD body: fixed part, strings, target");
	p = jbuf_grow(&b, REC_HDR + body);
	memcpy(rec_add_put(p + REC_HDR, &w), "uptime", 6);
	rec_seal(p, body);
	is_int(p[REC_HDR], REC_TADD, "a job with a target is written as TADD");
	n = rec_parse(b.b, b.len, &r, &why);
	ok(n == REC_HDR + body && r.type == REC_ADD && r.id == 42 &&
	    r.target_len == 4 && memcmp(r.target, "web3", 4) == 0 &&
	    r.reducer_len == 2 && memcmp(r.reducer, "rd", 2) == 0 &&
	    r.data_len == 6 && memcmp(r.data, "uptime", 6) == 0 &&
	    r.func_len == 2 && memcmp(r.func, "up", 2) == 0,
	    "it parses as an ADD with its target, reducer and payload");
	rec_copy_add(&b, b.b, 5);
	n = rec_parse(b.b + REC_HDR + body, b.len - REC_HDR - body, &r, &why);
	ok(n == REC_HDR + body && r.attempts == 5 && r.target_len == 4 &&
	    memcmp(r.target, "web3", 4) == 0,
	    "a copied TADD keeps its target");
	le_put32(b.b + REC_HDR + ADD_FIXED, 5);
	rec_seal(b.b, body);
	ok(rec_parse(b.b, b.len, &r, &why) == 0 &&
	    strcmp(why, "malformed record") == 0,
	    "a target length that does not add up is malformed");
	free(b.b);

	memset(&b, 0, sizeof(b));
	w.target = NULL;
	w.target_len = 0;
	body = rec_add_size(&w);
	p = jbuf_grow(&b, REC_HDR + body);
	memcpy(rec_add_put(p + REC_HDR, &w), "uptime", 6);
	rec_seal(p, body);
	ok(p[REC_HDR] == REC_ADD && body == ADD_FIXED + 11 &&
	    rec_parse(b.b, b.len, &r, &why) != 0 && r.target == NULL,
	    "a job without one is still a plain ADD");
	free(b.b);
}

static void
test_header(void)
{
	struct jhdr	 hd;
	uint8_t		 h[HDR_SIZE];

	hdr_make(h, HDR_BASE, 77);
	ok(hdr_parse(h, sizeof(h), &hd) == JHDR_OK && hd.flags == HDR_BASE &&
	    hd.next_id == 77 && hd.version == JOURNAL_VERSION,
	    "a header round-trips");
	is_int(hdr_parse(h, HDR_SIZE - 1, &hd), JHDR_SHORT, "short header");
	is_int(hdr_parse(h, 0, &hd), JHDR_SHORT, "empty file");
	h[20] ^= 1;
	is_int(hdr_parse(h, sizeof(h), &hd), JHDR_CHECKSUM,
	    "a flipped bit in the header");
	h[20] ^= 1;
	h[0] = 'X';
	is_int(hdr_parse(h, sizeof(h), &hd), JHDR_MAGIC, "wrong magic");
	hdr_make(h, 0, 1);
	le_put32(h + 8, JOURNAL_VERSION + 1);
	le_put32(h + HDR_CRC_OFF, journal_crc32c(0, h, HDR_CRC_OFF));
	ok(hdr_parse(h, sizeof(h), &hd) == JHDR_VERSION &&
	    hd.version == JOURNAL_VERSION + 1, "a newer version is named");
}

/* Scan b as the newest segment (or not); count the records seen. */
static int
scan(struct jbuf *b, int last, int repair, struct seen *s, struct jscan *sc,
    char **cause)
{
	memset(s, 0, sizeof(*s));
	*cause = NULL;
	return seg_scan(b->b, b->len, last, repair, "seg", on_rec, s, sc,
	    cause);
}

static void
test_scan(void)
{
	struct jbuf	 b;
	struct jscan	 sc;
	struct seen	 s;
	size_t		 off[3], end;
	char		*cause;

	mkseg(&b, off);
	put_end(&b, 2);
	end = b.len;
	ok(scan(&b, 1, 0, &s, &sc, &cause) == 0 && s.n == 4 &&
	    sc.records == 4 && sc.tail == JTAIL_END && sc.keep == end &&
	    sc.damage == JDAMAGE_NONE, "a clean segment: every record");
	ok(s.off[0] == off[0] && s.off[2] == off[2] && s.id[3] == 2 &&
	    s.type[3] == REC_END, "with their offsets, ids and types");

	memset(jbuf_grow(&b, 4096), 0, 4096);
	ok(scan(&b, 1, 0, &s, &sc, &cause) == 0 && s.n == 4 &&
	    sc.tail == JTAIL_ZEROS && sc.keep == end,
	    "zeros written ahead of appends are kept for them");
	b.len = end;

	/* The last record cut short by the end of the file. */
	b.len = off[2] + 12;
	ok(scan(&b, 1, 0, &s, &sc, &cause) == 0 && s.n == 2 &&
	    sc.tail == JTAIL_TORN && sc.keep == off[2],
	    "newest segment: a record cut short at the end is torn");
	ok(scan(&b, 0, 0, &s, &sc, &cause) == -1 && cause != NULL &&
	    strstr(cause, "seg: damaged record at offset") != NULL,
	    "an older segment: the same is damage (%s)", cause);
	free(cause);
	b.len = end;

	/* Damage in the middle. */
	b.b[off[1] + 20] ^= 0x40;
	ok(scan(&b, 1, 0, &s, &sc, &cause) == -1 && cause != NULL &&
	    s.n == 1, "damage in the middle stops the scan");
	if (cause != NULL) {
		char	 want[128];

		snprintf(want, sizeof(want), "journal seg: damaged record at "
		    "offset %zu (checksum mismatch)", off[1]);
		ok(strstr(cause, want) != NULL &&
		    strstr(cause, "--journal-repair") != NULL,
		    "naming the offset and --journal-repair");
		free(cause);
	}
	ok(scan(&b, 1, 1, &s, &sc, &cause) == 0 && s.n == 3 &&
	    s.id[1] == 3 && sc.damage == JDAMAGE_RECORDS,
	    "with repair the damaged record is skipped, the rest kept");
	free(b.b);
}

/*
 * The newest segment b must be refused with why in the message, and still
 * when zeros written ahead of appends follow (they are added to b).
 */
static void
refused(struct jbuf *b, const char *why, const char *what)
{
	struct jscan	 sc;
	struct seen	 s;
	char		*cause;

	ok(scan(b, 1, 0, &s, &sc, &cause) == -1 && cause != NULL &&
	    strstr(cause, why) != NULL, "%s (%s)", what,
	    cause ? cause : "started");
	free(cause);
	memset(jbuf_grow(b, 4096), 0, 4096);
	ok(scan(b, 1, 0, &s, &sc, &cause) == -1 && cause != NULL &&
	    strstr(cause, why) != NULL, "%s, with zeros after it", what);
	free(cause);
}

/*
 * The newest segment's last record: only one whose write was cut short
 * (bytes past the end of the file, or zeros from inside it to the end)
 * may be dropped; one whose bytes are all there is damage.
 */
static void
test_tail(void)
{
	struct jbuf	 b;
	struct jscan	 sc;
	struct seen	 s;
	size_t		 off[3], rlen;
	char		*cause;

	mkseg(&b, off);
	rlen = b.len - off[2];

	b.b[off[2] + 20] ^= 0x40;
	refused(&b, "checksum mismatch",
	    "a whole last record with a wrong checksum is damage");
	ok(scan(&b, 1, 1, &s, &sc, &cause) == 0 && s.n == 2 &&
	    sc.damage == JDAMAGE_RECORDS, "repair salvages the others");
	b.b[off[2] + 20] ^= 0x40;

	/* Written only in part over the zeros: a crash during the write. */
	memset(b.b + off[2] + 20, 0, rlen - 20);
	ok(scan(&b, 1, 0, &s, &sc, &cause) == 0 && s.n == 2 &&
	    sc.tail == JTAIL_TORN && sc.keep == off[2],
	    "a last record whose end was never written is torn");
	free(b.b);

	/* A damaged length field: the record is whole, its length is not. */
	mkseg(&b, off);
	b.b[off[2] + 1] ^= 0x01;
	refused(&b, "damaged record length",
	    "a last record with a damaged length is damage");
	free(b.b);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_crc();
	test_crc_same();
	test_records();
	test_target();
	test_header();
	test_scan();
	test_tail();
	return tap_done();
}
