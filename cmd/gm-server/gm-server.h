/* Public domain. See README.md for the licence of this project. */
/*
 * gm-server private header: the shared structures and, grouped per file,
 * every function one file offers the others.  Only the owning file
 * allocates, changes or frees a structure.
 *
 * The files, and what each owns.  This map is the authority on the
 * server's layout: the file table in the design notes (STYLE.md)
 * predates the split of queue.c, conn.c, http.c and gm-server.c, and
 * conn.c writes from plain buffers (obuf.c), not bufferevents or
 * evbuffers (see conn.c).
 *   gm-server.c     start-up (privileges, pid file, detaching, journal
 *                   replay), signals, the event loop and shutdown
 *   config.c        the options: struct config (conf), usage, checks
 *   listen.c        the listening sockets: bind, accept, pause on EMFILE
 *   acl.c           the admin allow-list (--admin-allow networks)
 *   tlsconn.c       TLS: the context and each connection's handshake
 *   conn.c          struct conn: buffers, packet framing, bounded output,
 *                   closing and deferred freeing
 *   obuf.c          struct obuf: an output buffer (a connection's output
 *                   and the replies held behind journal acks)
 *   budget.c        the input budget across connections (--max-input)
 *                   and the partial request deadline (--request-timeout)
 *   ack.c           struct ack: replies held until the journal answers
 *   dispatch.c      binary requests: packet type to handler, validation
 *   admin.c         the admin text protocol; reads state, changes nothing
 *                   itself
 *   job.c           struct job and struct attach: allocation, the handle
 *                   and unique indexes, attached clients, a job's end
 *                   and cancel
 *   queue.c         the queues, submit (with the journal), assigning,
 *                   results, status, requeue and retries
 *   func.c          struct func: the table of functions, their policy
 *                   (max queue, retries) and counters
 *   worker.c        struct reg: CAN_DO, sleep and wake-up, grabbing jobs
 *   bcast.c         broadcast: members of a function, jobs targeted at one
 *   failed.c        the failed list (dead letters) and the failure notes
 *                   of live jobs
 *   ended.c         the ring of recent job ends, for `fate`
 *   timer.c         the timer heaps: epoch jobs and CAN_DO_TIMEOUT deadlines
 *   htable.c        the intrusive hash table job.c and func.c index with
 *   http.c          HTTP: the listener, routing, trust, the answers
 *   http_link.c     the JSON API, POST actions and submissions, served
 *                   over internal connections to ourselves (links)
 *   http_page.c     the HTML status page (GET /)
 *   http_metrics.c  the Prometheus metrics (GET /metrics)
 *   journal*.c      the journal of background jobs (journal.h; its own
 *                   map is in journal_int.h): file format, directory and
 *                   segments, index and fates, writer thread and group
 *                   commit, compaction
 */
#ifndef GM_SERVER_H
#define GM_SERVER_H

#include <sys/queue.h>

#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct event;
struct event_base;
struct evbuffer;
struct sockaddr;
struct journal;
struct sockaddr;
struct ssl_st;

struct ack;
struct attach;
struct conn;
struct func;
struct job;
struct reg;

#define PRIO_HIGH	0
#define PRIO_NORMAL	1
#define PRIO_LOW	2
#define PRIO_COUNT	3

/*
 * An intrusive chained hash table (htable.c): entries hold their chain
 * pointer, a void * at offset t_link; t_hash gives an entry's hash back.
 */
struct htable {
	void		**t_b;
	size_t		  t_mask;
	size_t		  t_n;
	size_t		  t_link;
	uint32_t	(*t_hash)(const void *);
};

#define HTABLE_SEED	2166136261U	/* FNV-1a offset basis */

/* Verbosity levels, named as gearmand's --verbose. */
enum verbosity {
	V_FATAL, V_ALERT, V_CRITICAL, V_ERROR, V_WARNING, V_NOTICE, V_INFO,
	V_DEBUG
};

/*
 * How a function's failed background jobs are tried again: up to
 * rp_retries more times, the k-th retry after a delay drawn between half
 * and all of min(rp_max, rp_backoff * 2^(k-1)) ms.
 */
