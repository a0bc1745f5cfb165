/* Public domain. See README.md for the licence of this project. */
/* The journal of background jobs: an append-only log with group commit. */

#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "journal.h"
#include "log.h"
#include "xmalloc.h"

/*
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
 *
 * Records follow the header back to back:
 *	len u32 (length of the body), crc u32 (CRC32C of len's 4 bytes and
 *	the body), body: type u8 then
 *	ADD	id u64, prio u8, when i64, attempts u32, func_len u32,
 *		unique_len u32, reducer_len u32 (0xffffffff: no reducer),
 *		data_len u32, then func, unique, reducer and data bytes;
 *	ATTEMPT	id u64, attempts u32;
 *	END	id u64, how u8.
 * ADD records appear in increasing id order, which is submission order.
 *
 * To change the format: bump JOURNAL_VERSION; keep a reader for the old
 * version (or a converter that writes a new base segment from it) so that
 * an upgraded server replays the old journal; make older servers refuse
 * the new version (they do: they check the version of every segment);
 * extend the unit tests with an old-format fixture; say in gm-server(8)
 * that downgrading needs an empty journal.
 */
#define JOURNAL_MAGIC	"gmjournl"
#define JOURNAL_VERSION	1
#define HDR_SIZE	32
#define HDR_BASE	0x1
#define REC_HDR		8
#define REC_ADD		1
#define REC_ATTEMPT	2
#define REC_END		3
#define ADD_FIXED	38
#define ATTEMPT_LEN	13
#define END_LEN		10
#define NO_REDUCER	0xffffffffU

#define JENT_DEAD	UINT32_MAX
#define PENDING_MAX	(256U << 20)	/* refuse adds beyond this backlog */
#define COMPACT_MIN	(64ULL << 20)	/* no compaction below this size */
#define RETRY_MS	100		/* pause after a write error */
#define PREALLOC	(4U << 20)	/* zeros written ahead of appends */
#define COMPACT_RETRY_S	30		/* pause after a failed compaction */

/* A growable byte buffer. */
struct jbuf {
	uint8_t		*b;
	size_t		 len;
	size_t		 cap;
};

/*
 * A job the journal knows: live, or dead but not yet removed from the
 * array.  Sorted by id.  seg and off locate the ADD record during replay;
 * seg is JENT_DEAD for an ended job.
 */
struct jent {
	uint64_t	 id;
	uint64_t	 off;
	uint32_t	 attempts;
	uint32_t	 seg;
};

struct jindex {
	struct jent	*e;
	size_t		 n;
	size_t		 cap;
	size_t		 ndead;
};

/* A segment file and its size. */
struct jseg {
	uint64_t	 seq;
	uint64_t	 size;
};

/* A mapped segment, during open and replay. */
struct jmap {
	uint8_t		*p;
	size_t		 len;
	uint64_t	 seq;
	int		 damaged;
};

/* A journal_add waiting for its record to be written. */
struct jack {
	journal_done_cb	 done;
	void		*arg;
	uint64_t	 id;
};

/* Result of a flush: every add up to seq upto, with error err. */
struct jcompl {
	uint64_t	 upto;
	int		 err;
};

/* What the compaction thread works on. */
struct jcompact {
	struct journal	*j;
	uint64_t	*ids;		/* live ids at the cut, sorted */
	uint32_t	*attempts;
	size_t		 n;
	uint64_t	*old;		/* segments to replace */
	size_t		 nold;
	uint64_t	 base_seq;
	uint64_t	 next_id;
	uint64_t	 old_records;
};

struct journal {
	int		 disk;
	char		*dir;
	struct journal_opts opts;
	struct event_base *base;
	uint64_t	 next_id;
	uint64_t	 mem_live;	/* memory-only: live jobs */

	int		 lockfd;
	int		 dirfd;
	int		 efd;
	struct event	*ev;
	struct event	*kick;		/* wakes the writer once per loop pass */
	int		 kicked;

	/* Loop thread only. */
	struct jack	*acks;		/* ring of adds awaiting done */
	size_t		 ack_head;
	size_t		 ack_n;
	size_t		 ack_cap;
	uint64_t	 add_seq;	/* adds queued so far */
	uint64_t	 done_seq;	/* adds completed so far */
	struct jmap	*maps;
	size_t		 nmaps;
	struct jcompl	*compl_spare;
	size_t		 compl_spare_cap;

	/* Shared, under mtx. */
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	struct jbuf	 pending;
	uint64_t	 pending_seq;	/* last add seq in pending */
	struct jindex	 idx;		/* changed by the loop thread only */
	struct jcompl	*compl;
	size_t		 ncompl;
	size_t		 compl_cap;
	struct jseg	*segs;
	size_t		 nsegs;
	uint64_t	 records;	/* records in the segment files */
	uint64_t	 flushes;
	uint64_t	 last_flush_us;
	uint64_t	 peak_flush_us;
	uint64_t	 compactions;
	uint64_t	 write_errors;
	uint64_t	 compact_min;
	time_t		 compact_after;
	int		 fault;		/* test hook: fail writes with it */
	int		 stop;
	int		 compacting;
	int		 started;

	/* Writer thread only (after start). */
	pthread_t	 writer;
	pthread_t	 compactor;
	int		 compactor_run;
	int		 fd;		/* current segment */
	uint64_t	 cur_seq;
	uint64_t	 good;		/* end of its last good write */
	uint64_t	 alloc;		/* its size: zeros from good to alloc */
	int		 dirty;		/* written, not synced */
	struct timespec	 last_sync;
	struct timespec	 retry_at;
	struct jbuf	 batch;
	uint64_t	 posted_seq;
};

static uint32_t	 crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void	*writer_main(void *);
static void	*compact_main(void *);
static int	 seg_trim(struct journal *);
static void	 journal_kick(evutil_socket_t, short, void *);
static void	 journal_take_id(struct journal *, struct journal_job *);

/* Fill the CRC32C (Castagnoli) tables for slicing by 8. */
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
}

/* Continue CRC32C crc over n bytes; start with 0. */
uint32_t
journal_crc32c(uint32_t crc, const void *buf, size_t n)
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

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Make room for n more bytes at the end of b and return where they go. */
static uint8_t *
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

/* Set a record's length and checksum; the body is already in place. */
static void
rec_seal(uint8_t *rec, uint32_t len)
{
	put32(rec, len);
	put32(rec + 4, journal_crc32c(journal_crc32c(0, rec, 4), rec + REC_HDR,
	    len));
}

/* Milliseconds from a to b. */
static int64_t
ts_ms(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_nsec - a->tv_nsec) / 1000000;
}

