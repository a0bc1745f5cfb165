/* Public domain. See README.md for the licence of this project. */
/* gm-admin: the subcommand parser and the actions it selects. */
#ifndef GM_ADMIN_H
#define GM_ADMIN_H

enum action {
	A_NONE,
	A_STATUS,
	A_WORKERS,
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
	A_SHUTDOWN,
	A_SHUTDOWN_GRACEFUL,
	A_WATCH
};

struct parse_result {
	enum action	 action;
	const char	*func;		/* maxqueue, create, drop */
	const char	*handle;	/* cancel */
	const char	*nums[3];	/* maxqueue limits */
	int		 nnums;
	double		 interval;	/* watch, seconds */
	const char	*bad;		/* the word parse() refused */
};

/* parser.c */
int		 parse(int, char *[], struct parse_result *, const char **);
const char	*parse_keywords(void);
const char	*parse_subcommand(size_t);

#endif /* GM_ADMIN_H */