struct retry_policy {
	uint32_t	 rp_retries;
	uint32_t	 rp_backoff;	/* ms before the first retry */
	uint32_t	 rp_max;	/* ms, the longest delay */
};

/* Configuration, filled by main() from the command line. */
struct config {
	char		**listen;	/* -L addresses */
	int		  nlisten;
	const char	 *port;		/* -p */
	int		  backlog;	/* -b */
	int		  daemonize;	/* -d */
	const char	 *pidfile;	/* -P */
	const char	 *logfile;	/* -l: NULL, "stderr", "none", path */
	int		  syslog;	/* --syslog */
	const char	 *user;		/* -u */
	uint32_t	  job_retries;	/* -j: max attempts, 0 unlimited */
	int		  round_robin;	/* -R */
	long long	  fd_limit;	/* -f */
	char		 *handle_prefix; /* "H:host" or --job-handle-prefix */
	int		  keepalive;
	int		  keepalive_idle;
	int		  keepalive_interval;
	int		  keepalive_count;
	int		  verbose;	/* enum verbosity */
	int		  wakeup;	/* -w: NOOPs per job, 0 all */
	int		  exceptions;	/* --exceptions */
	const char	 *port_file;
	char		 *journal_dir;	/* NULL: --journal none */
	int		  journal_sync;	/* enum journal_sync */
	int		  journal_interval;
	int		  journal_repair;
	size_t		  max_packet;	/* --max-packet */
	size_t		  max_output;	/* --max-output */
	unsigned	  unix_mode;	/* --unix-mode */
	int		  ssl;		/* --ssl */
	const char	 *ssl_port;	/* --ssl-port: TLS beside -p */
	const char	 *ssl_ca_file;	/* NULL: no client certificates */
	const char	 *ssl_cert_file;
	const char	 *ssl_key_file;
	int		  ssl_verify_client; /* --ssl-verify-client */
	int		  admin_open;	/* --admin-open: anyone, as gearmand */
	int		  admin_reads;	/* --admin-trusted-reads */
	size_t		  max_input;	/* --max-input: all connections */
	int		  request_timeout; /* --request-timeout: s, 0 none */
	uint32_t	  max_held;	/* --max-held: jobs a worker holds */
	int		  http;		/* -r http, --http, --http-port */
	char		 *http_addr;	/* --http ADDRESS: */
	const char	 *http_port;	/* --http :PORT, --http-port */
	struct retry_policy retry;	/* --retries, --retry-backoff, ... */
	uint64_t	  failed_max;	/* --failed-max: entries */
	uint64_t	  failed_max_bytes; /* --failed-max-bytes */
	uint64_t	  fate_max;	/* --fate-max: ended jobs remembered */
	int64_t		  fate_age;	/* --fate-age: for so many seconds */
};

/*
 * Counters of the limits that refused or stopped a peer, each kept by the
 * file that applies the limit; admin `counters` prints them.
 */
struct counters {
	uint64_t	 args_refused;	/* argument not ended within its limit */
	uint64_t	 input_paused;	/* reads paused by --max-input */
	uint64_t	 request_timeouts; /* --request-timeout closes */
	uint64_t	 held_capped;	/* grabs refused by --max-held */
};

/* Sizes of the per-connection output bounds. */
#define OUTPUT_SOFT	(1024 * 1024)	/* stop reading and feeding above */

/*
 * A job.  One allocation holds the struct, the unique id, the reducer and
 * the payload, in that order (no NUL terminators: lengths are kept).  The
 * job is in exactly one place at a time, by j_state:
 *   PENDING  waiting for its journal record (j_waiters holds the replies);
 *   WAITING  an epoch job not due yet, or a failed job waiting for its
 *            retry (JOB_RETRY) (in timer.c's heap, j_key = due ms);
 *   QUEUED   in its function's queue (j_key = enqueue sequence);
 *   RUNNING  on its worker's list (j_key = deadline, j_tidx set, or 0).
 */
enum job_state {
	JOB_PENDING, JOB_WAITING, JOB_QUEUED, JOB_RUNNING
};