static void
ts_add_ms(struct timespec *t, int64_t ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

/* A parsed record body. */
struct jrec {
	int		 type;
	uint64_t	 id;
	int		 prio;
	int64_t		 when;
	uint32_t	 attempts;
	int		 how;
	const uint8_t	*func;
	uint32_t	 func_len;
	const uint8_t	*unique;
	uint32_t	 unique_len;
	const uint8_t	*reducer;
	uint32_t	 reducer_len;
	const uint8_t	*data;
	uint32_t	 data_len;
};

/*
 * Check the record at p (avail bytes available) and parse it into r.
 * Return its total size, or 0 with *why set when it is not a valid record.
 */
static size_t
rec_parse(const uint8_t *p, size_t avail, struct jrec *r, const char **why)
{
	const uint8_t	*b;
	uint64_t	 sum;
	uint32_t	 len, rl;

	if (avail < REC_HDR) {
		*why = "record header cut short";
		return 0;
	}
	len = get32(p);
	if (len < END_LEN || len > avail - REC_HDR) {
		*why = len < END_LEN ? "bad record length" :
		    "record cut short";
		return 0;
	}
	if (journal_crc32c(journal_crc32c(0, p, 4), p + REC_HDR, len) !=
	    get32(p + 4)) {
		*why = "checksum mismatch";
		return 0;
	}
	b = p + REC_HDR;
	memset(r, 0, sizeof(*r));
	r->type = b[0];
	r->id = get64(b + 1);
	switch (r->type) {
	case REC_ADD:
		if (len < ADD_FIXED)
			goto bad;
		r->prio = b[9];
		r->when = (int64_t)get64(b + 10);
		r->attempts = get32(b + 18);
		r->func_len = get32(b + 22);
		r->unique_len = get32(b + 26);
		rl = get32(b + 30);
		r->data_len = get32(b + 34);
		sum = (uint64_t)ADD_FIXED + r->func_len + r->unique_len +
		    r->data_len + (rl == NO_REDUCER ? 0 : rl);
		if (sum != len || r->prio > 2)
			goto bad;
		r->func = b + ADD_FIXED;
		r->unique = r->func + r->func_len;
		r->reducer = r->unique + r->unique_len;
		if (rl == NO_REDUCER)
			r->reducer = NULL;
		else
			r->reducer_len = rl;
		r->data = r->unique + r->unique_len + r->reducer_len;
		break;
	case REC_ATTEMPT:
		if (len != ATTEMPT_LEN)
			goto bad;
		r->attempts = get32(b + 9);
		break;
	case REC_END:
		if (len != END_LEN)
			goto bad;
		r->how = b[9];
		break;
	default:
		goto bad;
	}
	return REC_HDR + (size_t)len;
bad:
	*why = "malformed record";
	return 0;
}

/* Write a segment header into h. */
static void
hdr_make(uint8_t *h, uint32_t flags, uint64_t next_id)
{
	memset(h, 0, HDR_SIZE);
	memcpy(h, JOURNAL_MAGIC, 8);
	put32(h + 8, JOURNAL_VERSION);
	put32(h + 12, flags);
	put64(h + 16, next_id);
	put32(h + 28, journal_crc32c(0, h, 28));
}

/* Path of segment seq.  Caller frees. */
static char *
seg_path(struct journal *j, uint64_t seq)
{
	char	*p;

	xasprintf(&p, "%s/seg-%016" PRIx64 ".jnl", j->dir, seq);
	return p;
}

/* Write all of buf at off; 0 or an errno value. */
static int
pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
	const uint8_t	*p = buf;
	ssize_t		 w;

	while (n > 0) {
		w = pwrite(fd, p, n, off);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (w == 0)
			return EIO;
		p += w;
		n -= w;
		off += w;
	}
	return 0;
}

/* Create segment seq with a header; return its fd or -1 with errno. */
static int
seg_create(struct journal *j, uint64_t seq, uint32_t flags, uint64_t next_id)
{
	uint8_t	 h[HDR_SIZE];
	char	*path;
	int	 fd, e;

	path = seg_path(j, seq);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd == -1)
		goto fail;
	hdr_make(h, flags, next_id);
	if ((e = pwrite_all(fd, h, sizeof(h), 0)) != 0 ||
	    (e = (fsync(fd) == -1 ? errno : 0)) != 0 ||
	    (e = (fsync(j->dirfd) == -1 ? errno : 0)) != 0) {
		close(fd);
		unlink(path);
		errno = e;
		fd = -1;
	}
fail:
	e = errno;
	free(path);
	errno = e;
	return fd;
}

/* Find id in the index; NULL if it is not there. */
static struct jent *
idx_find(struct jindex *x, uint64_t id)
{
	size_t	 lo = 0, hi = x->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (x->e[mid].id < id)
			lo = mid + 1;
		else if (x->e[mid].id > id)
			hi = mid;
		else
			return &x->e[mid];
	}
	return NULL;
}

/* Append a job (ids increase) to the index. */
static void
idx_push(struct jindex *x, uint64_t id, uint32_t attempts, uint32_t seg,
    uint64_t off)
{
	struct jent	*e;

	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 1024;
		x->e = xreallocarray(x->e, x->cap, sizeof(*x->e));
	}
	e = &x->e[x->n++];
	e->id = id;
	e->attempts = attempts;
	e->seg = seg;
	e->off = off;
}

/* Drop dead entries from the index once they are the majority. */
static void
idx_tidy(struct jindex *x, int force)
{
	size_t	 i, k;

	if (!force && (x->ndead < 4096 || x->ndead * 2 < x->n))
		return;
	for (i = k = 0; i < x->n; i++)
		if (x->e[i].seg != JENT_DEAD)
			x->e[k++] = x->e[i];
	x->n = k;
	x->ndead = 0;
}

static uint64_t
idx_live(const struct jindex *x)
{
	return x->n - x->ndead;
}

/* Lock the directory; fill *cause when another process holds it. */
static int
dir_lock(struct journal *j, char **cause)
{
	char	*path, buf[32];
	ssize_t	 n;
	int	 fd;

	xasprintf(&path, "%s/lock", j->dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		xasprintf(cause, "journal %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			n = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			xasprintf(cause, "journal directory %s is in use by "
			    "another gm-server (pid %s)", j->dir,
			    buf[0] != '\0' ? buf : "unknown");
		} else
			xasprintf(cause, "journal %s: lock: %s", path,
			    strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	j->lockfd = fd;
	return 0;
}

/* Write our pid into the lock file. */
static void
dir_lock_pid(struct journal *j)
{
	char	 buf[32];
	int	 n;

	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(j->lockfd, 0) == 0 && pwrite(j->lockfd, buf, n, 0) == -1)
		log_debug("%s: %s", __func__, strerror(errno));
}

