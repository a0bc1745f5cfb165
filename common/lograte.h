/* Public domain. See README.md for the licence of this project. */
/* Rate-limited warnings: per cause, a burst, then "N more like this". */
#ifndef GM_LOGRATE_H
#define GM_LOGRATE_H

/* At most LOGRATE_BURST lines per cause in LOGRATE_WINDOW seconds. */
#define LOGRATE_BURST	10
#define LOGRATE_WINDOW	10

void	log_rate(const void *, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
void	log_rate_flush(void);

#endif /* GM_LOGRATE_H */
