/* Public domain. See README.md for the licence of this project. */
/*
 * The journal's on-disk format, owned by journal_format.c: checksums,
 * records, segment headers, and the scan that reads a segment back.
 * Everything here works on bytes in memory: no file, no thread, no event
 * loop, so the unit tests drive it directly.
 *
 * On-disk format, version 1.  A journal is a directory holding a lock file
 * ("lock", with the holder's pid) and segment files "seg-<16 hex>.jnl",
 * read in the order of their number.  All integers are little-endian.
 *
 * A segment starts with a 32-byte header:
 *	magic "gmjournl" (8), version u32, flags u32, next_id u64,
 *	reserved u32 (0), crc u32 (CRC32C of the first 28 bytes).
 * Flag HDR_BASE marks a segment written by compaction or repair: it holds
 * every job that was live when it was made, and segments with lower
 * numbers are obsolete.  next_id is the first job id not yet used then.
 * A segment file appears under its name with its header complete (it is
 * written to a temp file first), so a shorter one is damage.
 *
 * Records follow the header back to back:
 *	len u32 (length of the body), crc u32 (CRC32C of len's 4 bytes and
 *	the body), body: type u8 then
 *	ADD	id u64, prio u8, when i64, attempts u32, func_len u32,
 *		unique_len u32, reducer_len u32 (0xffffffff: no reducer),
 *		data_len u32, then func, unique, reducer and data bytes;
 *	TADD	an ADD for one broadcast member only (version 3): the same
 *		fields, then target_len u32, then func, unique, reducer,
 *		target (the member's name) and data bytes;
 *	ATTEMPT	id u64, attempts u32;
 *	END	id u64, how u8;
 *	FATE	id u64, state u8 (0 queued again, 1 waiting for a retry,
 *		2 in the failed list), tries u32, due i64 (ms since the epoch
 *		when a retry runs), first i64 and last i64 (ms, failures),
 *		error_len u32, then the error bytes (version 2).
 * ADD and TADD records appear in increasing id order, which is submission
 * order; a TADD is an ADD everywhere but in its target (rec_parse gives
 * both the type REC_ADD, with target NULL for an ADD).  The last FATE
 * record of a live job says where it is; a job without one is queued.
 * Version 1 journals (no FATE) and version 2 (no TADD) are read as they
 * are; an untargeted job is still written as an ADD.
 * The writer writes zeros ahead of its appends, so bytes never written
 * read as zeros.
 *
 * To change the format: bump JOURNAL_VERSION; keep a reader for the old
 * version (or a converter that writes a new base segment from it) so that
 * an upgraded server replays the old journal; make older servers refuse
 * the new version (they do: they check the version of every segment);
 * extend the unit tests with an old-format fixture; say in gm-server(8)
 * that downgrading needs an empty journal.
 */
#ifndef GM_JOURNAL_FORMAT_H
#define GM_JOURNAL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define JOURNAL_MAGIC	"gmjournl"
#define JOURNAL_VERSION	3
#define JOURNAL_VERSION_MIN 1	/* the oldest version read */
#define HDR_SIZE	32
#define HDR_CRC_OFF	28
#define HDR_BASE	0x1
#define REC_HDR		8
#define REC_ADD		1
#define REC_ATTEMPT	2
#define REC_END		3
#define REC_FATE	4
#define REC_TADD	5
#define ADD_FIXED	38
#define TADD_FIXED	42
#define ADD_ATTEMPTS_OFF 18
#define ATTEMPT_LEN	13
#define END_LEN		10
#define FATE_FIXED	42
#define NO_REDUCER	0xffffffffU

/* A growable byte buffer. */
struct jbuf {
	uint8_t		*b;
	size_t		 len;
	size_t		 cap;
};

/* A record body, parsed or to be written. */
struct jrec {
	int		 type;
	uint64_t	 id;
	int		 prio;
	int64_t		 when;
	uint32_t	 attempts;
	int		 how;
	int		 state;		/* FATE; attempts holds its tries */
	int64_t		 due;
	int64_t		 first;
	int64_t		 last;
	const uint8_t	*error;
	uint32_t	 error_len;
	const uint8_t	*func;
	uint32_t	 func_len;
	const uint8_t	*unique;
	uint32_t	 unique_len;
	const uint8_t	*reducer;	/* NULL: no reducer */
	uint32_t	 reducer_len;
	const uint8_t	*target;	/* NULL: any worker (ADD, not TADD) */
	uint32_t	 target_len;
	const uint8_t	*data;
	uint32_t	 data_len;
};

/* What a segment header says. */
struct jhdr {
	uint32_t	 version;
	uint32_t	 flags;
	uint64_t	 next_id;
};

/* Why a segment header cannot be used. */
enum jhdr_err {
	JHDR_OK,
	JHDR_SHORT,		/* fewer than HDR_SIZE bytes: damage */
	JHDR_MAGIC,		/* not a gm journal segment: damage */
	JHDR_CHECKSUM,		/* damage */
	JHDR_VERSION		/* a format this server does not read */
};

/* How a segment ends, as the scan found it. */
enum jtail {
	JTAIL_END,		/* the last record ends the file */
	JTAIL_ZEROS,		/* zeros written ahead of appends follow */
	JTAIL_TORN		/* a last record whose write was cut short */
};

/* How damaged a segment is. */
enum jdamage {
	JDAMAGE_NONE,
	JDAMAGE_RECORDS,	/* damaged records, skipped (repair only) */
	JDAMAGE_HEADER		/* damaged header, file skipped (repair) */
};

/* The outcome of scanning one segment. */
struct jscan {
	size_t		 keep;		/* bytes up to the last good record */
	enum jtail	 tail;
	enum jdamage	 damage;
	uint64_t	 records;	/* valid records seen */
};

/* Little-endian integers, inline: every record needs several. */
static inline void
le_put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline void
le_put64(uint8_t *p, uint64_t v)
{
	le_put32(p, (uint32_t)v);
	le_put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t
le_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline uint64_t
le_get64(const uint8_t *p)
{
	return (uint64_t)le_get32(p) | (uint64_t)le_get32(p + 4) << 32;
}

/* Called once per valid record with its offset in the segment. */
typedef void	(*jscan_cb)(const struct jrec *, size_t, void *);

uint32_t	 journal_crc32c(uint32_t, const void *, size_t);
uint32_t	 journal_crc32c_sw(uint32_t, const void *, size_t);
uint8_t		*jbuf_grow(struct jbuf *, size_t);
size_t		 rec_add_size(const struct jrec *);
uint8_t		*rec_add_put(uint8_t *, const struct jrec *);
void		 rec_attempt_put(uint8_t *, uint64_t, uint32_t);
void		 rec_end_put(uint8_t *, uint64_t, int);
void		 rec_seal(uint8_t *, uint32_t);
void		 rec_fate_put(uint8_t *, const struct jrec *);
size_t		 rec_parse(const uint8_t *, size_t, struct jrec *,
		    const char **);
void		 rec_copy_add(struct jbuf *, const uint8_t *, uint32_t);
void		 hdr_make(uint8_t *, uint32_t, uint64_t);
enum jhdr_err	 hdr_parse(const uint8_t *, size_t, struct jhdr *);
const char	*hdr_strerror(enum jhdr_err);
int		 seg_scan(const uint8_t *, size_t, int, int, const char *,
		    jscan_cb, void *, struct jscan *, char **);

#endif /* GM_JOURNAL_FORMAT_H */