/* Make a new directory's entry durable: sync its parent. */
static void
sync_parent(const char *path)
{
	char	*s, *p;
	int	 fd;

	s = xstrdup(path);
	if ((p = strrchr(s, '/')) != NULL && p != s)
		*p = '\0';
	else if (p == s)
		s[1] = '\0';
	else
		strlcpy(s, ".", strlen(s) + 1);
	if ((fd = open(s, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(fd);
		close(fd);
	}
	free(s);
}

/* Create dir and its parents. */
static int
mkdir_p(const char *dir)
{
	char	*p, *s;
	int	 rc = 0;

	s = xstrdup(dir);
	for (p = s + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(s, 0750) == 0)
			sync_parent(s);
		else if (errno != EEXIST) {
			rc = -1;
			break;
		}
		*p = '/';
	}
	if (rc == 0) {
		if (mkdir(s, 0750) == 0)
			sync_parent(s);
		else if (errno != EEXIST)
			rc = -1;
	}
	free(s);
	return rc;
}

static int
seq_cmp(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Rename a damaged file aside, never over another file.  Caller frees. */
static char *
set_aside(const char *path)
{
	struct stat	 sb;
	char		*to;
	int		 i;

	for (i = 0;; i++) {
		if (i == 0)
			xasprintf(&to, "%s.damaged", path);
		else
			xasprintf(&to, "%s.damaged.%d", path, i);
		if (stat(to, &sb) == -1 && errno == ENOENT)
			break;
		free(to);
	}
	if (rename(path, to) == -1) {
		free(to);
		return NULL;
	}
	return to;
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
 * Scan one mapped segment into the index.  last says it is the newest
 * segment, where a damaged tail is a torn write.  Return 0, or -1 with
 * *cause set; *tail gets the size to keep.
 */
static int
seg_scan(struct journal *j, uint32_t m, int last, size_t *tail, int *zeros,
    uint64_t *maxid, char **cause)
{
	struct jmap	*mp = &j->maps[m];
	struct jent	*e;
	struct jrec	 r;
	const char	*why;
	char		*path;
	size_t		 off, n, nx;

	path = seg_path(j, mp->seq);
	*tail = mp->len;
	*zeros = 0;
	off = HDR_SIZE;
	while (off < mp->len) {
		n = rec_parse(mp->p + off, mp->len - off, &r, &why);
		if (n == 0 && all_zero(mp->p + off, mp->len - off)) {
			/* Space written ahead of appends, never used. */
			*tail = off;
			*zeros = 1;
			break;
		}
		if (n == 0) {
			nx = next_valid(mp->p, mp->len, off);
			if (last && nx == 0) {
				log_warnx("journal %s: dropping torn record "
				    "at offset %zu (%s, %zu bytes, never "
				    "acknowledged)", path, off, why,
				    mp->len - off);
				*tail = off;
				break;
			}
			if (!j->opts.repair) {
				xasprintf(cause, "journal %s: damaged record "
				    "at offset %zu (%s); start with "
				    "--journal-repair to salvage the valid "
				    "records and set the damaged file aside",
				    path, off, why);
				free(path);
				return -1;
			}
			log_warnx("journal %s: damaged record at offset %zu "
			    "(%s), skipping %zu bytes", path, off, why,
			    (nx ? nx : mp->len) - off);
			mp->damaged = 1;
			if (nx == 0)
				break;
			off = nx;
			continue;
		}
		j->records++;
		if (r.id >= *maxid)
			*maxid = r.id + 1;
		switch (r.type) {
		case REC_ADD:
			if (j->idx.n > 0 && j->idx.e[j->idx.n - 1].id >= r.id) {
				log_warnx("journal %s: job %" PRIu64 " at "
				    "offset %zu out of order, ignored", path,
				    r.id, off);
				break;
			}
			idx_push(&j->idx, r.id, r.attempts, m, off);
			break;
		case REC_ATTEMPT:
			if ((e = idx_find(&j->idx, r.id)) != NULL &&
			    e->seg != JENT_DEAD && r.attempts > e->attempts)
				e->attempts = r.attempts;
			break;
		case REC_END:
			if ((e = idx_find(&j->idx, r.id)) != NULL &&
			    e->seg != JENT_DEAD) {
				e->seg = JENT_DEAD;
				j->idx.ndead++;
				idx_tidy(&j->idx, 0);
			}
			break;
		}
		off += n;
	}
	free(path);
	return 0;
}

/* Copy the ADD record at rec with attempts set to a into out, resealed. */
static void
rec_copy_add(struct jbuf *out, const uint8_t *rec, uint32_t a)
{
	uint32_t	 len = get32(rec);
	uint8_t		*p;

	p = jbuf_grow(out, REC_HDR + (size_t)len);
	memcpy(p, rec, REC_HDR + (size_t)len);
	put32(p + REC_HDR + 18, a);
	rec_seal(p, len);
}

/* Write out to a temp file, sync it and rename it to segment seq. */
static int
seg_install(struct journal *j, const char *tmpname, struct jbuf *out,
    uint64_t seq)
{
	char	*tmp, *path;
	int	 fd, e = 0;

	xasprintf(&tmp, "%s/%s", j->dir, tmpname);
	path = seg_path(j, seq);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd == -1)
		e = errno;
	else {
		e = pwrite_all(fd, out->b, out->len, 0);
		if (e == 0 && j->fault)
			e = j->fault;
		if (e == 0 && fsync(fd) == -1)
			e = errno;
		if (close(fd) == -1 && e == 0)
			e = errno;
		if (e == 0 && rename(tmp, path) == -1)
			e = errno;
		if (e == 0 && fsync(j->dirfd) == -1)
			e = errno;
		if (e != 0)
			unlink(tmp);
	}
	free(tmp);
	free(path);
	return e;
}

/*
 * Salvage after damage: write every live job to a new base segment, set
 * the damaged segments aside and remove the others.
 */
static int
repair(struct journal *j, char **cause)
{
	struct jbuf	 out = { NULL, 0, 0 };
	struct jent	*e;
	uint64_t	 seq;
	size_t		 i;
	char		*path, *to;
	int		 err;

	seq = j->maps[j->nmaps - 1].seq + 1;
	hdr_make(jbuf_grow(&out, HDR_SIZE), HDR_BASE, j->next_id);
	for (i = 0; i < j->idx.n; i++) {
		e = &j->idx.e[i];
		if (e->seg != JENT_DEAD)
			rec_copy_add(&out, j->maps[e->seg].p + e->off,
			    e->attempts);
	}
	if ((err = seg_install(j, "repair.tmp", &out, seq)) != 0) {
		xasprintf(cause, "journal %s: writing the repaired journal: "
		    "%s", j->dir, strerror(err));
		free(out.b);
		return -1;
	}
	for (i = 0; i < j->nmaps; i++) {
		path = seg_path(j, j->maps[i].seq);
		if (j->maps[i].damaged) {
			if ((to = set_aside(path)) == NULL) {
				xasprintf(cause, "journal %s: rename: %s",
				    path, strerror(errno));
				free(path);
				free(out.b);
				return -1;
			}
			log_warnx("journal: damaged %s kept as %s", path, to);
			free(to);
		} else if (unlink(path) == -1)
			log_warn("journal: unlink %s", path);
		free(path);
	}
	fsync(j->dirfd);
	log_warnx("journal %s: repaired, %" PRIu64 " jobs kept", j->dir,
	    idx_live(&j->idx));
	j->segs = xreallocarray(NULL, 1, sizeof(*j->segs));
	j->nsegs = 1;
	j->segs[0].seq = seq;
	j->segs[0].size = out.len;
	j->records = idx_live(&j->idx);
	free(out.b);
	return 0;
}

/* Map one segment file and check its header. */
static int
seg_map(struct journal *j, uint64_t seq, int last, struct jmap *mp,
    uint32_t *flags, uint64_t *next_id, char **cause)
{
	struct stat	 sb;
	char		*path;
	int		 fd = -1;
	const uint8_t	*h;

	memset(mp, 0, sizeof(*mp));
	mp->seq = seq;
	path = seg_path(j, seq);
	*flags = 0;
	*next_id = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		xasprintf(cause, "journal %s: %s", path, strerror(errno));
		goto fail;
	}
	mp->len = sb.st_size;
	if (mp->len > 0) {
		mp->p = mmap(NULL, mp->len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (mp->p == MAP_FAILED) {
			mp->p = NULL;
			xasprintf(cause, "journal %s: mmap: %s", path,
			    strerror(errno));
			goto fail;
		}
		madvise(mp->p, mp->len, MADV_SEQUENTIAL);
	}
	close(fd);
	fd = -1;
	h = mp->p;
	if (mp->len < HDR_SIZE) {
		if (last) {
			log_warnx("journal %s: dropping torn header (%zu "
			    "bytes)", path, mp->len);
			mp->damaged = 2;	/* rewrite the header */
			free(path);
			return 0;
		}
		xasprintf(cause, "journal %s: damaged header at offset 0 "
		    "(file too short)", path);
		goto damaged;
	}
	if (memcmp(h, JOURNAL_MAGIC, 8) != 0) {
		xasprintf(cause, "journal %s: damaged header at offset 0 "
		    "(not a gm journal segment)", path);
		goto damaged;
	}
	if (get32(h + 28) != journal_crc32c(0, h, 28)) {
		xasprintf(cause, "journal %s: damaged header at offset 0 "
		    "(checksum mismatch)", path);
		goto damaged;
	}
	if (get32(h + 8) != JOURNAL_VERSION) {
		xasprintf(cause, "journal %s: format version %u is not "
		    "supported (this gm-server reads version %u only)", path,
		    get32(h + 8), JOURNAL_VERSION);
		goto fail;
	}
	*flags = get32(h + 12);
	*next_id = get64(h + 16);
	free(path);
	return 0;
damaged:
	if (j->opts.repair) {
		log_warnx("%s; skipping the file", *cause);
		free(*cause);
		*cause = NULL;
		mp->damaged = 1;
		if (mp->p != NULL)
			munmap(mp->p, mp->len);
		mp->p = NULL;
		mp->len = 0;
		free(path);
		return 0;
	}
	{
		char	*c = *cause;

		xasprintf(cause, "%s; start with --journal-repair to salvage "
		    "the valid records and set the damaged file aside", c);
		free(c);
	}
fail:
	if (fd != -1)
		close(fd);
	free(path);
	return -1;
}

/* Wake the event loop: completions are waiting. */
static void
notify_loop(struct journal *j)
{
	uint64_t	 one = 1;

	if (write(j->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("journal: eventfd");
}

/* Run the done callbacks of flushed adds, in journal_add order. */
static void
journal_notify(evutil_socket_t fd, short what, void *arg)
{
	struct journal	*j = arg;
	struct jcompl	*c;
	struct jack	 a;
	struct jent	*e;
	uint64_t	 v;
	size_t		 i, n, cap;

	(void)what;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("journal: eventfd");
	pthread_mutex_lock(&j->mtx);
	c = j->compl;
	n = j->ncompl;
	cap = j->compl_cap;
	j->compl = j->compl_spare;
	j->compl_cap = j->compl_spare_cap;
	j->ncompl = 0;
	pthread_mutex_unlock(&j->mtx);
	j->compl_spare = c;
	j->compl_spare_cap = cap;
	for (i = 0; i < n; i++) {
		while (j->ack_n > 0 && j->done_seq < c[i].upto) {
			a = j->acks[j->ack_head];
			j->ack_head = (j->ack_head + 1) % j->ack_cap;
			j->ack_n--;
			j->done_seq++;
			if (c[i].err != 0) {
				pthread_mutex_lock(&j->mtx);
				e = idx_find(&j->idx, a.id);
				if (e != NULL && e->seg != JENT_DEAD) {
					e->seg = JENT_DEAD;
					j->idx.ndead++;
				}
				pthread_mutex_unlock(&j->mtx);
			}
			if (a.done != NULL)
				a.done(c[i].err, a.arg);
		}
	}
}

/* Open the journal in dir; dir NULL or "none" keeps jobs in memory only. */
struct journal *
journal_open(struct event_base *base, const char *dir,
    const struct journal_opts *opts, char **cause)
{
	struct journal	*j;
	struct dirent	*de;
	DIR		*d = NULL;
	uint64_t	*seqs = NULL, seq, maxid = 1, hnext;
	size_t		 nseqs = 0, i, start, tail;
	int		 zeros = 0;
	uint32_t	 flags;
	pthread_condattr_t ca;
	const char	*errstr;
	char		*path, *s, tmp[32];
	int		 fd, damaged = 0;

	*cause = NULL;
	j = xcalloc(1, sizeof(*j));
	j->next_id = 1;
	j->lockfd = j->dirfd = j->efd = j->fd = -1;
	j->opts.sync = JOURNAL_SYNC_ALWAYS;
	if (opts != NULL)
		j->opts = *opts;
	if (j->opts.sync == JOURNAL_SYNC_INTERVAL && j->opts.interval_ms < 1)
		j->opts.interval_ms = 1;
	if (dir == NULL || strcmp(dir, "none") == 0)
		return j;
	j->disk = 1;
	j->base = base;
	j->dir = xstrdup(dir);
	pthread_mutex_init(&j->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cond, &ca);
	pthread_condattr_destroy(&ca);
	j->compact_min = COMPACT_MIN;
	if ((s = getenv("GM_JOURNAL_COMPACT_BYTES")) != NULL) {
		j->compact_min = strtonum(s, 0, LLONG_MAX, &errstr);
		if (errstr != NULL) {
			xasprintf(cause, "GM_JOURNAL_COMPACT_BYTES %s: %s", s,
			    errstr);
			goto fail;
		}
	}
	if (mkdir_p(dir) == -1 || (j->dirfd = open(dir,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "journal directory %s: %s", dir,
		    strerror(errno));
		goto fail;
	}
	if (dir_lock(j, cause) == -1)
		goto fail;
	dir_lock_pid(j);

	if ((d = opendir(dir)) == NULL) {
		xasprintf(cause, "journal directory %s: %s", dir,
		    strerror(errno));
		goto fail;
	}
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) == 24 &&
		    strncmp(de->d_name, "seg-", 4) == 0 &&
		    strcmp(de->d_name + 20, ".jnl") == 0 &&
		    strspn(de->d_name + 4, "0123456789abcdef") == 16) {
			memcpy(tmp, de->d_name + 4, 16);
			tmp[16] = '\0';
			seq = strtoull(tmp, NULL, 16);
			seqs = xreallocarray(seqs, nseqs + 1, sizeof(*seqs));
			seqs[nseqs++] = seq;
		} else if (strcmp(de->d_name, "compact.tmp") == 0 ||
		    strcmp(de->d_name, "repair.tmp") == 0) {
			log_info("journal %s: removing unfinished %s", dir,
			    de->d_name);
			unlinkat(j->dirfd, de->d_name, 0);
		}
	}
	closedir(d);
	d = NULL;
	if (nseqs > 1)
		qsort(seqs, nseqs, sizeof(*seqs), seq_cmp);

	/* Map every segment; the newest base segment makes older ones moot. */
	j->maps = xcalloc(nseqs ? nseqs : 1, sizeof(*j->maps));
	start = 0;
	for (i = 0; i < nseqs; i++) {
		if (seg_map(j, seqs[i], i == nseqs - 1, &j->maps[i], &flags,
		    &hnext, cause) == -1) {
			j->nmaps = i + 1;
			goto fail;
		}
		j->nmaps = i + 1;
		if (hnext > maxid)
			maxid = hnext;
		if ((flags & HDR_BASE) && !j->maps[i].damaged)
			start = i;
	}
	for (i = 0; i < start; i++) {
		path = seg_path(j, j->maps[i].seq);
		log_info("journal: removing %s, superseded by a compacted "
		    "segment", path);
		if (unlink(path) == -1)
			log_warn("journal: unlink %s", path);
		free(path);
		if (j->maps[i].p != NULL)
			munmap(j->maps[i].p, j->maps[i].len);
	}
	if (start > 0) {
		memmove(j->maps, j->maps + start,
		    (j->nmaps - start) * sizeof(*j->maps));
		j->nmaps -= start;
	}

	/* Scan the records and rebuild the set of live jobs. */
	tail = 0;
	for (i = 0; i < j->nmaps; i++) {
		if (j->maps[i].p == NULL)
			continue;
		if (j->maps[i].damaged == 2)
			continue;
		if (seg_scan(j, i, i == j->nmaps - 1, &tail, &zeros, &maxid,
		    cause) == -1)
			goto fail;
	}
	j->next_id = maxid;
	for (i = 0; i < j->nmaps; i++)
		if (j->maps[i].damaged == 1)
			damaged = 1;
	if (damaged) {
		if (repair(j, cause) == -1)
			goto fail;
	} else {
		j->segs = xcalloc(j->nmaps ? j->nmaps : 1, sizeof(*j->segs));
		for (i = 0; i < j->nmaps; i++) {
			j->segs[i].seq = j->maps[i].seq;
			j->segs[i].size = j->maps[i].len;
		}
		j->nsegs = j->nmaps;
		if (j->nsegs > 0 && j->maps[j->nmaps - 1].damaged == 2) {
			/* A torn header: start that segment over. */
			seq = j->segs[j->nsegs - 1].seq;
			if ((fd = seg_create(j, seq, 0, j->next_id)) == -1) {
				xasprintf(cause, "journal %s: rewriting segment "
				    "%016" PRIx64 ": %s", dir, seq,
				    strerror(errno));
				goto fail;
			}
			close(fd);
			j->segs[j->nsegs - 1].size = HDR_SIZE;
		} else if (j->nsegs > 0 && zeros) {
			/* Keep the zeros: appends go on over them. */
			j->alloc = j->segs[j->nsegs - 1].size;
			j->segs[j->nsegs - 1].size = tail;
		} else if (j->nsegs > 0 && tail < j->segs[j->nsegs - 1].size) {
			path = seg_path(j, j->segs[j->nsegs - 1].seq);
			if (truncate(path, tail) == -1) {
				xasprintf(cause, "journal %s: truncate: %s",
				    path, strerror(errno));
				free(path);
				goto fail;
			}
			free(path);
			j->segs[j->nsegs - 1].size = tail;
		}
	}

	/* Append to the newest segment, or start one. */
	if (j->nsegs == 0) {
		seq = j->nmaps > 0 ? j->maps[j->nmaps - 1].seq : 1;
		if ((fd = seg_create(j, seq, 0, j->next_id)) == -1) {
			xasprintf(cause, "journal %s: creating a segment: %s",
			    dir, strerror(errno));
			goto fail;
		}
		j->segs = xreallocarray(j->segs, 1, sizeof(*j->segs));
		j->segs[0].seq = seq;
		j->segs[0].size = HDR_SIZE;
		j->nsegs = 1;
	} else {
		path = seg_path(j, j->segs[j->nsegs - 1].seq);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd == -1) {
			xasprintf(cause, "journal %s: %s", path,
			    strerror(errno));
			free(path);
			goto fail;
		}
		free(path);
	}
	j->fd = fd;
	j->cur_seq = j->segs[j->nsegs - 1].seq;
	j->good = j->segs[j->nsegs - 1].size;
	if (j->alloc < j->good)
		j->alloc = j->good;
	clock_gettime(CLOCK_MONOTONIC, &j->last_sync);

	if ((j->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		xasprintf(cause, "journal: eventfd: %s", strerror(errno));
		goto fail;
	}
	j->ev = event_new(base, j->efd, EV_READ | EV_PERSIST, journal_notify,
	    j);
	j->kick = event_new(base, -1, 0, journal_kick, j);
	if (j->ev == NULL || j->kick == NULL || event_add(j->ev, NULL) == -1) {
		xasprintf(cause, "journal: cannot add the completion event");
		goto fail;
	}
	free(seqs);
	log_info("journal %s: %" PRIu64 " jobs pending, %" PRIu64 " records "
	    "in %zu segments", dir, idx_live(&j->idx), j->records, j->nsegs);
	return j;
fail:
	if (d != NULL)
		closedir(d);
	free(seqs);
	journal_close(j);
	return NULL;
}

/* Call cb for every live job, in submission order, then forget the maps. */
int
journal_replay(struct journal *j, void (*cb)(const struct journal_job *,
    void *), void *arg)
{
	struct journal_job	 job;
	struct jrec		 r;
	struct jent		*e;
	const char		*why;
	size_t			 i;
	int			 n = 0;

	if (!j->disk || j->maps == NULL)
		return 0;
	for (i = 0; i < j->idx.n; i++) {
		e = &j->idx.e[i];
		if (e->seg == JENT_DEAD)
			continue;
		if (rec_parse(j->maps[e->seg].p + e->off,
		    j->maps[e->seg].len - e->off, &r, &why) == 0)
			fatalx("journal: job %" PRIu64 " changed on disk during "
			    "replay", e->id);
		memset(&job, 0, sizeof(job));
		job.id = r.id;
		job.prio = r.prio;
		job.when = r.when;
		job.attempts = e->attempts;
		job.func = (const char *)r.func;
		job.func_len = r.func_len;
		job.unique = (const char *)r.unique;
		job.unique_len = r.unique_len;
		job.reducer = (const char *)r.reducer;
		job.reducer_len = r.reducer_len;
		job.data_ptr = r.data;
		job.data_len = r.data_len;
		if (cb != NULL)
			cb(&job, arg);
		n++;
	}
	for (i = 0; i < j->nmaps; i++)
		if (j->maps[i].p != NULL)
			munmap(j->maps[i].p, j->maps[i].len);
	free(j->maps);
	j->maps = NULL;
	j->nmaps = 0;
	pthread_mutex_lock(&j->mtx);
	idx_tidy(&j->idx, 1);
	pthread_mutex_unlock(&j->mtx);
	return n;
}

/* Start the writer thread, with every signal blocked in it. */
static void
writer_start(struct journal *j)
{
	sigset_t	 all, old;

	if (j->started)
		return;
	j->started = 1;
	dir_lock_pid(j);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&j->writer, NULL, writer_main, j) != 0)
		fatalx("journal: cannot start the writer thread");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * Wake the writer for the records queued in this pass of the event loop:
 * one wake-up (and so one write) covers every submission that arrived
 * together.
 */
static void
journal_kick(evutil_socket_t fd, short what, void *arg)
{
	struct journal	*j = arg;

	(void)fd;
	(void)what;
	j->kicked = 0;
	pthread_mutex_lock(&j->mtx);
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->mtx);
}

