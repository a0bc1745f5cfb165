/* Public domain. See README.md for the licence of this project. */
/*
 * Timers: one evtimer and two binary heaps of jobs, epoch jobs by their
 * due time (wall clock) and running jobs by their CAN_DO_TIMEOUT deadline
 * (monotonic clock).  A job is in at most one heap, chosen by its state;
 * j_tidx is its 1-based place there (0: in none).
 */

#include <sys/time.h>

#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "gm-server.h"

/* Wake at least this often, so a changed wall clock is noticed. */
#define TIMER_MAX_WAIT_MS	10000

struct heap {
	struct job	**h_v;		/* h_v[1..h_n] */
	size_t		  h_n;
	size_t		  h_cap;
};

static struct heap	 epochs;	/* JOB_WAITING, key: due wall ms */
static struct heap	 deadlines;	/* JOB_RUNNING, key: deadline mono ms */
static struct event	*timer_ev;

static struct heap	*heap_of(struct job *);
static void		 heap_set(struct heap *, size_t, struct job *);
static void		 heap_up(struct heap *, size_t);
static void		 heap_down(struct heap *, size_t);
static void		 timer_fire(evutil_socket_t, short, void *);
static void		 timer_schedule(void);

/* Milliseconds since the epoch (wall clock). */
int64_t
timer_now_ms(void)
{
	struct timeval	 tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Milliseconds of the monotonic clock. */
int64_t
timer_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Microseconds of the monotonic clock (queue wait and run times). */
int64_t
timer_mono_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Create the timer event. */
void
timer_init(void)
{
	timer_ev = evtimer_new(base, timer_fire, NULL);
}

/* Free the heaps and the event (jobs belong to queue.c). */
void
timer_free(void)
{
	free(epochs.h_v);
	free(deadlines.h_v);
	epochs.h_v = deadlines.h_v = NULL;
	epochs.h_n = deadlines.h_n = 0;
	epochs.h_cap = deadlines.h_cap = 0;
	if (timer_ev != NULL)
		event_free(timer_ev);
	timer_ev = NULL;
}

static struct heap *
heap_of(struct job *j)
{
	return j->j_state == JOB_WAITING ? &epochs : &deadlines;
}

static void
heap_set(struct heap *h, size_t i, struct job *j)
{
	h->h_v[i] = j;
	j->j_tidx = (uint32_t)i;
}

static void
heap_up(struct heap *h, size_t i)
{
	struct job	*j = h->h_v[i];

	while (i > 1 && h->h_v[i / 2]->j_key > j->j_key) {
		heap_set(h, i, h->h_v[i / 2]);
		i /= 2;
	}
	heap_set(h, i, j);
}

static void
heap_down(struct heap *h, size_t i)
{
	struct job	*j = h->h_v[i];
	size_t		 c;

	while ((c = 2 * i) <= h->h_n) {
		if (c < h->h_n && h->h_v[c + 1]->j_key < h->h_v[c]->j_key)
			c++;
		if (h->h_v[c]->j_key >= j->j_key)
			break;
		heap_set(h, i, h->h_v[c]);
		i = c;
	}
	heap_set(h, i, j);
}

/* Add a job by its j_key (due time or deadline, per its state). */
void
timer_add(struct job *j)
{
	struct heap	*h = heap_of(j);
	struct job	*top = h->h_n > 0 ? h->h_v[1] : NULL;

	if (h->h_n + 1 >= h->h_cap) {
		h->h_cap = h->h_cap ? h->h_cap * 2 : 64;
		h->h_v = xreallocarray(h->h_v, h->h_cap, sizeof(*h->h_v));
	}
	h->h_v[++h->h_n] = j;
	heap_up(h, h->h_n);
	if (h->h_v[1] != top)
		timer_schedule();
}

/* Remove a job from its heap, if it is in one. */
void
timer_del(struct job *j)
{
	struct heap	*h = heap_of(j);
	size_t		 i = j->j_tidx;
	struct job	*last;

	if (i == 0 || i > h->h_n || h->h_v[i] != j)
		return;
	j->j_tidx = 0;
	last = h->h_v[h->h_n--];
	if (i <= h->h_n) {
		heap_set(h, i, last);
		heap_up(h, i);
		heap_down(h, last->j_tidx);
	}
}

/* Arm the event for the earliest due time of both heaps. */
static void
timer_schedule(void)
{
	struct timeval	 tv;
	int64_t		 wait = TIMER_MAX_WAIT_MS, w;

	if (epochs.h_n == 0 && deadlines.h_n == 0) {
		evtimer_del(timer_ev);
		return;
	}
	if (epochs.h_n > 0) {
		w = epochs.h_v[1]->j_key - timer_now_ms();
		if (w < wait)
			wait = w;
	}
	if (deadlines.h_n > 0) {
		w = deadlines.h_v[1]->j_key - timer_mono_ms();
		if (w < wait)
			wait = w;
	}
	if (wait < 0)
		wait = 0;
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	evtimer_add(timer_ev, &tv);
}

/* Pop one heap's top. */
static struct job *
heap_pop(struct heap *h)
{
	struct job	*j = h->h_v[1];

	timer_del(j);
	return j;
}

/* Run everything that is due, then re-arm. */
static void
timer_fire(evutil_socket_t fd __unused, short what __unused,
    void *arg __unused)
{
	struct job	*j;
	int64_t		 now = timer_now_ms(), mono = timer_mono_ms();

	while (epochs.h_n > 0 && epochs.h_v[1]->j_key <= now) {
		j = heap_pop(&epochs);
		queue_timer_due(j);
	}
	while (deadlines.h_n > 0 && deadlines.h_v[1]->j_key <= mono) {
		j = heap_pop(&deadlines);
		queue_timer_due(j);
	}
	timer_schedule();
}