#define JOB_BG		0x01	/* background: does not need clients */
#define JOB_JOURNAL	0x02	/* has a journal record (j_jid valid) */
#define JOB_CANCELLED	0x04	/* running, cancelled: results dropped */
#define JOB_DASH	0x08	/* unique "-": coalesce on data */
#define JOB_RETRY	0x10	/* WAITING for a retry after failing */
#define JOB_NOTE	0x20	/* failed.c holds a failure note for it */

struct job {
	TAILQ_ENTRY(job)	 j_entry;	/* func queue or worker's jobs */
	void			*j_hnext;	/* handle index chain (htable) */
	void			*j_unext;	/* unique index chain (htable) */
	struct func		*j_func;
	char			*j_target;	/* member only, or NULL */
	LIST_HEAD(, attach)	 j_clients;	/* foreground clients */
	union {
		struct conn	*worker;	/* RUNNING */
		struct ack	*waiters;	/* PENDING: conn.c's chain */
	}			 j_u;
	uint64_t		 j_num;		/* handle number */
	uint64_t		 j_jid;		/* journal id */
	int64_t			 j_key;		/* see above */
	uint32_t		 j_len;		/* payload length */
	uint32_t		 j_attempts;	/* runs lost so far */
	uint32_t		 j_numerator;	/* last WORK_STATUS */
	uint32_t		 j_denominator;
	uint32_t		 j_tidx;	/* index in a timer heap */
	int64_t			 j_since;	/* mono us: queued, or running */
	uint32_t		 j_uhash;	/* unique index hash */
	uint16_t		 j_rlen;	/* reducer length */
	uint8_t			 j_ulen;	/* unique length */
	uint8_t			 j_prio;
	uint8_t			 j_state;
	uint8_t			 j_flags;
	uint16_t		 j_tries;	/* failures so far (retries) */
};

#define job_unique(j)	((char *)((j) + 1))
#define job_reducer(j)	(job_unique(j) + (j)->j_ulen)
#define job_data(j)	(job_reducer(j) + (j)->j_rlen)

/*
 * Per-function counters (func.c keeps them, everyone else reads them with
 * func_stats): jobs by outcome since start, and histograms of the time a
 * job waited in its queue and the time it ran.  Bucket i counts the
 * observations up to hist_bounds_us[i]; the last bucket is +Inf.
 */
#define HIST_BUCKETS	14

struct hist {
	uint64_t	 h_count[HIST_BUCKETS];	/* not cumulative */
	uint64_t	 h_sum_us;
	uint64_t	 h_n;
};

enum func_event {
	FE_SUBMITTED, FE_COMPLETED, FE_FAILED, FE_EXCEPTIONS, FE_RETRIED,
	FE_CANCELLED, FE_COUNT
};

struct func_stats {
	uint64_t	 fs_n[FE_COUNT];
	struct hist	 fs_wait;	/* queued until given to a worker */
	struct hist	 fs_run;	/* given to a worker until it ended */
};

extern const uint64_t	 hist_bounds_us[HIST_BUCKETS - 1];

/*
 * A function: its three queues, its workers, its counters and its policy.
 * Whatever belongs to one function (limits, policies, counters kept for
 * admin) goes here, next to f_maxq, and is set through func.c.
 */
struct func {
	void			*f_hnext;	/* name index chain (htable) */
	TAILQ_ENTRY(func)	 f_entry;	/* all functions, by creation */
	TAILQ_HEAD(, job)	 f_q[PRIO_COUNT];
	uint32_t		 f_queued[PRIO_COUNT];
	uint32_t		 f_total;	/* every job that exists */
	uint32_t		 f_running;
	uint32_t		 f_maxq[PRIO_COUNT];
	struct retry_policy	 f_retry;	/* when f_retry_set */
	int			 f_retry_set;
	uint32_t		 f_nregs;	/* registrations (workers) */
	TAILQ_HEAD(, reg)	 f_regs;
	TAILQ_HEAD(, reg)	 f_sleepers;	/* regs of sleeping workers */
	struct func_stats	 f_stats;	/* func.c: func_count, ... */
	uint32_t		 f_hash;
	size_t			 f_len;
	char			 f_name[];	/* NUL-terminated as well */
};

