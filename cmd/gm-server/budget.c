/* Public domain. See README.md for the licence of this project. */
/*
 * The input budget and the request deadline: how much input every
 * connection holds together (--max-input), which connections may read
 * while over that budget and which wait paused, giving memory back once
 * much input is gone, and closing connections whose partial request is
 * older than --request-timeout.  conn.c reports each change in a
 * connection's held input with conn_account and asks conn_budget before
 * it reads.
 */

#include <sys/types.h>

#include <malloc.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "compat.h"
#include "log.h"
#include "lograte.h"
#include "gm-server.h"

/* Give freed memory back to the system after this much input went. */
#define TRIM_AFTER	(16 * 1024 * 1024)

static void	conn_resume(void);
static void	conn_sweep(evutil_socket_t, short, void *);
static void	sweep_one(struct conn *, void *);

static TAILQ_HEAD(, conn) paused = TAILQ_HEAD_INITIALIZER(paused);
static struct conn	*in_owner;	/* may read while over budget */
static size_t		 in_total;	/* input held by every connection */
static size_t		 in_peak;	/* its highest since the last trim */
static int		 in_over;	/* over budget (logged) */
static struct event	*sweep_ev;	/* deadlines, log summaries */

/* Start the once a second sweep. */
void
budget_init(void)
{
	struct timeval	 tv = { 1, 0 };

	sweep_ev = event_new(base, -1, EV_PERSIST, conn_sweep, NULL);
	event_add(sweep_ev, &tv);
}

/* Stop the sweep (shutdown). */
void
budget_cleanup(void)
{
	if (sweep_ev != NULL)
		event_free(sweep_ev);
	sweep_ev = NULL;
}

/*
 * A connection closes: it no longer waits for the budget nor holds the
 * right to read over it.
 */
void
budget_forget(struct conn *c)
{
	if (c->c_flags & CONN_PAUSED) {
		TAILQ_REMOVE(&paused, c, c_pentry);
		c->c_flags &= ~CONN_PAUSED;
	}
	if (c == in_owner)
		in_owner = NULL;
}

/*
 * Once a second: close connections whose partial request is older than
 * --request-timeout (a peer that holds the server's memory by sending
 * slowly), and write the summaries of rate-limited log lines.
 */
static void
conn_sweep(evutil_socket_t fd __unused, short what __unused,
    void *arg __unused)
{
	int64_t		 old;

	log_rate_flush();
	if (conf.request_timeout <= 0)
		return;
	old = timer_mono_ms() - (int64_t)conf.request_timeout * 1000;
	conn_foreach(sweep_one, &old);
}

/* Close c if its partial request began before *arg (monotonic ms). */
static void
sweep_one(struct conn *c, void *arg)
{
	int64_t		 old = *(int64_t *)arg;

	if (c->c_partial == 0 || c->c_partial > old ||
	    (c->c_flags & (CONN_SLOW | CONN_CLOSING)))
		return;
	counters.request_timeouts++;
	log_rate(&conf.request_timeout, "fd %d (%s): closing "
	    "connection: request not complete within %d s "
	    "(--request-timeout)", c->c_fd, c->c_peer,
	    conf.request_timeout);
	conn_close(c, "request timeout");
}

/*
 * Account for a change in c's held input: the budget across connections
 * (--max-input), who may read while over it, and giving memory back once
 * much input is gone.
 */
void
conn_account(struct conn *c)
{
	size_t	 n = c->c_flags & CONN_DEAD ? 0 : evbuffer_get_length(c->c_in);

	in_total = in_total - c->c_inheld + n;
	c->c_inheld = n;
	if (n == 0)
		c->c_partial = 0;
	else if (c->c_partial == 0)
		c->c_partial = timer_mono_ms();
	if (in_total > in_peak)
		in_peak = in_total;
	if (c == in_owner && n < CONN_BLOCK) {
		in_owner = NULL;
		conn_resume();
	} else if (in_total <= conf.max_input) {
		if (in_over) {
			in_over = 0;
			log_info("input held back under the %zu byte budget "
			    "(--max-input)", conf.max_input);
		}
		conn_resume();
	}
	if (in_peak - in_total >= TRIM_AFTER && in_total < in_peak / 2) {
		malloc_trim(0);
		in_peak = in_total;
	}
}

/*
 * Whether c may read now: over the input budget, only one connection
 * that holds a large partial packet (the owner, until that packet is
 * whole) goes on, so that one packet always completes; the others with a
 * large partial packet wait.  Memory held stays under the budget plus one
 * --max-packet plus a block per connection.
 */
int
conn_budget(struct conn *c)
{
	if (c->c_flags & CONN_PAUSED) {
		event_del(c->c_rev);
		return 0;
	}
	if (in_total <= conf.max_input || c->c_inheld < CONN_BLOCK ||
	    c == in_owner)
		return 1;
	if (in_owner == NULL) {
		in_owner = c;
		return 1;
	}
	if (!in_over) {
		in_over = 1;
		log_warnx("input held (%zu bytes) over the %zu byte budget "
		    "(--max-input): reading paused for connections with a "
		    "large partial packet", in_total, conf.max_input);
	}
	counters.input_paused++;
	c->c_flags |= CONN_PAUSED;
	TAILQ_INSERT_TAIL(&paused, c, c_pentry);
	event_del(c->c_rev);
	return 0;
}

/* Let the connections paused by the budget read again. */
static void
conn_resume(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&paused)) != NULL) {
		TAILQ_REMOVE(&paused, c, c_pentry);
		c->c_flags &= ~CONN_PAUSED;
		if ((c->c_flags & (CONN_SLOW | CONN_EOF | CONN_CLOSING)) == 0)
			event_add(c->c_rev, NULL);
	}
}