/* Queue a record of n bytes; return where its body goes.  Under mtx. */
static uint8_t *
pending_rec(struct journal *j, size_t body)
{
	uint8_t	*p;

	if (!j->kicked) {
		j->kicked = 1;
		event_active(j->kick, EV_TIMEOUT, 0);
	}
	p = jbuf_grow(&j->pending, REC_HDR + body);
	put32(p, body);
	return p + REC_HDR;
}

/*
 * Give a new job its id: the one the caller wished for (its handle number)
 * when it is above every id given so far, else the next free one.  Ids
 * only grow, which the index relies on.
 */
static void
journal_take_id(struct journal *j, struct journal_job *job)
{
	if (job->id < j->next_id)
		job->id = j->next_id;
	j->next_id = job->id + 1;
}

/* The first id no job has had; after replay, above every journaled id. */
uint64_t
journal_next_id(struct journal *j)
{
	return j->next_id;
}

/* Record a new background job; see journal.h for the contract. */
int
journal_add(struct journal *j, struct journal_job *job, journal_done_cb done,
    void *arg)
{
	struct jack	*na;
	uint8_t		*b;
	uint64_t	 body;
	size_t		 dlen, rlen, i;

	if (!j->disk) {
		journal_take_id(j, job);
		j->mem_live++;
		return 0;
	}
	dlen = job->data != NULL ? evbuffer_get_length(job->data) :
	    job->data_len;
	rlen = job->reducer != NULL ? job->reducer_len : 0;
	body = (uint64_t)ADD_FIXED + job->func_len + job->unique_len + rlen +
	    dlen;
	if (body > UINT32_MAX - 1 || job->prio < 0 || job->prio > 2) {
		errno = job->prio < 0 || job->prio > 2 ? EINVAL : EFBIG;
		return -1;
	}
	writer_start(j);
	pthread_mutex_lock(&j->mtx);
	if (j->pending.len > PENDING_MAX) {
		pthread_mutex_unlock(&j->mtx);
		errno = ENOBUFS;
		return -1;
	}
	journal_take_id(j, job);
	b = pending_rec(j, body);
	b[0] = REC_ADD;
	put64(b + 1, job->id);
	b[9] = job->prio;
	put64(b + 10, (uint64_t)job->when);
	put32(b + 18, job->attempts);
	put32(b + 22, job->func_len);
	put32(b + 26, job->unique_len);
	put32(b + 30, job->reducer != NULL ? rlen : NO_REDUCER);
	put32(b + 34, dlen);
	b += ADD_FIXED;
	if (job->func_len > 0)
		memcpy(b, job->func, job->func_len);
	b += job->func_len;
	if (job->unique_len > 0)
		memcpy(b, job->unique, job->unique_len);
	b += job->unique_len;
	if (rlen > 0)
		memcpy(b, job->reducer, rlen);
	b += rlen;
	if (dlen > 0) {
		if (job->data != NULL)
			evbuffer_copyout(job->data, b, dlen);
		else
			memcpy(b, job->data_ptr, dlen);
	}
	idx_push(&j->idx, job->id, job->attempts, 0, 0);
	j->pending_seq = ++j->add_seq;
	pthread_mutex_unlock(&j->mtx);

	if (j->ack_n == j->ack_cap) {
		na = xreallocarray(NULL, j->ack_cap ? j->ack_cap * 2 : 1024,
		    sizeof(*na));
		for (i = 0; i < j->ack_n; i++)
			na[i] = j->acks[(j->ack_head + i) % j->ack_cap];
		free(j->acks);
		j->acks = na;
		j->ack_head = 0;
		j->ack_cap = j->ack_cap ? j->ack_cap * 2 : 1024;
	}
	na = &j->acks[(j->ack_head + j->ack_n) % j->ack_cap];
	na->done = done;
	na->arg = arg;
	na->id = job->id;
	j->ack_n++;
	return 1;
}

