/* Public domain. See README.md for the licence of this project. */
/*
 * The journal's memory of its jobs: the index of the jobs it holds (a
 * sorted array by id, ended ones marked dead and swept out in bulk) and
 * the table of fates (retry waits and failed jobs, a red-black tree by
 * id).  Replay, the API calls and compaction read and change them under
 * the journal's rules; nothing here touches a file.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "journal_int.h"
#include "xmalloc.h"

/*
 * Find id in the index; NULL if it is not there.  Jobs mostly end in the
 * order they came and ids are taken one after another, so the entry is
 * first looked for where it is when no entry after it was tidied away:
 * as far from the end as its id is from the last one.  That spares most
 * ends a binary search over the thousands of dead entries kept between
 * tidyings.
 */
struct jent *
idx_find(struct jindex *x, uint64_t id)
{
	size_t		 lo = 0, hi = x->n, mid;
	uint64_t	 back;

	if (hi == 0 || id > x->e[hi - 1].id)
		return NULL;
	back = x->e[hi - 1].id - id;
	if (back < hi) {
		mid = hi - 1 - (size_t)back;
		if (x->e[mid].id == id)
			return &x->e[mid];
		/*
		 * Ids increase by at least one an entry, so e[mid].id <= id:
		 * entries after it were tidied away and it is further right.
		 */
		lo = mid + 1;
	}
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
void
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
void
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


/* Mark a live entry dead. */
void
idx_kill(struct jindex *x, struct jent *e)
{
	e->seg = JENT_DEAD;
	x->ndead++;
}

uint64_t
idx_live(const struct jindex *x)
{
	return x->n - x->ndead;
}

static int
jfate_cmp(const struct jfate *a, const struct jfate *b)
{
	return a->f_id < b->f_id ? -1 : a->f_id > b->f_id;
}
RB_GENERATE_STATIC(jfates, jfate, f_entry, jfate_cmp)

/* The FATE record kept for job id, or NULL. */
struct jfate *
fate_find(struct journal *j, uint64_t id)
{
	struct jfate	 key;

	if (j->nfates == 0)
		return NULL;
	key.f_id = id;
	return RB_FIND(jfates, &j->fates, &key);
}

/* Forget job id's FATE record. */
void
fate_del(struct journal *j, uint64_t id)
{
	struct jfate	*f;

	if ((f = fate_find(j, id)) == NULL)
		return;
	RB_REMOVE(jfates, &j->fates, f);
	j->nfates--;
	free(f->f_rec);
	free(f);
}

/*
 * Keep r (a FATE) as its job's last one, as a whole sealed record; state
 * 0 (queued again) forgets it instead.
 */
void
fate_set(struct journal *j, const struct jrec *r)
{
	struct jfate	*f;
	size_t		 body = FATE_FIXED + (size_t)r->error_len;

	if (r->state == JOURNAL_FATE_QUEUED) {
		fate_del(j, r->id);
		return;
	}
	if ((f = fate_find(j, r->id)) == NULL) {
		f = xcalloc(1, sizeof(*f));
		f->f_id = r->id;
		RB_INSERT(jfates, &j->fates, f);
		j->nfates++;
	} else
		free(f->f_rec);
	f->f_len = REC_HDR + body;
	f->f_rec = xmalloc(f->f_len);
	rec_fate_put(f->f_rec + REC_HDR, r);
	rec_seal(f->f_rec, (uint32_t)body);
}

/* Copy job id's FATE record, if it has one, into out; 1 if it did. */
int
fate_copy(struct journal *j, uint64_t id, struct jbuf *out)
{
	struct jfate	*f;

	if ((f = fate_find(j, id)) == NULL)
		return 0;
	memcpy(jbuf_grow(out, f->f_len), f->f_rec, f->f_len);
	return 1;
}

/* Every FATE record kept, in id order, into out (under mtx). */
void
fates_snapshot(struct journal *j, struct jbuf *out)
{
	struct jfate	*f;

	RB_FOREACH(f, jfates, &j->fates)
		memcpy(jbuf_grow(out, f->f_len), f->f_rec, f->f_len);
}

/*
 * Copy the FATE record of job id from fates (records in id order, read
 * from *off on) into out; return how many were copied (0 or 1).
 */
int
fate_next(const struct jbuf *fates, size_t *off, uint64_t id,
    struct jbuf *out)
{
	const uint8_t	*p;
	uint64_t	 fid;
	size_t		 n;

	while (*off < fates->len) {
		p = fates->b + *off;
		n = REC_HDR + (size_t)le_get32(p);
		fid = le_get64(p + REC_HDR + 1);
		if (fid > id)
			return 0;
		*off += n;
		if (fid == id) {
			memcpy(jbuf_grow(out, n), p, n);
			return 1;
		}
	}
	return 0;
}

/* Free every fate (journal_close). */
void
fates_free(struct journal *j)
{
	while (j->nfates > 0)
		fate_del(j, RB_MIN(jfates, &j->fates)->f_id);
}