/* One CAN_DO of one connection. */
struct reg {
	TAILQ_ENTRY(reg)	 r_wentry;	/* the connection's list */
	TAILQ_ENTRY(reg)	 r_fentry;	/* the function's list */
	TAILQ_ENTRY(reg)	 r_sentry;	/* the function's sleepers */
	struct func		*r_func;
	struct conn		*r_conn;
	int			 r_timeout;	/* ms, 0 none */
	int			 r_asleep;	/* on f_sleepers */
};

/* A foreground client waiting on a job. */
struct attach {
	LIST_ENTRY(attach)	 a_jentry;
	LIST_ENTRY(attach)	 a_centry;
	struct job		*a_job;
	struct conn		*a_conn;
};

#define CONN_DEAD	0x0001	/* closed; freed from the loop */
#define CONN_CLOSING	0x0002	/* close once the output is flushed */
#define CONN_SLOW	0x0004	/* output above the soft bound */
#define CONN_EXCEPTIONS	0x0008	/* OPTION_REQ exceptions */
#define CONN_TRUSTED	0x0010	/* may change state through admin */
#define CONN_SLEEPING	0x0020	/* worker sent PRE_SLEEP */
#define CONN_NOOPED	0x0040	/* worker was sent a NOOP this sleep */
#define CONN_EOF	0x0080	/* peer half-closed */
#define CONN_DIRTY	0x0100	/* on the list of outputs to write */
#define CONN_TLS	0x0200	/* came through a TLS listener */
#define CONN_HANDSHAKE	0x0400	/* TLS handshake not finished */
#define CONN_UNIX	0x0800	/* came through the unix socket */
#define CONN_PAUSED	0x1000	/* reading paused by the input budget */
#define CONN_CHECKED	0x2000	/* the partial packet's arguments are fine */
#define CONN_CAPPED	0x4000	/* worker holds --max-held jobs */
#define CONN_CAPLOGGED	0x8000	/* the cap was logged for this worker */

/*
 * Output bytes in one growable block (obuf.c): o_len bytes held from
 * o_off.  All zero is an empty buffer with no block.
 */
struct obuf {
	uint8_t			*o_buf;
	size_t			 o_off;
	size_t			 o_len;
	size_t			 o_cap;
};
#define obuf_len(b)	((b)->o_len)
#define obuf_data(b)	((b)->o_buf + (b)->o_off)

/* A connection: client, worker, admin, or all of them at once. */
struct conn {
	TAILQ_ENTRY(conn)	 c_entry;	/* all, or the dead list */
	TAILQ_ENTRY(conn)	 c_dentry;	/* outputs to write this pass */
	TAILQ_ENTRY(conn)	 c_pentry;	/* paused by the input budget */
	struct event		*c_rev;		/* input ready */
	struct event		*c_wev;		/* room for output left over */
	struct evbuffer		*c_in;		/* input not yet handled */
	struct obuf		 c_out;		/* output not yet written */
	struct ssl_st		*c_ssl;		/* TLS session, or NULL */
	int			 c_fd;
	int			 c_flags;
	char			*c_client_id;	/* NULL: "-"; conn.c frees */
	char			*c_target;	/* OPTION_REQ target; bcast.c */
	LIST_HEAD(, attach)	 c_attached;	/* jobs this client waits on */
	TAILQ_HEAD(, reg)	 c_regs;	/* most recent first */
	TAILQ_HEAD(, job)	 c_jobs;	/* jobs held, latest first */
	uint32_t		 c_njobs;	/* length of c_jobs */
	uint32_t		 c_nregs;
	TAILQ_HEAD(, ack)	 c_acks;	/* replies awaiting the journal */
	struct obuf		 c_held;	/* output behind c_acks */
	uint64_t		 c_held_base;	/* bytes ever taken from held */
	size_t			 c_inheld;	/* c_in's length, accounted */
	size_t			 c_skip;	/* input bytes to discard */
	int64_t			 c_partial;	/* ms a partial item began, or 0 */
	uint64_t		 c_exc_num;	/* job it ended by WORK_EXCEPTION */
	char			 c_peer[48];
};

