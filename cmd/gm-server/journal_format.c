/* Public domain. See README.md for the licence of this project. */
/* The journal's on-disk format: checksums, records, headers, the scan. */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal_format.h"
#include "log.h"
#include "xmalloc.h"

/*
 * On x86-64 the CRC32C comes from the SSE4.2 crc32 instruction when the
 * processor has it: the same checksum as the tables at a tenth of the
 * instructions, and the checksum of every record was the largest cost of
 * the journal per job.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define CRC_HW	1
static uint32_t	 crc_hw(uint32_t, const uint8_t *, size_t);
#endif

static uint32_t	 crc_tab[8][256];
static int	 crc_have_hw;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* Fill the CRC32C (Castagnoli) tables for slicing by 8; look for SSE4.2. */
static void
crc_init(void)
{
	uint32_t	 c;
	int		 i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78U : c >> 1;
		crc_tab[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (k = 1; k < 8; k++)
			crc_tab[k][i] = (crc_tab[k - 1][i] >> 8) ^
			    crc_tab[0][crc_tab[k - 1][i] & 0xff];
#ifdef CRC_HW
	crc_have_hw = __builtin_cpu_supports("sse4.2");
#endif
}

#ifdef CRC_HW
/* Continue an inverted CRC32C over n bytes with the crc32 instruction. */
__attribute__((target("sse4.2")))
static uint32_t
crc_hw(uint32_t crc, const uint8_t *p, size_t n)
{
	uint64_t	 c = crc, v;

	while (n >= 8) {
		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
		p += 8;
		n -= 8;
	}
	while (n-- > 0)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

/* Continue CRC32C crc over n bytes with the tables only; start with 0. */
uint32_t
journal_crc32c_sw(uint32_t crc, const void *buf, size_t n)
{
	const uint8_t	*p = buf;
	uint32_t	 lo, hi;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (n >= 8) {
		lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
		    (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		    crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^
		    crc_tab[3][hi & 0xff] ^ crc_tab[2][(hi >> 8) & 0xff] ^
		    crc_tab[1][(hi >> 16) & 0xff] ^ crc_tab[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n-- > 0)
		crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* Continue CRC32C crc over n bytes; start with 0. */
uint32_t
journal_crc32c(uint32_t crc, const void *buf, size_t n)
{
	pthread_once(&crc_once, crc_init);
#ifdef CRC_HW
	if (crc_have_hw)
		return ~crc_hw(~crc, buf, n);
#endif
	return journal_crc32c_sw(crc, buf, n);
}

/* Make room for n more bytes at the end of b and return where they go. */
uint8_t *
jbuf_grow(struct jbuf *b, size_t n)
{
	uint8_t	*p;
	size_t	 cap;

	if (b->cap - b->len < n) {
		cap = b->cap ? b->cap : 65536;
		while (cap - b->len < n)
			cap *= 2;
		b->b = xreallocarray(b->b, cap, 1);
		b->cap = cap;
	}
	p = b->b + b->len;
	b->len += n;
	return p;
}

/*
 * Length of the body of ADD record r (data_len bytes of payload): a TADD
 * when r has a target.
 */
size_t
rec_add_size(const struct jrec *r)
{
	return (size_t)ADD_FIXED + r->func_len + r->unique_len +
	    (r->reducer != NULL ? r->reducer_len : 0) +
	    (r->target != NULL ? 4 + (size_t)r->target_len : 0) + r->data_len;
}

/*
 * Write the body of ADD record r at b (a TADD when r has a target), all
 * but the payload; return where its data_len bytes of payload go (r->data
 * is not read).
 */
uint8_t *
rec_add_put(uint8_t *b, const struct jrec *r)
{
	b[0] = r->target != NULL ? REC_TADD : REC_ADD;
	le_put64(b + 1, r->id);
	b[9] = r->prio;
	le_put64(b + 10, (uint64_t)r->when);
	le_put32(b + ADD_ATTEMPTS_OFF, r->attempts);
	le_put32(b + 22, r->func_len);
	le_put32(b + 26, r->unique_len);
	le_put32(b + 30, r->reducer != NULL ? r->reducer_len : NO_REDUCER);
	le_put32(b + 34, r->data_len);
	b += ADD_FIXED;
	if (r->target != NULL) {
		le_put32(b, r->target_len);
		b += TADD_FIXED - ADD_FIXED;
	}
	if (r->func_len > 0)
		memcpy(b, r->func, r->func_len);
	b += r->func_len;
	if (r->unique_len > 0)
		memcpy(b, r->unique, r->unique_len);
	b += r->unique_len;
	if (r->reducer != NULL && r->reducer_len > 0) {
		memcpy(b, r->reducer, r->reducer_len);
		b += r->reducer_len;
	}
	if (r->target != NULL && r->target_len > 0) {
		memcpy(b, r->target, r->target_len);
		b += r->target_len;
	}
	return b;
}

/* Write the body of an ATTEMPT record (ATTEMPT_LEN bytes) at b. */
void
rec_attempt_put(uint8_t *b, uint64_t id, uint32_t attempts)
{
	b[0] = REC_ATTEMPT;
	le_put64(b + 1, id);
	le_put32(b + 9, attempts);
}

/*
 * Write the body of a FATE record at b (FATE_FIXED + r->error_len bytes):
 * r->id, state, attempts (its tries), due, first, last and error.
 */
void
rec_fate_put(uint8_t *b, const struct jrec *r)
{
	b[0] = REC_FATE;
	le_put64(b + 1, r->id);
	b[9] = (uint8_t)r->state;
	le_put32(b + 10, r->attempts);
	le_put64(b + 14, (uint64_t)r->due);
	le_put64(b + 22, (uint64_t)r->first);
	le_put64(b + 30, (uint64_t)r->last);
	le_put32(b + 38, r->error_len);
	if (r->error_len > 0)
		memcpy(b + FATE_FIXED, r->error, r->error_len);
}

/* Write the body of an END record (END_LEN bytes) at b. */
void
rec_end_put(uint8_t *b, uint64_t id, int how)
{
	b[0] = REC_END;
	le_put64(b + 1, id);
	b[9] = how;
}

/* Set a record's length and checksum; the body is already in place. */
void
rec_seal(uint8_t *rec, uint32_t len)
{
	le_put32(rec, len);
	le_put32(rec + 4, journal_crc32c(journal_crc32c(0, rec, 4),
	    rec + REC_HDR, len));
}

/*
 * Check the record at p (avail bytes available) and parse it into r.
 * Return its total size, or 0 with *why set when it is not a valid record.
 */
size_t
rec_parse(const uint8_t *p, size_t avail, struct jrec *r, const char **why)
{
	const uint8_t	*b;
	uint64_t	 sum;
	uint32_t	 len, rl, fixed;

	if (avail < REC_HDR) {
		*why = "record header cut short";
		return 0;
	}
	len = le_get32(p);
	if (len < END_LEN || len > avail - REC_HDR) {
		*why = len < END_LEN ? "bad record length" :
		    "record cut short";
		return 0;
	}
	if (journal_crc32c(journal_crc32c(0, p, 4), p + REC_HDR, len) !=
	    le_get32(p + 4)) {
		*why = "checksum mismatch";
		return 0;
	}
	b = p + REC_HDR;
	memset(r, 0, sizeof(*r));
	r->type = b[0];
	r->id = le_get64(b + 1);
	switch (r->type) {
	case REC_ADD:
	case REC_TADD:
		fixed = r->type == REC_TADD ? TADD_FIXED : ADD_FIXED;
		if (len < fixed)
			goto bad;
		r->prio = b[9];
		r->when = (int64_t)le_get64(b + 10);
		r->attempts = le_get32(b + ADD_ATTEMPTS_OFF);
		r->func_len = le_get32(b + 22);
		r->unique_len = le_get32(b + 26);
		rl = le_get32(b + 30);
		r->data_len = le_get32(b + 34);
		if (r->type == REC_TADD)
			r->target_len = le_get32(b + ADD_FIXED);
		sum = (uint64_t)fixed + r->func_len + r->unique_len +
		    r->target_len + r->data_len + (rl == NO_REDUCER ? 0 : rl);
		if (sum != len || r->prio > 2)
			goto bad;
		r->func = b + fixed;
		r->unique = r->func + r->func_len;
		r->reducer = r->unique + r->unique_len;
		if (rl == NO_REDUCER)
			r->reducer = NULL;
		else
			r->reducer_len = rl;
		r->data = r->unique + r->unique_len + r->reducer_len;
		if (r->type == REC_TADD) {
			r->target = r->data;
			r->data += r->target_len;
			r->type = REC_ADD;
		}
		break;
	case REC_ATTEMPT:
		if (len != ATTEMPT_LEN)
			goto bad;
		r->attempts = le_get32(b + 9);
		break;
	case REC_END:
		if (len != END_LEN)
			goto bad;
		r->how = b[9];
		break;
	case REC_FATE:
		if (len < FATE_FIXED)
			goto bad;
		r->state = b[9];
		r->attempts = le_get32(b + 10);
		r->due = (int64_t)le_get64(b + 14);
		r->first = (int64_t)le_get64(b + 22);
		r->last = (int64_t)le_get64(b + 30);
		r->error_len = le_get32(b + 38);
		if ((uint64_t)FATE_FIXED + r->error_len != len || r->state > 2)
			goto bad;
		r->error = b + FATE_FIXED;
		break;
	default:
		goto bad;
	}
	return REC_HDR + (size_t)len;
bad:
	*why = "malformed record";
	return 0;
}

/* Copy the ADD record at rec with attempts set to a into out, resealed. */
void
rec_copy_add(struct jbuf *out, const uint8_t *rec, uint32_t a)
{
	uint32_t	 len = le_get32(rec);
	uint8_t		*p;

	p = jbuf_grow(out, REC_HDR + (size_t)len);
	memcpy(p, rec, REC_HDR + (size_t)len);
	le_put32(p + REC_HDR + ADD_ATTEMPTS_OFF, a);
	rec_seal(p, len);
}

/* Write a segment header into h. */
void
hdr_make(uint8_t *h, uint32_t flags, uint64_t next_id)
{
	memset(h, 0, HDR_SIZE);
	memcpy(h, JOURNAL_MAGIC, 8);
	le_put32(h + 8, JOURNAL_VERSION);
	le_put32(h + 12, flags);
	le_put64(h + 16, next_id);
	le_put32(h + HDR_CRC_OFF, journal_crc32c(0, h, HDR_CRC_OFF));
}

/* Check the header at the start of a segment of len bytes; fill hd. */
enum jhdr_err
hdr_parse(const uint8_t *h, size_t len, struct jhdr *hd)
{
	memset(hd, 0, sizeof(*hd));
	if (len < HDR_SIZE)
		return JHDR_SHORT;
	if (memcmp(h, JOURNAL_MAGIC, 8) != 0)
		return JHDR_MAGIC;
	if (le_get32(h + HDR_CRC_OFF) != journal_crc32c(0, h, HDR_CRC_OFF))
		return JHDR_CHECKSUM;
	hd->version = le_get32(h + 8);
	if (hd->version < JOURNAL_VERSION_MIN || hd->version > JOURNAL_VERSION)
		return JHDR_VERSION;
	hd->flags = le_get32(h + 12);
	hd->next_id = le_get64(h + 16);
	return JHDR_OK;
}

/* Why hdr_parse refused a header, for a message. */
const char *
hdr_strerror(enum jhdr_err e)
{
	switch (e) {
	case JHDR_OK:
		return "no error";
	case JHDR_SHORT:
		return "file too short";
	case JHDR_MAGIC:
		return "not a gm journal segment";
	case JHDR_CHECKSUM:
		return "checksum mismatch";
	case JHDR_VERSION:
		return "unsupported format version";
	}
	return "unknown error";
}

/* Are the n bytes at p all zero? */
static int
all_zero(const uint8_t *p, size_t n)
{
	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	return n == 0;
}

/*
 * Is the invalid record at off, which looks cut short, a whole record
 * with a damaged length field?  It is when its checksum matches its bytes
 * as far as the end of the file, or as far as the zeros that run to it
 * (z).
 */
static int
len_damaged(const uint8_t *p, size_t size, size_t off, size_t z)
{
	uint8_t		 lb[4];
	size_t		 ends[2], blen;
	int		 i;

	ends[0] = size;
	ends[1] = z;
	for (i = 0; i < 2; i++) {
		if (ends[i] < off + REC_HDR + END_LEN)
			continue;
		blen = ends[i] - off - REC_HDR;
		le_put32(lb, (uint32_t)blen);
		if (journal_crc32c(journal_crc32c(0, lb, 4), p + off + REC_HDR,
		    blen) == le_get32(p + off + 4))
			return 1;
	}
	return 0;
}

/*
 * Was the write of the invalid record at off (no valid record follows it)
 * cut short?  Bytes never written lie past the end of the file or read as
 * zeros (the writer writes zeros ahead of its appends), so the record is
 * incomplete when the file ends inside it or when the zeros that run to
 * the end of the file start inside it.  A record whose bytes are all there
 * was written whole: a wrong checksum on it is damage.
 */
static int
rec_torn(const uint8_t *p, size_t size, size_t off, const char **why)
{
	size_t		 z, avail = size - off;
	uint32_t	 len;

	for (z = size; z > off && p[z - 1] == 0; z--)
		;
	if (avail < REC_HDR)
		return 1;
	len = le_get32(p + off);
	if (len < END_LEN)
		return z < off + REC_HDR;
	if (len <= avail - REC_HDR && z >= off + REC_HDR + len)
		return 0;
	if (len_damaged(p, size, off, z)) {
		*why = "damaged record length";
		return 0;
	}
	if (len <= avail - REC_HDR)
		*why = "record not fully written";
	return 1;
}

/* Look for a valid record after off; its offset, or 0 if none. */
static size_t
next_valid(const uint8_t *p, size_t size, size_t off)
{
	struct jrec	 r;
	const char	*why;

	for (off++; off + REC_HDR + END_LEN <= size; off++)
		if (rec_parse(p + off, size - off, &r, &why) != 0)
			return off;
	return 0;
}

/*
 * Walk the records of a segment of len bytes at p (header included),
 * calling cb for each valid one.  last says it is the newest segment,
 * the only one whose last record may be torn (see rec_torn).  Fill sc
 * with how the segment ends.  Damage stops the scan with -1 and *cause naming name and the
 * offset; with repair it is logged and skipped instead.
 */
int
seg_scan(const uint8_t *p, size_t len, int last, int repair,
    const char *name, jscan_cb cb, void *arg, struct jscan *sc, char **cause)
{
	struct jrec	 r;
	const char	*why;
	size_t		 off, n, nx;

	memset(sc, 0, sizeof(*sc));
	sc->keep = len;
	sc->tail = JTAIL_END;
	sc->damage = JDAMAGE_NONE;
	off = HDR_SIZE;
	while (off < len) {
		n = rec_parse(p + off, len - off, &r, &why);
		if (n == 0 && all_zero(p + off, len - off)) {
			/* Space written ahead of appends, never used. */
			sc->keep = off;
			sc->tail = JTAIL_ZEROS;
			break;
		}
		if (n == 0) {
			nx = next_valid(p, len, off);
			if (last && nx == 0 && rec_torn(p, len, off, &why)) {
				log_warnx("journal %s: dropping torn record "
				    "at offset %zu (%s, %zu bytes, never "
				    "acknowledged)", name, off, why,
				    len - off);
				sc->keep = off;
				sc->tail = JTAIL_TORN;
				break;
			}
			if (!repair) {
				xasprintf(cause, "journal %s: damaged record "
				    "at offset %zu (%s); start with "
				    "--journal-repair to salvage the valid "
				    "records and set the damaged file aside",
				    name, off, why);
				return -1;
			}
			log_warnx("journal %s: damaged record at offset %zu "
			    "(%s), skipping %zu bytes", name, off, why,
			    (nx ? nx : len) - off);
			sc->damage = JDAMAGE_RECORDS;
			if (nx == 0)
				break;
			off = nx;
			continue;
		}
		sc->records++;
		if (cb != NULL)
			cb(&r, off, arg);
		off += n;
	}
	return 0;
}
