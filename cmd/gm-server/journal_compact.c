/* Public domain. See README.md for the licence of this project. */
/* Journal compaction: the live jobs rewritten into one base segment. */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal_int.h"
#include "log.h"
#include "xmalloc.h"

static void	*compact_main(void *);

/*
 * Decide whether to compact and, if so, take the live set now, when it
 * matches what is on disk plus the batch being written.  Under mtx.
 */
struct jcompact *
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
	/* In id order, as the ADD records the compaction walks. */
	fates_snapshot(j, &cp->fates);
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
	free(cp->fates.b);
	free(cp->old);
	free(cp);
}

/* Give up on a compaction before it started. */
void
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
void
compact_start(struct journal *j, struct jcompact *cp)
{
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
	if (thread_start(&j->compactor, compact_main, cp) == -1) {
		log_warnx("journal: cannot start the compaction thread");
		compact_abort(j, cp);
	} else
		j->compactor_run = 1;
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
	size_t		 i, k = 0, off, n, m, foff = 0;
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
				written += fate_next(&cp->fates, &foff, r.id,
				    &out);
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
