/* Public domain. See README.md for the licence of this project. */
/* gm-work: a Gearman worker that runs a command per job. */
#ifndef GM_WORK_H
#define GM_WORK_H

#include <sys/types.h>

#include <stdint.h>

#include "proto.h"

struct evbuffer;
struct event_base;
struct job;
struct server;

/* Ways of sending the command's stdout. */
enum out_mode {
	OUT_WHOLE,		/* all of it in WORK_COMPLETE */
	OUT_LINES,		/* -n: one WORK_DATA per line, newline kept */
	OUT_LINES_NONL		/* -N: the same without the newline */
};

struct config {
	char		**argv;		/* command and arguments; NULL: echo */
	char		**funcs;	/* -f names, in order */
	size_t		  nfuncs;
	enum out_mode	  out;
	int		  exceptions;	/* -x: WORK_EXCEPTION, not WARNING+FAIL */
	long long	  timeout;	/* -t seconds; 0: none */
	long long	  maxjobs;	/* -j */
	long long	  count;	/* -c; 0: no limit */
	int		  verbose;
};

extern struct config		 conf;
extern struct event_base	*base;

/* gm-work.c */
int		 server_send(struct server *, unsigned int, uint32_t,
		    const struct gm_arg *, int, struct evbuffer *);
const char	*server_name(struct server *);
int		 server_alive(struct server *, unsigned int);
void		 worker_job_done(struct server *, unsigned int);

/* job.c */
void		 job_start(struct server *, unsigned int, const char *,
		    const char *, const char *, struct evbuffer *);
void		 job_reap(pid_t, int);
int		 job_kill_all(int);
void		 job_free_all(void);

#endif /* GM_WORK_H */