/* Record that job id was handed out again; attempts is its new count. */
void
journal_attempt(struct journal *j, uint64_t id, uint32_t attempts)
{
	struct jent	*e;
	uint8_t		*b;

	if (!j->disk)
		return;
	e = idx_find(&j->idx, id);
	if (e == NULL || e->seg == JENT_DEAD)
		return;
	writer_start(j);
	pthread_mutex_lock(&j->mtx);
	e->attempts = attempts;
	b = pending_rec(j, ATTEMPT_LEN);
	b[0] = REC_ATTEMPT;
	put64(b + 1, id);
	put32(b + 9, attempts);
	pthread_mutex_unlock(&j->mtx);
}

/* Record that job id is gone for good. */
void
journal_end(struct journal *j, uint64_t id, enum journal_end how)
{
	struct jent	*e;
	uint8_t		*b;

	if (!j->disk) {
		if (j->mem_live > 0)
			j->mem_live--;
		return;
	}
	e = idx_find(&j->idx, id);
	if (e == NULL || e->seg == JENT_DEAD)
		return;
	writer_start(j);
	pthread_mutex_lock(&j->mtx);
	e->seg = JENT_DEAD;
	j->idx.ndead++;
	b = pending_rec(j, END_LEN);
	b[0] = REC_END;
	put64(b + 1, id);
	b[9] = how;
	idx_tidy(&j->idx, 0);
	pthread_mutex_unlock(&j->mtx);
}

