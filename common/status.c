/* Public domain. See README.md for the licence of this project. */
/*
 * The exit status of a shell tool, as the most serious outcome so far,
 * and the usage message every program ends with on a bad command line.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "status.h"

static int	 worst = ST_OK;

/* Remember an outcome; the highest status seen is the exit status. */
void
status_set(int st)
{
	if (st > worst)
		worst = st;
}

/* The highest status seen. */
int
status_worst(void)
{
	return worst;
}

/* Start over (gm-admin watch: each round has its own status). */
void
status_reset(void)
{
	worst = ST_OK;
}

/*
 * Print a usage message and exit.  Every program's usage(status) calls
 * this: status 0 is help (standard output, exit 0), any other status is a
 * usage error (standard error, exit with that status).
 */
void
status_usage(int status, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfprintf(status == 0 ? stdout : stderr, fmt, ap);
	va_end(ap);
	exit(status);
}
