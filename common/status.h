/* Public domain. See README.md for the licence of this project. */
/*
 * Exit statuses of the shell tools (one meaning each; when several apply,
 * the highest wins) and the usage convention they share.
 */
#ifndef GM_STATUS_H
#define GM_STATUS_H

#include "compat.h"

#define ST_OK		0	/* all done */
#define ST_FAILED	1	/* a job failed, or a server answered ERR */
#define ST_USAGE	2	/* bad command line */
#define ST_NOSERVER	3	/* no server reachable, or one lost */
#define ST_TIMEOUT	4	/* a time limit expired */
#define ST_REFUSED	5	/* a server refused a submission (ERROR) */
#define ST_LOCAL	6	/* local error: input, output, pid file */

void	status_set(int);
int	status_worst(void);
void	status_reset(void);
__dead void status_usage(int, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));

#endif /* GM_STATUS_H */
