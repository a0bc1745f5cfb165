/* Public domain. See README.md for the licence of this project. */
/* Logging to stderr, a file or syslog (the OpenBSD daemon log API). */
#ifndef GM_LOG_H
#define GM_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include "compat.h"

enum log_dest {
	LOG_TO_STDERR,
	LOG_TO_SYSLOG,
	LOG_TO_FILE,
	LOG_TO_NONE
};

void	log_init(enum log_dest, const char *, int);
int	log_reopen(void);
void	log_setverbose(int);
void	log_set_fatal_status(int);
void	log_set_startup(int);
void	log_warn(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((__format__(printf, 1, 2)));
__dead void fatal(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
__dead void fatalx(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
char	*log_escape(const void *, size_t, char *, size_t);

#endif /* GM_LOG_H */
