/* Public domain. See README.md for the licence of this project. */
/*
 * gm-work: a Gearman worker.  gm-work.c holds the options, the count of
 * running jobs and stopping; server.c talks to the servers and task.c
 * sends the results.  A job is run by a command of its own (spawn.c), by
 * a coprocess that serves one job after another (coproc.c), or written to
 * our stdout (stream.c); job.c runs the commands and knows nothing of
 * Gearman, record.c frames the records of the last two modes.
 */
#ifndef GM_WORK_H
#define GM_WORK_H

#include <sys/types.h>

#include <stdint.h>
#include <time.h>

struct evbuffer;
struct event_base;
struct gm_arg;
struct gm_packet;
struct job;
struct server;
struct tool_opts;
struct ssl_ctx_st;

/* Ways of sending the command's stdout. */
enum out_mode {
	OUT_WHOLE,		/* all of it in WORK_COMPLETE */
	OUT_LINES,		/* -n: one WORK_DATA per line, newline kept */
	OUT_LINES_NONL		/* -N: the same without the newline */
};

/* How jobs reach the command. */
enum run_mode {
	RUN_SPAWN,		/* a process per job (or echo: no command) */
	RUN_COPROC,		/* -C: kept processes, a record per job */
	RUN_STREAM		/* --stream: records to our stdout */
};

/* How records are delimited on a coprocess's pipes and in stream mode. */
enum framing {
	FRAME_LINE,		/* a newline after each */
	FRAME_NUL,		/* a NUL byte after each (-0) */
	FRAME_LENGTH		/* "LENGTH\n" before each, in decimal */
};

struct config {
	char		**argv;		/* command and arguments; NULL: echo */
	char		**funcs;	/* -f names, in order */
	size_t		  nfuncs;
	enum out_mode	  out;
	enum run_mode	  mode;
	enum framing	  framing;
	int		  exceptions;	/* -x: WORK_EXCEPTION, not WARNING+FAIL */
	long long	  timeout;	/* -t seconds; 0: none */
	long long	  maxjobs;	/* -j */
	long long	  count;	/* -c; 0: no limit */
	long long	  probe;	/* --probe seconds; 0: off */
	int		  verbose;
};

/* A job from a server, while it runs (task.c frees it, others read). */
struct task {
	struct server		*t_srv;		/* where it came from */
	unsigned int		 t_gen;		/* that connection's number */
	char			*t_handle;
	char			*t_func;
	char			*t_unique;
	struct timespec		 t_start;
};

extern struct config		 conf;
extern struct event_base	*base;

/* Exit statuses (listed in gm-work.1). */
#define EXIT_STOPPED	0	/* -c reached, or stopped with nothing lost */
#define EXIT_ERROR	1	/* could not start */
#define EXIT_USAGE	2	/* bad command line */
#define EXIT_KILLED	3	/* forced stop killed running jobs */
#define EXIT_OUTPUT	4	/* --stream: stdout went away */

/* --probe: seconds of silence before ECHO_REQ, and for its answer. */
#define DEFAULT_PROBE	10

/* How much of the command's stderr a failure report carries. */
#define JOB_TAIL_MAX	4096

/* server.c: the connections to the servers. */
void		 servers_add(struct tool_opts *);
void		 servers_start(const char *, struct ssl_ctx_st *);
void		 servers_kick(void);
long long	 servers_grabs(void);
int		 servers_quiesce(void);
void		 servers_free(void);
int		 server_send(struct server *, unsigned int, uint32_t,
		    const struct gm_arg *, int, struct evbuffer *);
int		 server_alive(struct server *, unsigned int);
const char	*server_name(struct server *);
void		 server_idle(struct server *, unsigned int);

/* gm-work.c: the worker's state. */
long long	 worker_free_slots(void);
void		 worker_run(struct task *, struct evbuffer *);
void		 worker_job_done(struct server *, unsigned int);
int		 worker_forced(void);
int		 worker_stopping(void);
int		 worker_leaving(void);
void		 worker_flushed(void);
void		 worker_check_done(void);

/* task.c: a job from a server, and its results. */
struct task	*task_new(struct server *, unsigned int,
		    const struct gm_packet *, int);
void		 task_data(struct task *, struct evbuffer *);
void		 task_status(struct task *, uint32_t, uint32_t);
void		 task_lines(struct task *, struct evbuffer *, int);
void		 task_done(struct task *, struct evbuffer *, const char *,
		    struct evbuffer *);
void		 worker_slots_changed(void);
void		 worker_stop(int);

/* spawn.c: a process per job. */
void		 spawn_run(struct task *, struct evbuffer *);

/* job.c: a command over pipes, reporting through callbacks. */
struct job_cb {
	/* stdout arrived: all of it not yet taken is in the buffer. */
	void	(*output)(struct job *, struct evbuffer *, void *);
	/* A progress line "N D" on file descriptor 3. */
	void	(*progress)(struct job *, uint32_t, uint32_t, void *);
	/* The timeout passed: the command is being killed. */
	void	(*expired)(struct job *, void *);
	/* The command exited: why it failed, or NULL; the job is freed after. */
	void	(*exit)(struct job *, const char *, void *);
};
struct job	*job_start(char **, char **, struct evbuffer *, int,
		    const struct job_cb *, void *);
void		 job_write(struct job *, struct evbuffer *);
void		 job_close_in(struct job *);
void		 job_set_label(struct job *, const char *);
void		 job_set_timeout(struct job *, long long);
void		 job_signal(struct job *, int);
struct evbuffer	*job_output(struct job *);
struct evbuffer	*job_tail(struct job *);
void		 job_reap(pid_t, int);
int		 job_kill_all(int);
void		 job_free_all(void);

/* coproc.c: -C, commands kept running that serve a job at a time. */
void		 coproc_init(void);
long long	 coproc_down(void);
void		 coproc_run(struct task *, struct evbuffer *);
int		 coproc_stop(int);
void		 coproc_free(void);

/* stream.c: --stream, each job written to stdout. */
void		 stream_init(void);
void		 stream_run(struct task *, struct evbuffer *);
void		 stream_stop(void);
void		 stream_free(void);

/* record.c: framing. */
int		 framing_parse(const char *, enum framing *);
int		 record_frame(enum framing, struct evbuffer *, const char **);
int		 record_take(enum framing, struct evbuffer *, struct evbuffer *,
		    const char **);

#endif /* GM_WORK_H */
