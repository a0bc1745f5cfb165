/* Public domain. See README.md for the licence of this project. */
/*
 * gm-submit's shared state: the jobs, the server connections and the
 * options.  gm-submit.c has the options and main, jobs.c the payloads and
 * the ordered output, servers.c the connections and the poll loop,
 * bcast.c broadcast (--all, --to).
 */
#ifndef GM_SUBMIT_H
#define GM_SUBMIT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "net.h"
#include "proto.h"

#define DEFAULT_WINDOW	64
#define CONNECT_MS	5000
#define STDIN_CHUNK	(64 * 1024)
#define DEFAULT_PROBE	10		/* --probe seconds */

struct payload {
	uint8_t		*p_buf;		/* payload freed with the last job */
	size_t		 p_len;
	int		 p_refs;
};

enum job_state {
	J_READY,		/* waiting to be sent */
	J_SENT,			/* sent, JOB_CREATED not yet received */
	J_RUNNING,		/* foreground job created on a server */
	J_DONE,
	J_GHOST			/* holds the place of a job given up while
				   its JOB_CREATED was due */
};

struct sconn;

struct job {
	TAILQ_ENTRY(job)	 j_order;	/* all jobs, input order */
	TAILQ_ENTRY(job)	 j_link;	/* ready queue or conn list */
	size_t			 j_seq;		/* payload number, from 1 */
	const char		*j_func;
	struct payload		*j_payload;
	char			 j_unique[GM_UNIQUE_SIZE];
	char			 j_handle[GM_HANDLE_SIZE];
	enum job_state		 j_state;
	int			 j_status;	/* ST_* when done */
	struct sconn		*j_conn;
	uint8_t			*j_buf;		/* output held back; freed */
	size_t			 j_buflen;
	size_t			 j_bufcap;
	int			 j_wrote;	/* some output is on stdout */
	char			*j_warn;	/* last WORK_WARNING; freed */
	size_t			 j_wlen;
	int64_t			 j_deadline;	/* -t, from first submit */
};
TAILQ_HEAD(jobq, job);

struct sconn {
	struct client		 s_c;
	int			 s_up;
	int			 s_opt;		/* OPTION_RES still due */
	int64_t			 s_tried;	/* last connect attempt, ms */
	int64_t			 s_heard;	/* last bytes received, ms */
	int64_t			 s_echo;	/* ECHO_RES due by, ms; -1 */
	struct jobq		 s_sent;	/* awaiting JOB_CREATED */
	struct jobq		 s_running;	/* created foreground jobs */
	size_t			 s_load;
};

struct options {
	char		**funcs;
	size_t		  nfuncs;
	int		  background;
	int		  prio;		/* -1 low, 0 normal, 1 high */
	int		  lines;	/* 1: -n, 2: -N */
	int		  prefix;
	int		  empty;
	int		  verbose;
	int		  unordered;
	int		  multi;	/* several payloads */
	int		  from_args;	/* payloads are the arguments */
	const char	 *unique;
	const char	 *pidfile;
	int		  timeout;	/* ms, 0: none */
	int		  probe;	/* --probe, ms; 0: off */
	size_t		  window;
	int		  at_set;
	long long	  at;
	int		  all;		/* --all */
	char		**to;		/* --to names */
	size_t		  nto;
	int		  label;	/* broadcast: "NAME: " before lines */
	int		  json;		/* broadcast: --json */
};

/* gm-submit.c */
extern struct options	 opt;
extern struct sconn	*conns;
extern size_t		 nconns;
void		 say(const char *, ...)
		    __attribute__((__format__(printf, 1, 2)));
void		 write_all(int, const void *, size_t);

/* jobs.c */
extern struct jobq	 alljobs;	/* every job, in input order */
extern struct jobq	 readyq;	/* jobs waiting to be sent */
extern size_t		 inflight;	/* jobs sent and not done */
extern int		 stderr_tty;
extern size_t		 inlen;		/* -n/-N input not made jobs yet */
extern int		 in_eof;
extern size_t		 njobs_done;	/* jobs ended, and of them */
extern size_t		 njobs_failed;	/* those that did not succeed */
void		 progress_clear(void);
struct payload	*payload_new(uint8_t *, size_t);
void		 add_payload(struct payload *);
void		 job_output(struct job *, const void *, size_t);
void		 job_finish(struct job *, int);
void		 progress(struct job *, const struct gm_arg *,
		    const struct gm_arg *);
void		 to_stderr(const struct job *, const struct gm_arg *);
void		 read_stdin_all(void);
int		 read_lines(void);
void		 take_lines(int);

/* bcast.c */
int		 broadcast(const char *, char **, size_t, const void *,
		    size_t);

/* servers.c */
int		 run(void);
void		 conn_input(struct sconn *, void (*)(struct sconn *,
		    struct gm_packet *), void (*)(struct sconn *,
		    const char *));
const char	*lost_why(int);

#endif /* GM_SUBMIT_H */