/* Test hook: make every write fail with err (0: stop failing). */
void
journal_fault(struct journal *j, int err)
{
	if (!j->disk)
		return;
	pthread_mutex_lock(&j->mtx);
	j->fault = err;
	pthread_mutex_unlock(&j->mtx);
}

static uint64_t
journal_bytes(struct journal *j)
{
	uint64_t	 n = 0;
	size_t		 i;

	for (i = 0; i < j->nsegs; i++)
		n += j->segs[i].size;
	return n;
}

/* Fill st with the journal's figures. */
void
journal_stats(struct journal *j, struct journal_stats *st)
{
	uint64_t	 live;

	memset(st, 0, sizeof(*st));
	if (!j->disk) {
		st->sync = "none";
		st->live = j->mem_live;
		return;
	}
	st->enabled = 1;
	st->dir = j->dir;
	switch (j->opts.sync) {
	case JOURNAL_SYNC_ALWAYS:
		st->sync = "always";
		break;
	case JOURNAL_SYNC_INTERVAL:
		st->sync = "interval";
		break;
	case JOURNAL_SYNC_NEVER:
		st->sync = "never";
		break;
	}
	pthread_mutex_lock(&j->mtx);
	live = idx_live(&j->idx);
	st->bytes = journal_bytes(j);
	st->live = live;
	st->dead = j->records > live ? j->records - live : 0;
	st->flushes = j->flushes;
	st->last_flush_us = j->last_flush_us;
	st->peak_flush_us = j->peak_flush_us;
	st->compactions = j->compactions;
	st->write_errors = j->write_errors;
	pthread_mutex_unlock(&j->mtx);
}

/*
 * Decide whether to compact and, if so, take the live set now, when it
 * matches what is on disk plus the batch being written.  Under mtx.
 */
static struct jcompact *
compact_begin(struct journal *j)
{
	struct jcompact	*cp;
	struct timespec	 now;
	uint64_t	 live;
	size_t		 i, k;

	live = idx_live(&j->idx);
	if (j->compacting || j->records <= 2 * live ||
	    journal_bytes(j) < j->compact_min)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < j->compact_after)
		return NULL;
	cp = xcalloc(1, sizeof(*cp));
	cp->j = j;
	cp->ids = xreallocarray(NULL, live ? live : 1, sizeof(*cp->ids));
	cp->attempts = xreallocarray(NULL, live ? live : 1,
	    sizeof(*cp->attempts));
	for (i = k = 0; i < j->idx.n; i++) {
		if (j->idx.e[i].seg == JENT_DEAD)
			continue;
		cp->ids[k] = j->idx.e[i].id;
		cp->attempts[k++] = j->idx.e[i].attempts;
	}
	cp->n = k;
	cp->nold = j->nsegs;
	cp->old = xreallocarray(NULL, j->nsegs, sizeof(*cp->old));
	for (i = 0; i < j->nsegs; i++)
		cp->old[i] = j->segs[i].seq;
	cp->base_seq = j->cur_seq + 1;
	cp->next_id = j->next_id;
	j->compacting = 1;
	return cp;
}

static void
compact_free(struct jcompact *cp)
{
	free(cp->ids);
	free(cp->attempts);
	free(cp->old);
	free(cp);
}

/* Give up on a compaction before it started. */
static void
compact_abort(struct journal *j, struct jcompact *cp)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&j->mtx);
	j->compacting = 0;
	j->compact_after = now.tv_sec + COMPACT_RETRY_S;
	pthread_mutex_unlock(&j->mtx);
	compact_free(cp);
}

/*
 * Switch appends to a new segment and start the compaction thread on the
 * old ones.  The number between them is kept for the compacted segment.
 */
