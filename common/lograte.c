/* Public domain. See README.md for the licence of this project. */
/*
 * Rate-limited log lines, for causes a peer can repeat at will (malformed
 * packets, refused jobs): per cause, at most LOGRATE_BURST lines in a
 * window of LOGRATE_WINDOW seconds.  Lines over that are counted, and once
 * the window is over one summary line says how many there were ("N more
 * like this"), quoting the last one.
 */

#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "compat.h"
#include "log.h"
#include "lograte.h"

#define LOGRATE_CAUSES	64

struct cause {
	const void	*key;		/* NULL: free slot */
	time_t		 start;		/* window start, monotonic seconds */
	unsigned	 shown;		/* lines written in this window */
	unsigned long	 more;		/* lines counted, not written */
	char		 last[256];	/* the last line counted */
};

static struct cause	 causes[LOGRATE_CAUSES];

static time_t
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Write the summary of a window that is over, and start a new one. */
static void
cause_roll(struct cause *k, time_t now)
{
	if (k->more > 0)
		log_warnx("%lu more like this in %ld s: %s", k->more,
		    (long)(now - k->start), k->last);
	k->start = now;
	k->shown = 0;
	k->more = 0;
}

/*
 * Log a warning for cause key (any pointer that names the cause; NULL: the
 * format string, so each call site is a cause of its own), within the
 * cause's rate.
 */
void
log_rate(const void *key, const char *fmt, ...)
{
	struct cause	*k, *free_k = NULL;
	va_list		 ap;
	time_t		 now = now_s();
	size_t		 i;
	char		 line[1024];

	if (key == NULL)
		key = fmt;
	for (i = 0, k = NULL; i < LOGRATE_CAUSES; i++) {
		if (causes[i].key == key) {
			k = &causes[i];
			break;
		}
		if (causes[i].key == NULL && free_k == NULL)
			free_k = &causes[i];
	}
	if (k == NULL) {
		/* A full table shares its last slot among the rest. */
		k = free_k != NULL ? free_k : &causes[LOGRATE_CAUSES - 1];
		if (k->key != key)
			cause_roll(k, now);
		k->key = key;
	}
	if (now - k->start >= LOGRATE_WINDOW)
		cause_roll(k, now);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (k->shown < LOGRATE_BURST) {
		k->shown++;
		log_warnx("%s", line);
	} else {
		k->more++;
		strlcpy(k->last, line, sizeof(k->last));
	}
}

/* Write the summaries of windows that are over (call about once a second). */
void
log_rate_flush(void)
{
	time_t	 now = now_s();
	size_t	 i;

	for (i = 0; i < LOGRATE_CAUSES; i++)
		if (causes[i].key != NULL && causes[i].more > 0 &&
		    now - causes[i].start >= LOGRATE_WINDOW)
			cause_roll(&causes[i], now);
}
