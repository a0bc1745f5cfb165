/* Public domain. See README.md for the licence of this project. */
/*
 * gm-admin's shared declarations: the servers asked, their replies, the
 * tables printed (table.c) and the subcommand parser (parser.c).
 */
#ifndef GM_ADMIN_H
#define GM_ADMIN_H

#include <stdio.h>

#include "client.h"
#include "net.h"
#include "view.h"

enum action {
	A_NONE,
	A_STATUS,
	A_WORKERS,
	A_MEMBERS,
	A_JOBS,
	A_UNIQUE,
	A_PRIO,
	A_VERSION,
	A_GETPID,
	A_VERBOSE,
	A_MAXQUEUE,
	A_CANCEL,
	A_CREATE,
	A_DROP,
	A_JOURNAL,
	A_STATS,
	A_SHUTDOWN,
	A_SHUTDOWN_GRACEFUL,
	A_WATCH,
	A_FAILED,
	A_FAILED_SHOW,
	A_FAILED_PAYLOAD,
	A_FAILED_STATS,
	A_RETRY,
	A_PURGE,
	A_RETRIES,
	A_RETRIES_DEFAULT,
	A_RETRYING
};

struct parse_result {
	enum action	 action;
	const char	*func;		/* maxqueue, create, drop, ... */
	const char	*handle;	/* cancel, failed show, retry, purge */
	const char	*nums[3];	/* maxqueue limits, retries policy */
	int		 nnums;
	double		 interval;	/* watch, seconds */
	const char	*bad;		/* the word parse() refused */
};

enum kind {
	K_LIST,		/* lines up to ".", or one ERR line */
	K_VALUE,	/* "OK value" or ERR */
	K_OK		/* "OK" or ERR */
};

struct server {
	struct client		 c;
	int			 dead;
};

struct reply {
	int		 st;
	char		*raw;		/* the bytes as they came; freed */
	size_t		 rawlen;
	char		**lines;	/* list lines without line ends */
	size_t		 nlines;
	char		*value;		/* OK value, or the ERR text */
};

/* gm-admin.c */
extern struct server	*servers;
extern size_t		 nservers;
extern int		 json, raw;

/* table.c */
void		 table_print(const struct table *, FILE *);
void		 table_print_functions(struct table *);

/* parser.c */
int		 parse(int, char *[], struct parse_result *, const char **);
const char	*parse_keywords(void);
const char	*parse_subcommand(size_t);

#endif /* GM_ADMIN_H */