static void
compact_start(struct journal *j, struct jcompact *cp)
{
	sigset_t	 all, old;
	uint64_t	 seq = j->cur_seq + 2;
	int		 fd;

	if (seg_trim(j) == 0 && j->dirty && fdatasync(j->fd) == 0)
		j->dirty = 0;
	if ((fd = seg_create(j, seq, 0, cp->next_id)) == -1) {
		log_warn("journal %s: cannot start a new segment", j->dir);
		compact_abort(j, cp);
		return;
	}
	close(j->fd);
	j->fd = fd;
	j->cur_seq = seq;
	j->good = j->alloc = HDR_SIZE;
	if (j->compactor_run) {
		pthread_join(j->compactor, NULL);
		j->compactor_run = 0;
	}
	pthread_mutex_lock(&j->mtx);
	cp->old_records = j->records;
	j->segs = xreallocarray(j->segs, j->nsegs + 1, sizeof(*j->segs));
	j->segs[j->nsegs].seq = seq;
	j->segs[j->nsegs].size = HDR_SIZE;
	j->nsegs++;
	pthread_mutex_unlock(&j->mtx);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&j->compactor, NULL, compact_main, cp) != 0) {
		log_warnx("journal: cannot start the compaction thread");
		compact_abort(j, cp);
	} else
		j->compactor_run = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * Write the live jobs of the old segments into a new base segment (temp
 * file, fsync, rename), then remove the old segments.
 */
static void *
compact_main(void *arg)
{
	struct jcompact	*cp = arg;
	struct journal	*j = cp->j;
	struct jbuf	 out = { NULL, 0, 0 };
	struct stat	 sb;
	struct jrec	 r;
	struct timespec	 t0, t1;
	const char	*why;
	uint8_t		*p;
	uint64_t	 written = 0, woff = 0, size = 0;
	size_t		 i, k = 0, off, n, m;
	char		*tmp, *path;
	int		 fd, sfd, e = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	xasprintf(&tmp, "%s/compact.tmp", j->dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd == -1) {
		e = errno;
		goto fail;
	}
	hdr_make(jbuf_grow(&out, HDR_SIZE), HDR_BASE, cp->next_id);
	for (i = 0; i < cp->nold && e == 0; i++) {
		path = seg_path(j, cp->old[i]);
		sfd = open(path, O_RDONLY | O_CLOEXEC);
		free(path);
		if (sfd == -1 || fstat(sfd, &sb) == -1) {
			e = errno;
			if (sfd != -1)
				close(sfd);
			break;
		}
		m = sb.st_size;
		p = m > 0 ? mmap(NULL, m, PROT_READ, MAP_PRIVATE, sfd, 0) :
		    NULL;
		close(sfd);
		if (p == MAP_FAILED) {
			e = errno;
			break;
		}
		if (p != NULL)
			madvise(p, m, MADV_SEQUENTIAL);
		for (off = HDR_SIZE; off < m; off += n) {
			if ((n = rec_parse(p + off, m - off, &r, &why)) == 0) {
				log_warnx("journal: segment %016" PRIx64 ": "
				    "%s at offset %zu", cp->old[i], why, off);
				e = EIO;
				break;
			}
			if (r.type != REC_ADD)
				continue;
			while (k < cp->n && cp->ids[k] < r.id)
				k++;
			if (k < cp->n && cp->ids[k] == r.id) {
				rec_copy_add(&out, p + off, cp->attempts[k]);
				written++;
				k++;
			}
			if (out.len >= (8U << 20)) {
				if ((e = pwrite_all(fd, out.b, out.len,
				    woff)) != 0)
					break;
				woff += out.len;
				out.len = 0;
			}
		}
		if (p != NULL)
			munmap(p, m);
	}
	if (e == 0)
		e = pwrite_all(fd, out.b, out.len, woff);
	size = woff + out.len;
	if (e == 0 && fsync(fd) == -1)
		e = errno;
	if (close(fd) == -1 && e == 0)
		e = errno;
	path = seg_path(j, cp->base_seq);
	if (e == 0 && rename(tmp, path) == -1)
		e = errno;
	if (e == 0 && fsync(j->dirfd) == -1)
		e = errno;
	free(path);
	if (e != 0)
		goto fail;
	for (i = 0; i < cp->nold; i++) {
		path = seg_path(j, cp->old[i]);
		if (unlink(path) == -1)
			log_warn("journal: unlink %s", path);
		free(path);
	}
	fsync(j->dirfd);
	pthread_mutex_lock(&j->mtx);
	for (i = k = 0; i < j->nsegs; i++)
		if (j->segs[i].seq > cp->base_seq)
			j->segs[k++] = j->segs[i];
	memmove(j->segs + 1, j->segs, k * sizeof(*j->segs));
	j->segs[0].seq = cp->base_seq;
	j->segs[0].size = size;
	j->nsegs = k + 1;
	j->records = j->records - cp->old_records + written;
	j->compactions++;
	j->compacting = 0;
	pthread_mutex_unlock(&j->mtx);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("journal %s: compacted %zu segments into one of %" PRIu64
	    " jobs, %" PRIu64 " bytes, in %" PRId64 " ms", j->dir, cp->nold,
	    written, size, ts_ms(&t0, &t1));
	free(tmp);
	free(out.b);
	compact_free(cp);
	return NULL;
fail:
	unlink(tmp);
	log_warnx("journal %s: compaction failed: %s", j->dir, strerror(e));
	pthread_mutex_lock(&j->mtx);
	j->write_errors++;
	pthread_mutex_unlock(&j->mtx);
	free(tmp);
	free(out.b);
	compact_abort(j, cp);
	return NULL;
}

/*
 * Keep the ATTEMPT and END records of a failed batch whose job's ADD is
 * on disk already, so they are written later; drop the rest.
 */
static void
batch_retain(struct jbuf *batch, struct jbuf *keep)
{
	uint64_t	*adds = NULL, id;
	size_t		 nadds = 0, off, n, lo, hi, mid;
	uint8_t		*p;
	int		 found;

	for (off = 0; off < batch->len; off += n) {
		p = batch->b + off;
		n = REC_HDR + (size_t)get32(p);
		id = get64(p + REC_HDR + 1);
		if (p[REC_HDR] == REC_ADD) {
			adds = xreallocarray(adds, nadds + 1, sizeof(*adds));
			adds[nadds++] = id;
			continue;
		}
		found = 0;
		for (lo = 0, hi = nadds; lo < hi && !found;) {
			mid = lo + (hi - lo) / 2;
			if (adds[mid] < id)
				lo = mid + 1;
			else if (adds[mid] > id)
				hi = mid;
			else
				found = 1;
		}
		if (!found)
			memcpy(jbuf_grow(keep, n), p, n);
	}
	free(adds);
}

/*
 * Write zeros ahead of the appends up to at least end, and sync them once:
 * later appends then overwrite allocated blocks without changing the file
 * size, and fdatasync need not commit metadata.  When the disk has no room
 * for the zeros, appends go on without them.
 */
static void
seg_extend(struct journal *j, uint64_t end)
{
	static const uint8_t	 zero[65536];
	uint64_t		 to, off;
	size_t			 n;
	int			 e = 0;

	to = (end + PREALLOC - 1) / PREALLOC * PREALLOC;
	if (j->alloc < j->good)
		j->alloc = j->good;
	for (off = j->alloc; off < to && e == 0; off += n) {
		n = to - off < sizeof(zero) ? to - off : sizeof(zero);
		e = pwrite_all(j->fd, zero, n, off);
	}
	if (e == 0 && fdatasync(j->fd) == -1)
		e = errno;
	if (e != 0) {
		if (ftruncate(j->fd, j->good) == 0)
			j->alloc = j->good;
		return;
	}
	j->alloc = to;
}