/* gm-server.c */
extern struct config	 conf;
extern struct event_base *base;
extern struct journal	*jnl;
extern struct counters	 counters;
void	server_shutdown(int);
long long server_started(void);
const char *server_verbose_name(void);
int	server_stopping(void);

/* listen.c */
int	listen_open(void);
void	listen_start(void);
void	listen_stop(void);
void	listen_free(void);
const char *listen_name(void);
int	listen_trusted(const struct sockaddr *);

/* acl.c */
int	acl_add(const char *, char *, size_t);
int	acl_match(const struct sockaddr *);
void	acl_free(void);

/* tlsconn.c */
#define TLS_DONE	0	/* else TLS_IO_READ, TLS_IO_WRITE (tls.h) */
int		 tlsconn_init(char *, size_t);
struct ssl_st	*tlsconn_new(int);
int		 tlsconn_handshake(struct ssl_st *, const char **);
int		 tlsconn_pending(struct ssl_st *);
void		 tlsconn_free(struct ssl_st *);
void		 tlsconn_cleanup(void);

/* config.c */
struct passwd;
void	 config_parse(int, char *[], char **, struct passwd **);
void	 config_free(void);

/* conn.c */
void	 conn_accept(int, const char *, int);
void	 conn_close(struct conn *, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
void	 conn_send(struct conn *, uint32_t, const struct gm_arg *, int,
	    const void *, size_t);
void	 conn_fail(struct conn *, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
void	 conn_send_raw(struct conn *, uint32_t, const void *, size_t);
void	 conn_error(struct conn *, const char *, const char *);
void	 conn_printf(struct conn *, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
void	 conn_set_client_id(struct conn *, const char *, size_t);
const char *conn_client_id(struct conn *);
void	 conn_foreach(void (*)(struct conn *, void *), void *);
void	 conn_free_all(void);
void	 conn_cleanup(void);
void	 conn_init(void);
void	 conn_dirty(struct conn *);
size_t	 conn_pending(struct conn *);
void	 conn_check(struct conn *, size_t);
void	 conn_finish(struct conn *);

/* obuf.c */
void	*obuf_room(struct obuf *, size_t, size_t *);
void	 obuf_added(struct obuf *, size_t);
void	 obuf_add(struct obuf *, const void *, size_t);
void	 obuf_vprintf(struct obuf *, const char *, va_list)
	    __attribute__((__format__(printf, 2, 0)));
void	 obuf_drain(struct obuf *, size_t);
void	 obuf_move(struct obuf *, struct obuf *, size_t);
ssize_t	 obuf_write(struct obuf *, int, size_t);
void	 obuf_free(struct obuf *);

/* budget.c */
/* Input is read and parsed in contiguous blocks of this size. */
#define CONN_BLOCK	65536
void	 budget_init(void);
void	 budget_cleanup(void);
void	 budget_forget(struct conn *);
void	 conn_account(struct conn *);
int	 conn_budget(struct conn *);

/* ack.c */
void	 ack_orphan(struct conn *);
void	 ack_cleanup(void);
void	 conn_ack_flush(struct conn *);
struct ack *conn_ack_new(struct conn *, struct ack **, uint32_t,
	    const struct gm_arg *, int);
void	 conn_ack_done(struct ack *, const char *, const char *);

/* dispatch.c */
void	dispatch_packet(struct conn *, const struct gm_packet *);
int	dispatch_early(struct conn *, const struct gm_packet *);

/* http.c */
int	http_open(void);
void	http_start(void);
void	http_stop(void);
void	http_free(void);
int	http_request_line(const char *);
void	http_misdirected(struct conn *, const char *);
struct evhttp_request;
extern uint64_t	nrequests, nrejected;	/* HTTP requests routed, refused */
void	http_reply(struct evhttp_request *, int, const char *, const char *,
	    struct evbuffer *);
void	http_fail(struct evhttp_request *, int, const char *, const char *,
	    ...) __attribute__((__format__(printf, 4, 5)));
int	peer_trusted(struct evhttp_request *);
const char *peer_name(struct evhttp_request *, char *, size_t);

/* http_link.c */
void	http_api(struct evhttp_request *, const char *, int);
void	http_submit(struct evhttp_request *, const char *);
void	http_links_free(void);

/* http_page.c */
void	http_page(struct evhttp_request *);

/* http_metrics.c */
void	http_metrics(struct evhttp_request *);

/* admin.c */
void	admin_line(struct conn *, char *, size_t);

/* queue.c */
struct submit {
	const char	*func;
	size_t		 func_len;
	const char	*unique;
	size_t		 unique_len;
	const char	*reducer;
	size_t		 reducer_len;
	const void	*data;
	size_t		 data_len;
	int		 prio;
	int		 bg;
	int64_t		 when;		/* epoch seconds, 0 now */
	const char	*target;	/* broadcast member, or NULL */
};
void		 queue_init(void);
void		 queue_submit(struct conn *, const struct submit *);
struct journal_fate;
struct failed_info;
void		 queue_replay(const struct submit *, uint64_t, uint32_t,
		    const struct journal_fate *);
void		 queue_revive(const struct failed_info *);
struct job	*queue_best(struct func *, int);
void		 queue_assign(struct job *, struct conn *, int);
void		 queue_requeue(struct job *, const char *);
void		 queue_work(struct conn *, uint32_t, const struct gm_packet *);
void		 queue_status(struct conn *, const void *, size_t);
void		 queue_status_unique(struct conn *, const void *, size_t);
void		 queue_client_gone(struct conn *);
void		 queue_timer_due(struct job *);
int64_t		 queue_oldest_us(const struct func *);
void		 release_created(struct ack *, int);

/* job.c */
extern uint64_t	 nrunning;	/* jobs running */
extern uint64_t	 nretrying;	/* jobs waiting for a retry */
void		 job_init(void);
struct job	*job_new(const struct submit *, uint64_t);
void		 job_link(struct job *, struct func *, const struct submit *,
		    uint32_t);
struct job	*job_restore(const struct submit *, uint64_t);
uint32_t	 submit_uhash(const struct submit *);
struct job	*unique_lookup(struct func *, const struct submit *, uint32_t);
void		 job_attach(struct job *, struct conn *);
void		 job_detach_all(struct job *);
void		 job_send_clients(struct job *, uint32_t, const void *, size_t);
void		 job_fail_clients(struct job *);
void		 job_end(struct job *, int);
void		 queue_free_all(void);
void		 queue_stop_running(void);
void		 queue_handle_floor(uint64_t);
struct job	*queue_find_handle(const void *, size_t);
struct job	*queue_find_unique(const void *, size_t);
int		 queue_handle(const struct job *, char *, size_t);
int		 queue_handle_num(uint64_t, char *, size_t);
int		 queue_cancel(const char *, size_t);
void		 queue_foreach_job(void (*)(struct job *, void *), void *);
int		 queue_retry_now(const void *, size_t);
uint64_t	 queue_retry_now_func(const char *, size_t);
uint64_t	 queue_running(void);
int		 queue_handle_parse(const void *, size_t, uint64_t *);
uint64_t	 queue_retrying(void);

/* func.c */
void		 func_init(void);
void		 func_free_all(void);
struct func	*func_get(const char *, size_t, int);
struct func	*func_find_ci(const char *, size_t);
int		 func_drop(struct func *);
void		 func_set_maxq(struct func *, const uint32_t [PRIO_COUNT]);
int		 func_full(const struct func *, int);
void		 func_foreach(void (*)(struct func *, void *), void *);
void		 func_count(struct func *, enum func_event);
void		 func_time(struct func *, int, int64_t);
const struct func_stats *func_stats(const struct func *);
const char	*func_event_name(enum func_event);
void		 func_retry(const struct func *, struct retry_policy *);
void		 func_set_retry(struct func *, const struct retry_policy *);
int64_t		 func_retry_delay(const struct retry_policy *, uint32_t);
int		 func_policy_load(const char *, char **);
void		 func_policy_save(void);

/*
 * failed.c: the failed list (dead letter) of background jobs that have no
 * tries left, oldest first, bounded by --failed-max and --failed-max-bytes,
 * and the failure notes of jobs still alive (first failure, last error).
 * A failed job is out of the job table (GET_STATUS, status and show jobs
 * do not see it, as in gearmand); its journal record stays live.
 */
struct failed_info {
	uint64_t	 num;		/* handle number */
	uint64_t	 jid;		/* journal id, when journaled */
	int		 journaled;	/* its journal record is live */
	uint32_t	 tries;		/* runs that failed */
	int64_t		 first;		/* ms since the epoch */
	int64_t		 last;
	struct submit	 job;		/* function, unique, payload, prio */
	const char	*error;
	size_t		 error_len;
};
struct failed_stats {
	uint64_t	 count;		/* entries now */
	uint64_t	 bytes;		/* their payload and error bytes */
	uint64_t	 max;		/* --failed-max */
	uint64_t	 max_bytes;	/* --failed-max-bytes */
	uint64_t	 added;		/* ever */
	uint64_t	 evicted;	/* pushed out by the bounds */
	uint64_t	 retried;
	uint64_t	 purged;
	uint64_t	 retrying;	/* jobs waiting for a retry now */
};
void	 failed_init(void);
void	 failed_free_all(void);
void	 failed_add(const struct failed_info *, int);
int	 failed_get(uint64_t, struct failed_info *);
void	 failed_foreach(const char *, size_t,
	    void (*)(const struct failed_info *, void *), void *);
int	 failed_retry(uint64_t);
int	 failed_purge(uint64_t);
uint64_t failed_retry_func(const char *, size_t);
uint64_t failed_purge_func(const char *, size_t);
void	 failed_stats(struct failed_stats *);
void	 failed_note_warning(uint64_t, const void *, size_t);
int64_t	 failed_note_fail(uint64_t, int64_t, const void *, size_t);
int	 failed_note_get(uint64_t, int64_t *, const char **, size_t *);
int	 failed_note_warned(uint64_t, const char **, size_t *);
void	 failed_note_drop(uint64_t);

/* ended.c */
enum ended_how {
	ENDED_DONE, ENDED_FAILED, ENDED_EXCEPTION, ENDED_CANCELLED,
	ENDED_PURGED, ENDED_EVICTED
};
void	 ended_init(void);
void	 ended_add(uint64_t, int);
int	 ended_find(uint64_t, int *, int64_t *);
void	 ended_free(void);

/* htable.c */
void	 htable_init(struct htable *, size_t, uint32_t (*)(const void *));
void	 htable_free(struct htable *);
void	 htable_insert(struct htable *, void *, uint32_t);
int	 htable_remove(struct htable *, void *, uint32_t);
void	*htable_first(const struct htable *, uint32_t);
void	 htable_foreach(const struct htable *, void (*)(void *, void *),
	    void *);
uint32_t htable_hash(const void *, size_t, uint32_t);

/* worker.c */
struct reg *worker_reg(struct conn *, const struct func *);
void	worker_can_do(struct conn *, const char *, size_t, int);
void	worker_cant_do(struct conn *, const char *, size_t);
void	worker_reset(struct conn *);
void	worker_pre_sleep(struct conn *);
void	worker_grab(struct conn *, uint32_t);
void	worker_wake(struct func *, int);
void	worker_gone(struct conn *);
void	worker_unsleep(struct conn *);
void	worker_hold(struct conn *, struct job *);
void	worker_release(struct conn *, struct job *);
void	worker_noop(struct conn *);

/* bcast.c */
const char *bcast_member(const struct conn *);
int	bcast_option(struct conn *, const void *, size_t);
void	bcast_enqueue(struct job *);
void	bcast_remove(struct job *);
struct job *bcast_best(struct conn *, struct reg **);
int64_t	bcast_oldest_us(const struct func *);
void	bcast_foreach(void (*)(struct job *, void *), void *);
void	bcast_members(struct conn *, const char *);
void	bcast_free_all(void);

/* timer.c */
void	timer_init(void);
void	timer_free(void);
void	timer_add(struct job *);
void	timer_del(struct job *);
int64_t	timer_now_ms(void);
int64_t	timer_mono_ms(void);
int64_t	timer_mono_us(void);

#endif /* GM_SERVER_H */
