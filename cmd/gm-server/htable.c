/* Public domain. See README.md for the licence of this project. */
/*
 * The one hash table gm-server uses, three times: jobs by handle number,
 * jobs by unique id and functions by name.  It is intrusive and chained:
 * each entry holds its own chain pointer (at t_link), so indexing an
 * entry allocates nothing, and the table keeps no copy of a key.  The
 * caller hashes and compares keys; the table only asks an entry's hash
 * back (t_hash) when it doubles, which it does once chains average two.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>

#include "xmalloc.h"
#include "gm-server.h"

#define HTABLE_FIRST	1024	/* buckets at first; a power of two */

static void	**link_of(const struct htable *, void *);
static void	  htable_grow(struct htable *);

/* An empty table of entries whose chain pointer is at offset link. */
void
htable_init(struct htable *t, size_t link, uint32_t (*hash)(const void *))
{
	t->t_mask = HTABLE_FIRST - 1;
	t->t_n = 0;
	t->t_link = link;
	t->t_hash = hash;
	t->t_b = xcalloc(t->t_mask + 1, sizeof(*t->t_b));
}

/* Free the buckets (the entries are the caller's). */
void
htable_free(struct htable *t)
{
	free(t->t_b);
	t->t_b = NULL;
	t->t_n = 0;
}

static void **
link_of(const struct htable *t, void *e)
{
	return (void **)((char *)e + t->t_link);
}

/* Double the buckets, rehashing every entry through t_hash. */
static void
htable_grow(struct htable *t)
{
	void	**nb, *e, *next;
	size_t	  i, nmask = t->t_mask * 2 + 1, b;

	nb = xcalloc(nmask + 1, sizeof(*nb));
	for (i = 0; i <= t->t_mask; i++) {
		for (e = t->t_b[i]; e != NULL; e = next) {
			next = *link_of(t, e);
			b = t->t_hash(e) & nmask;
			*link_of(t, e) = nb[b];
			nb[b] = e;
		}
	}
	free(t->t_b);
	t->t_b = nb;
	t->t_mask = nmask;
}

/* Index entry e under hash h (at the head of its chain). */
void
htable_insert(struct htable *t, void *e, uint32_t h)
{
	size_t	 b = h & t->t_mask;

	*link_of(t, e) = t->t_b[b];
	t->t_b[b] = e;
	if (++t->t_n > 2 * (t->t_mask + 1))
		htable_grow(t);
}

/* Unindex entry e, indexed under hash h; -1 if it was not there. */
int
htable_remove(struct htable *t, void *e, uint32_t h)
{
	void	**pp;

	for (pp = &t->t_b[h & t->t_mask]; *pp != NULL; pp = link_of(t, *pp)) {
		if (*pp == e) {
			*pp = *link_of(t, e);
			t->t_n--;
			return 0;
		}
	}
	return -1;
}

/*
 * The chain hash h falls in: its first entry; the caller follows the
 * entries' own chain pointers and compares keys, as other hashes share
 * the chain.
 */
void *
htable_first(const struct htable *t, uint32_t h)
{
	return t->t_b[h & t->t_mask];
}

/*
 * Call fn for every entry, chain by chain (the order gearmand lists
 * jobs in).  fn may free the entry it is given, but no other.
 */
void
htable_foreach(const struct htable *t, void (*fn)(void *, void *), void *arg)
{
	void	*e, *next;
	size_t	 i;

	for (i = 0; i <= t->t_mask; i++)
		for (e = t->t_b[i]; e != NULL; e = next) {
			next = *link_of(t, e);
			fn(e, arg);
		}
}

/* FNV-1a over len bytes, from seed (HTABLE_SEED, or another to vary). */
uint32_t
htable_hash(const void *p, size_t len, uint32_t seed)
{
	const uint8_t	*s = p;
	uint32_t	 h = seed;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 16777619U;
	}
	return h;
}