/* Cut the unused zeros off the current segment; 0 or -1. */
static int
seg_trim(struct journal *j)
{
	if (j->fd == -1 || j->alloc == j->good)
		return 0;
	if (ftruncate(j->fd, j->good) == -1) {
		log_warn("journal %s: truncate", j->dir);
		return -1;
	}
	j->alloc = j->good;
	j->dirty = 1;
	return 0;
}

/*
 * Write one batch (and sync it per the mode).  Return 0 or an errno value;
 * on error the file is cut back to its last good size.
 */
static int
batch_write(struct journal *j, int fault, uint64_t *nrec)
{
	struct jbuf	*b = &j->batch;
	size_t		 off, len;
	int		 e;

	*nrec = 0;
	for (off = 0; off < b->len; off += REC_HDR + len) {
		len = get32(b->b + off);
		rec_seal(b->b + off, len);
		(*nrec)++;
	}
	if (fault == 0 && j->good + b->len > j->alloc)
		seg_extend(j, j->good + b->len);
	if (fault != 0) {
		/* Simulate a short write, then the failure. */
		pwrite_all(j->fd, b->b, b->len / 2, j->good);
		e = fault;
	} else
		e = pwrite_all(j->fd, b->b, b->len, j->good);
	if (e == 0 && j->opts.sync == JOURNAL_SYNC_ALWAYS &&
	    fdatasync(j->fd) == -1)
		e = errno;
	if (e != 0) {
		if (ftruncate(j->fd, j->good) == -1)
			log_warn("journal %s: cannot cut back a failed write",
			    j->dir);
		else
			j->alloc = j->good;
		return e;
	}
	j->good += b->len;
	if (j->alloc < j->good)
		j->alloc = j->good;
	if (j->opts.sync == JOURNAL_SYNC_ALWAYS)
		clock_gettime(CLOCK_MONOTONIC, &j->last_sync);
	else
		j->dirty = 1;
	return 0;
}

/* The writer thread: write batches, sync them, post completions. */
static void *
writer_main(void *arg)
{
	struct journal	*j = arg;
	struct jbuf	 t, keep = { NULL, 0, 0 };
	struct jcompact	*cp;
	struct timespec	 now, dl, t0, t1;
	uint64_t	 upto, nrec, us;
	int		 e, fault, post, sync_due, stop;

	pthread_mutex_lock(&j->mtx);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (j->pending.len > 0 && !j->stop &&
		    ts_ms(&now, &j->retry_at) > 0) {
			pthread_cond_timedwait(&j->cond, &j->mtx, &j->retry_at);
			continue;
		}
		sync_due = j->dirty && (j->stop ||
		    (j->opts.sync == JOURNAL_SYNC_INTERVAL &&
		    ts_ms(&j->last_sync, &now) >= j->opts.interval_ms));
		if (j->pending.len == 0 && !sync_due) {
			if (j->stop)
				break;
			if (j->dirty &&
			    j->opts.sync == JOURNAL_SYNC_INTERVAL) {
				dl = j->last_sync;
				ts_add_ms(&dl, j->opts.interval_ms);
				pthread_cond_timedwait(&j->cond, &j->mtx, &dl);
			} else
				pthread_cond_wait(&j->cond, &j->mtx);
			continue;
		}
		t = j->batch;
		j->batch = j->pending;
		j->pending = t;
		j->pending.len = 0;
		upto = j->pending_seq;
		fault = j->fault;
		stop = j->stop;
		cp = compact_begin(j);
		pthread_mutex_unlock(&j->mtx);

		e = 0;
		nrec = 0;
		us = 0;
		if (j->batch.len > 0) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			e = batch_write(j, fault, &nrec);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			us = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
			    (t1.tv_nsec - t0.tv_nsec) / 1000;
			if (e != 0) {
				log_warnx("journal %s: write failed: %s", j->dir,
				    strerror(e));
				keep.len = 0;
				batch_retain(&j->batch, &keep);
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (j->dirty && (stop || (j->opts.sync ==
		    JOURNAL_SYNC_INTERVAL && ts_ms(&j->last_sync, &now) >=
		    j->opts.interval_ms))) {
			if (fdatasync(j->fd) == -1)
				log_warn("journal %s: fsync", j->dir);
			j->dirty = 0;
			j->last_sync = now;
		}

		pthread_mutex_lock(&j->mtx);
		if (j->batch.len > 0) {
			j->flushes++;
			j->last_flush_us = us;
			if (us > j->peak_flush_us)
				j->peak_flush_us = us;
			if (e == 0) {
				j->records += nrec;
				j->segs[j->nsegs - 1].size = j->good;
			} else {
				j->write_errors++;
				j->retry_at = now;
				ts_add_ms(&j->retry_at, RETRY_MS);
				if (keep.len > 0 && !stop) {
					memcpy(jbuf_grow(&keep,
					    j->pending.len), j->pending.b,
					    j->pending.len);
					t = j->pending;
					j->pending = keep;
					keep = t;
				} else if (keep.len > 0)
					log_warnx("journal %s: %zu bytes of "
					    "records lost at shutdown",
					    j->dir, keep.len);
			}
		}
		post = upto > j->posted_seq;
		if (post) {
			if (j->ncompl == j->compl_cap) {
				j->compl_cap = j->compl_cap ?
				    j->compl_cap * 2 : 64;
				j->compl = xreallocarray(j->compl,
				    j->compl_cap, sizeof(*j->compl));
			}
			j->compl[j->ncompl].upto = upto;
			j->compl[j->ncompl++].err = e;
			j->posted_seq = upto;
		}
		pthread_mutex_unlock(&j->mtx);
		if (post)
			notify_loop(j);
		j->batch.len = 0;
		if (cp != NULL) {
			if (e == 0)
				compact_start(j, cp);
			else
				compact_abort(j, cp);
		}
		pthread_mutex_lock(&j->mtx);
	}
	pthread_mutex_unlock(&j->mtx);
	free(keep.b);
	return NULL;
}

/* Write what is queued, stop the threads and release the directory. */
void
journal_close(struct journal *j)
{
	size_t	 i;

	if (j == NULL)
		return;
	if (j->disk) {
		if (j->started) {
			pthread_mutex_lock(&j->mtx);
			j->stop = 1;
			pthread_cond_signal(&j->cond);
			pthread_mutex_unlock(&j->mtx);
			pthread_join(j->writer, NULL);
			if (j->compactor_run)
				pthread_join(j->compactor, NULL);
		}
		if (j->ev != NULL)
			event_free(j->ev);
		if (j->kick != NULL)
			event_free(j->kick);
		if (j->efd != -1)
			close(j->efd);
		if (j->fd != -1) {
			if (seg_trim(j) == 0 && j->dirty)
				fdatasync(j->fd);
			close(j->fd);
		}
		for (i = 0; i < j->nmaps; i++)
			if (j->maps[i].p != NULL)
				munmap(j->maps[i].p, j->maps[i].len);
		if (j->lockfd != -1)
			close(j->lockfd);
		if (j->dirfd != -1)
			close(j->dirfd);
		pthread_mutex_destroy(&j->mtx);
		pthread_cond_destroy(&j->cond);
	}
	free(j->maps);
	free(j->dir);
	free(j->acks);
	free(j->compl);
	free(j->compl_spare);
	free(j->segs);
	free(j->idx.e);
	free(j->pending.b);
	free(j->batch.b);
	free(j);
}
