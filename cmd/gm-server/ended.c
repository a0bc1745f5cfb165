/* Public domain. See README.md for the licence of this project. */
/*
 * How jobs ended: a ring of the latest ends (handle number, time, how),
 * bounded by --fate-max entries and --fate-age seconds, so that `fate
 * HANDLE` can still answer for a job that is gone.  Newest first when
 * searched; the oldest entry is overwritten.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>

#include "xmalloc.h"
#include "gm-server.h"

struct ended {
	uint64_t	 e_num;
	int64_t		 e_ms;
	int		 e_how;
};

static struct ended	*ring;
static size_t		 ring_cap;
static size_t		 ring_n;	/* entries in use */
static size_t		 ring_next;	/* where the next one goes */

/* Size the ring (conf.fate_max entries). */
void
ended_init(void)
{
	ring_cap = conf.fate_max;
	ring = ring_cap > 0 ? xcalloc(ring_cap, sizeof(*ring)) : NULL;
}

/* Job num ended now, how (enum ended_how). */
void
ended_add(uint64_t num, int how)
{
	struct ended	*e;

	if (ring_cap == 0)
		return;
	e = &ring[ring_next];
	e->e_num = num;
	e->e_ms = timer_now_ms();
	e->e_how = how;
	ring_next = (ring_next + 1) % ring_cap;
	if (ring_n < ring_cap)
		ring_n++;
}

/*
 * How job num ended, if that is known and not older than --fate-age:
 * 0 with *how and *ms set, or -1.
 */
int
ended_find(uint64_t num, int *how, int64_t *ms)
{
	int64_t		 oldest = timer_now_ms() - conf.fate_age * 1000;
	size_t		 i, k;

	for (i = 0; i < ring_n; i++) {
		k = (ring_next + ring_cap - 1 - i) % ring_cap;
		if (ring[k].e_ms < oldest)
			break;
		if (ring[k].e_num == num) {
			*how = ring[k].e_how;
			*ms = ring[k].e_ms;
			return 0;
		}
	}
	return -1;
}

/* Free the ring (shutdown). */
void
ended_free(void)
{
	free(ring);
	ring = NULL;
	ring_cap = ring_n = ring_next = 0;
}
