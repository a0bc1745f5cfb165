/* Public domain. See README.md for the licence of this project. */
/*
 * gm-submit: submit jobs to Gearman job servers and print their results.
 *
 * Jobs come from the arguments (one each), from all of standard input, or
 * from its lines (-n/-N).  Up to -j jobs are in flight at once, spread over
 * the live servers; results go to standard output in input order unless
 * --unordered.  A server that is down or dies mid-job is left behind and
 * its jobs are resubmitted to another one.
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "compat.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "status.h"
#include "xmalloc.h"

#define DEFAULT_WINDOW	64
#define CONNECT_MS	5000
#define STDIN_CHUNK	(64 * 1024)

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
	int64_t			 j_deadline;	/* -t, from first submit */
};
TAILQ_HEAD(jobq, job);

struct sconn {
	struct client		 s_c;
	struct gm_server	 s_srv;
	int			 s_up;
	int			 s_opt;		/* OPTION_RES still due */
	int64_t			 s_tried;	/* last connect attempt, ms */
	struct jobq		 s_sent;	/* awaiting JOB_CREATED */
	struct jobq		 s_running;	/* created foreground jobs */
	size_t			 s_load;
};

static struct {
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
	const char	 *unique;
	const char	 *pidfile;
	int		  timeout;	/* ms, 0: none */
	size_t		  window;
	int		  at_set;
	long long	  at;
} opt;

static struct sconn	*conns;
static size_t		 nconns;
static struct jobq	 alljobs = TAILQ_HEAD_INITIALIZER(alljobs);
static struct jobq	 readyq = TAILQ_HEAD_INITIALIZER(readyq);
static size_t		 inflight;
static size_t		 nextseq = 1;
static int		 stderr_tty;
static int		 progress_shown;
static int		 noserver_said;
static size_t		 rr;
static char		 lost[512];	/* the last connection lost */

static uint8_t		*inbuf;
static size_t		 inlen, incap;
static int		 in_eof = 1;

static __dead void	usage(int);
static void		 say(const char *, ...)
			    __attribute__((__format__(printf, 1, 2)));
static void		 write_all(int, const void *, size_t);
static void		 progress_clear(void);
static struct payload	*payload_new(uint8_t *, size_t);
static void		 add_payload(struct payload *);
static void		 job_output(struct job *, const void *, size_t);
static void		 job_finish(struct job *, int);
static void		 advance_output(void);
static struct sconn	*pick_conn(const struct job *);
static int		 submit(struct job *);
static void		 conn_open(struct sconn *);
static void		 conn_lost(struct sconn *, const char *);
static void		 conn_input(struct sconn *);
static void		 handle_packet(struct sconn *, struct gm_packet *);
static void		 read_stdin_all(void);
static int		 read_lines(void);
static void		 take_lines(int);
static void		 ghost(struct job *);
static void		 check_deadlines(void);
static int		 run(void);
static int		 query_status(const char *);
static long long	 parse_at(const char *);
static void		 pidfile_cleanup(void);
static void		 on_signal(int);

/* The synopsis: usage(0) is help, else status is the exit status. */
static __dead void
usage(int status)
{
	status_usage(status,
	    "usage: %s [-bHILNnPsVv] -f function [-f function ...] "
	    "[-h host[:port]]\n"
	    "\t[-i pidfile] [-j jobs] [-p port] [-t ms] [-u unique] "
	    "[--at time]\n"
	    "\t[--unordered] [data ...]\n"
	    "       %s [-h host[:port]] [-p port] [-t ms] --status handle\n",
	    getprogname(), getprogname());
}

/* A message on stderr, after wiping a live progress line. */
static void
say(const char *fmt, ...)
{
	va_list	 ap;

	progress_clear();
	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
}

/* Write everything or give up with ST_LOCAL. */
static void
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			err(ST_LOCAL, "write");
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Erase the live progress line from a terminal. */
static void
progress_clear(void)
{
	if (progress_shown) {
		write_all(STDERR_FILENO, "\r\033[K", 4);
		progress_shown = 0;
	}
}

/* A shared payload; takes buf. */
static struct payload *
payload_new(uint8_t *buf, size_t len)
{
	struct payload	*p;

	p = xcalloc(1, sizeof(*p));
	p->p_buf = buf;
	p->p_len = len;
	return p;
}

/* Make one job per function for a payload. */
static void
add_payload(struct payload *p)
{
	struct job	*j;
	size_t		 i, seq = nextseq++;

	for (i = 0; i < opt.nfuncs; i++) {
		j = xcalloc(1, sizeof(*j));
		j->j_seq = seq;
		j->j_func = opt.funcs[i];
		j->j_payload = p;
		j->j_deadline = -1;
		p->p_refs++;
		if (opt.unique != NULL && opt.multi &&
		    strcmp(opt.unique, "-") != 0)
			snprintf(j->j_unique, sizeof(j->j_unique), "%s-%zu",
			    opt.unique, seq);
		else if (opt.unique != NULL)
			strlcpy(j->j_unique, opt.unique, sizeof(j->j_unique));
		j->j_state = J_READY;
		TAILQ_INSERT_TAIL(&alljobs, j, j_order);
		TAILQ_INSERT_TAIL(&readyq, j, j_link);
	}
}

/* Send output of a job to stdout now, or hold it until its turn. */
static void
job_output(struct job *j, const void *data, size_t len)
{
	size_t	 plen = 0;

	if (opt.prefix)
		plen = strlen(j->j_func) + 2;
	if (opt.unordered || j == TAILQ_FIRST(&alljobs)) {
		if (plen > 0) {
			write_all(STDOUT_FILENO, j->j_func, plen - 2);
			write_all(STDOUT_FILENO, ": ", 2);
		}
		write_all(STDOUT_FILENO, data, len);
		j->j_wrote = 1;
		return;
	}
	if (j->j_bufcap - j->j_buflen < plen + len) {
		j->j_bufcap = (j->j_buflen + plen + len) * 2;
		j->j_buf = xreallocarray(j->j_buf, j->j_bufcap, 1);
	}
	if (plen > 0) {
		memcpy(j->j_buf + j->j_buflen, j->j_func, plen - 2);
		memcpy(j->j_buf + j->j_buflen + plen - 2, ": ", 2);
	}
	if (len > 0)
		memcpy(j->j_buf + j->j_buflen + plen, data, len);
	j->j_buflen += plen + len;
}

/* Write and free finished jobs at the head of the output order. */
static void
advance_output(void)
{
	struct job	*j;

	while ((j = TAILQ_FIRST(&alljobs)) != NULL) {
		if (j->j_buflen > 0) {
			write_all(STDOUT_FILENO, j->j_buf, j->j_buflen);
			j->j_wrote = 1;
		}
		free(j->j_buf);
		j->j_buf = NULL;
		j->j_buflen = j->j_bufcap = 0;
		if (j->j_state != J_DONE)
			break;
		TAILQ_REMOVE(&alljobs, j, j_order);
		free(j);
	}
}

/* A job has ended with status st. */
static void
job_finish(struct job *j, int st)
{
	struct payload	*p = j->j_payload;

	if (j->j_state == J_SENT)
		TAILQ_REMOVE(&j->j_conn->s_sent, j, j_link);
	else if (j->j_state == J_RUNNING)
		TAILQ_REMOVE(&j->j_conn->s_running, j, j_link);
	else if (j->j_state == J_READY)
		TAILQ_REMOVE(&readyq, j, j_link);
	if (j->j_state == J_SENT || j->j_state == J_RUNNING) {
		inflight--;
		j->j_conn->s_load--;
	}
	j->j_state = J_DONE;
	j->j_status = st;
	j->j_conn = NULL;
	status_set(st);
	if (--p->p_refs == 0) {
		free(p->p_buf);
		free(p);
	}
	j->j_payload = NULL;
	if (opt.unordered) {
		TAILQ_REMOVE(&alljobs, j, j_order);
		free(j->j_buf);
		free(j);
	} else
		advance_output();
}

/* FNV-1a from a seed, to map unique ids onto servers. */
static uint32_t
hash(const uint8_t *p, size_t len, uint32_t h)
{
	while (len-- > 0)
		h = (h ^ *p++) * 16777619U;
	/* Mix the bits (murmur3's finaliser) so scores compare fairly. */
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h;
}

/*
 * Choose a live server for a job.  A job with a unique id goes to the live
 * server that scores highest for that id (rendezvous hashing: the same id
 * meets on the same server whatever the order of -h, so equal ids coalesce,
 * and only the ids of a dead server move).  Others go to the least loaded.
 */
static struct sconn *
pick_conn(const struct job *j)
{
	struct sconn	*best = NULL, *s;
	size_t		 i;
	uint32_t	 h, score, top = 0;

	if (j->j_unique[0] != '\0') {
		if (strcmp(j->j_unique, "-") == 0)
			h = hash(j->j_payload->p_buf, j->j_payload->p_len,
			    2166136261U);
		else
			h = hash((const uint8_t *)j->j_unique,
			    strlen(j->j_unique), 2166136261U);
		for (i = 0; i < nconns; i++) {
			s = &conns[i];
			if (!s->s_up)
				continue;
			score = hash((const uint8_t *)s->s_c.name,
			    strlen(s->s_c.name), h);
			if (best == NULL || score > top) {
				best = s;
				top = score;
			}
		}
		return best;
	}
	for (i = 0; i < nconns; i++) {
		s = &conns[(rr + i) % nconns];
		if (s->s_up && (best == NULL || s->s_load < best->s_load))
			best = s;
	}
	rr++;
	return best;
}

/* Queue a job's SUBMIT packet on a live server; -1 when there is none. */
static int
submit(struct job *j)
{
	struct sconn	*s;
	struct gm_arg	 args[4];
	char		 when[32];
	uint32_t	 type;
	int		 n = 0;

	if ((s = pick_conn(j)) == NULL)
		return -1;
	if (opt.at_set) {
		type = GM_SUBMIT_JOB_EPOCH;
	} else if (opt.background)
		type = opt.prio > 0 ? GM_SUBMIT_JOB_HIGH_BG :
		    opt.prio < 0 ? GM_SUBMIT_JOB_LOW_BG : GM_SUBMIT_JOB_BG;
	else
		type = opt.prio > 0 ? GM_SUBMIT_JOB_HIGH :
		    opt.prio < 0 ? GM_SUBMIT_JOB_LOW : GM_SUBMIT_JOB;
	args[n++] = gm_str(j->j_func);
	args[n++] = gm_str(j->j_unique);
	if (opt.at_set) {
		snprintf(when, sizeof(when), "%lld", opt.at);
		args[n++] = gm_str(when);
	}
	args[n].ptr = j->j_payload->p_buf;
	args[n++].len = j->j_payload->p_len;
	if (client_queue(&s->s_c, type, args, n) != PROTO_OK)
		errx(ST_USAGE, "function name contains a NUL byte");
	TAILQ_REMOVE(&readyq, j, j_link);
	TAILQ_INSERT_TAIL(&s->s_sent, j, j_link);
	j->j_state = J_SENT;
	j->j_conn = s;
	s->s_load++;
	inflight++;
	if (opt.timeout > 0 && j->j_deadline < 0)
		j->j_deadline = client_now() + opt.timeout;
	return 0;
}

/* Connect to a server and ask it for exceptions. */
static void
conn_open(struct sconn *s)
{
	struct gm_arg	 a;
	int		 ms = CONNECT_MS;

	if (opt.timeout > 0 && opt.timeout < ms)
		ms = opt.timeout;
	s->s_tried = client_now();
	if (client_connect(&s->s_c, &s->s_srv, ms) == -1) {
		if (opt.verbose)
			say("%s: %s", s->s_c.name, errno == EHOSTUNREACH ?
			    "host not found" : strerror(errno));
		return;
	}
	s->s_up = 1;
	a = gm_str("exceptions");
	client_queue(&s->s_c, GM_OPTION_REQ, &a, 1);
	s->s_opt = 1;
}

/*
 * A server went away: its unfinished jobs go back to the ready queue (in
 * their order, ahead of new ones) to run on another server.
 */
static void
conn_lost(struct sconn *s, const char *why)
{
	struct jobq	 back = TAILQ_HEAD_INITIALIZER(back);
	struct job	*j, *next;
	struct jobq	*lists[2] = { &s->s_running, &s->s_sent };
	size_t		 n = 0, i;

	client_close(&s->s_c);
	s->s_up = 0;
	s->s_tried = 0;		/* may be tried again at once */
	for (i = 0; i < nitems(lists); i++) {
		TAILQ_FOREACH_SAFE(j, lists[i], j_link, next) {
			TAILQ_REMOVE(lists[i], j, j_link);
			if (j->j_state == J_GHOST) {
				free(j);
				continue;
			}
			if (j->j_wrote)
				say("%s: part of a job's output was already "
				    "written; the job runs again", j->j_func);
			j->j_buflen = 0;
			j->j_handle[0] = '\0';
			j->j_state = J_READY;
			j->j_conn = NULL;
			inflight--;
			TAILQ_INSERT_TAIL(&back, j, j_link);
			n++;
		}
	}
	s->s_load = 0;
	if (n > 0)
		snprintf(lost, sizeof(lost), "%s: %s", s->s_c.name, why);
	/* Resubmit in input order. */
	while ((j = TAILQ_LAST(&back, jobq)) != NULL) {
		TAILQ_REMOVE(&back, j, j_link);
		for (next = TAILQ_FIRST(&readyq); next != NULL &&
		    next->j_seq < j->j_seq; next = TAILQ_NEXT(next, j_link))
			;
		if (next != NULL)
			TAILQ_INSERT_BEFORE(next, j, j_link);
		else
			TAILQ_INSERT_TAIL(&readyq, j, j_link);
	}
	if (opt.verbose || n > 0) {
		if (n > 0 && opt.verbose)
			say("%s: %s; resubmitting %zu job%s", s->s_c.name, why,
			    n, n == 1 ? "" : "s");
		else if (opt.verbose)
			say("%s: %s", s->s_c.name, why);
	}
}

/* Why a connection failed: a reset reads like the server closing it. */
static const char *
lost_why(int error)
{
	if (error == ECONNRESET || error == EPIPE)
		return "connection closed by the server";
	return strerror(error);
}

/* Whether a job has the handle of a packet. */
static int
same_handle(const struct job *j, const struct gm_arg *h)
{
	size_t	 len = h->len;

	/* gearmand's substitute for an exception ends the handle in NUL. */
	if (len > 0 && h->ptr[len - 1] == '\0')
		len--;
	return strlen(j->j_handle) == len &&
	    memcmp(j->j_handle, h->ptr, len) == 0;
}

/* Print a WORK_STATUS as a progress line. */
static void
progress(struct job *j, const struct gm_arg *num, const struct gm_arg *den)
{
	char			 line[512];
	long long		 n, d;
	int			 len;

	/* As the worker sent them: junk or < 0 is 0; n * 100 must fit. */
	if ((n = proto_number(num, INT64_MAX / 100)) < 0)
		n = 0;
	if ((d = proto_number(den, INT64_MAX / 100)) < 0)
		d = 0;
	if (d > 0)
		len = snprintf(line, sizeof(line), "%s: %lld/%lld %lld%%",
		    j->j_func, n, d, n > d ? 100 : n * 100 / d);
	else
		len = snprintf(line, sizeof(line), "%s: %lld/%lld",
		    j->j_func, n, d);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line))
		len = sizeof(line) - 1;
	if (stderr_tty) {
		write_all(STDERR_FILENO, "\r", 1);
		write_all(STDERR_FILENO, line, (size_t)len);
		write_all(STDERR_FILENO, "\033[K", 3);
		progress_shown = 1;
	} else {
		line[len] = '\n';
		write_all(STDERR_FILENO, line, (size_t)len + 1);
	}
}

/* Write job data to stderr, with the -P prefix. */
static void
to_stderr(const struct job *j, const struct gm_arg *a)
{
	progress_clear();
	if (opt.prefix) {
		write_all(STDERR_FILENO, j->j_func, strlen(j->j_func));
		write_all(STDERR_FILENO, ": ", 2);
	}
	write_all(STDERR_FILENO, a->ptr, a->len);
}

/* Act on one packet from a server. */
static void
handle_packet(struct sconn *s, struct gm_packet *pkt)
{
	struct job	*j, *next;
	int		 first;

	switch (pkt->hdr.type) {
	case GM_OPTION_RES:
		s->s_opt = 0;
		return;
	case GM_JOB_CREATED:
	case GM_ERROR:
		if (pkt->hdr.type == GM_ERROR && s->s_opt) {
			/* The server knows no exceptions; WORK_FAIL will do. */
			s->s_opt = 0;
			return;
		}
		if ((j = TAILQ_FIRST(&s->s_sent)) != NULL &&
		    j->j_state == J_GHOST) {
			TAILQ_REMOVE(&s->s_sent, j, j_link);
			free(j);
			return;
		}
		if (j == NULL) {
			if (pkt->hdr.type == GM_ERROR)
				say("%s: server error: %.*s %.*s", s->s_c.name,
				    (int)pkt->arg[0].len, pkt->arg[0].ptr,
				    (int)pkt->arg[1].len, pkt->arg[1].ptr);
			return;
		}
		if (pkt->hdr.type == GM_ERROR) {
			say("%s: %s: job refused: %.*s %.*s", s->s_c.name,
			    j->j_func, (int)pkt->arg[0].len, pkt->arg[0].ptr,
			    (int)pkt->arg[1].len, pkt->arg[1].ptr);
			job_finish(j, ST_REFUSED);
			return;
		}
		snprintf(j->j_handle, sizeof(j->j_handle), "%.*s",
		    (int)pkt->arg[0].len, pkt->arg[0].ptr);
		if (opt.verbose)
			say("%s: %s: created on %s", j->j_func, j->j_handle,
			    s->s_c.name);
		TAILQ_REMOVE(&s->s_sent, j, j_link);
		if (opt.background || opt.at_set) {
			j->j_state = J_RUNNING;
			TAILQ_INSERT_TAIL(&s->s_running, j, j_link);
			job_output(j, j->j_handle, strlen(j->j_handle));
			job_output(j, "\n", 1);
			job_finish(j, ST_OK);
			return;
		}
		j->j_state = J_RUNNING;
		TAILQ_INSERT_TAIL(&s->s_running, j, j_link);
		return;
	case GM_WORK_DATA:
	case GM_WORK_WARNING:
	case GM_WORK_STATUS:
	case GM_WORK_COMPLETE:
	case GM_WORK_FAIL:
	case GM_WORK_EXCEPTION:
		break;
	default:
		return;
	}
	/* A coalesced job may be attached more than once on a connection. */
	first = 1;
	TAILQ_FOREACH_SAFE(j, &s->s_running, j_link, next) {
		if (!same_handle(j, &pkt->arg[0]))
			continue;
		switch (pkt->hdr.type) {
		case GM_WORK_DATA:
			job_output(j, pkt->arg[1].ptr, pkt->arg[1].len);
			break;
		case GM_WORK_WARNING:
			if (first)
				to_stderr(j, &pkt->arg[1]);
			break;
		case GM_WORK_STATUS:
			if (first)
				progress(j, &pkt->arg[1], &pkt->arg[2]);
			break;
		case GM_WORK_COMPLETE:
			job_output(j, pkt->arg[1].ptr, pkt->arg[1].len);
			job_finish(j, ST_OK);
			break;
		case GM_WORK_EXCEPTION:
			if (first) {
				to_stderr(j, &pkt->arg[1]);
				if (pkt->arg[1].len > 0 && pkt->arg[1].ptr[
				    pkt->arg[1].len - 1] != '\n')
					write_all(STDERR_FILENO, "\n", 1);
			}
			/* FALLTHROUGH */
		case GM_WORK_FAIL:
			say("%s: job failed", j->j_func);
			job_finish(j, ST_FAILED);
			break;
		}
		first = 0;
	}
}

/* Read from a server and handle every whole packet. */
static void
conn_input(struct sconn *s)
{
	struct gm_packet pkt;
	int		 rv;

	rv = client_read(&s->s_c);
	if (rv == 0) {
		conn_lost(s, "connection closed by the server");
		return;
	}
	if (rv == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			conn_lost(s, lost_why(errno));
		return;
	}
	while ((rv = client_packet(&s->s_c, &pkt)) == PROTO_OK) {
		handle_packet(s, &pkt);
		if (!s->s_up)
			return;
	}
	if (rv != PROTO_NEED_MORE)
		conn_lost(s, proto_strerror(rv));
}

/* Read all of stdin as one payload. */
static void
read_stdin_all(void)
{
	uint8_t	*buf = NULL;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;

	for (;;) {
		if (cap - len < STDIN_CHUNK) {
			cap = cap == 0 ? STDIN_CHUNK * 4 : cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err(ST_LOCAL, "stdin");
		if (n == 0)
			break;
		len += (size_t)n;
	}
	add_payload(payload_new(buf, len));
}

/* Read a chunk of stdin for -n/-N; returns 0 at end of input. */
static int
read_lines(void)
{
	ssize_t	 n;

	if (incap - inlen < STDIN_CHUNK) {
		incap = incap == 0 ? STDIN_CHUNK * 2 : incap * 2;
		inbuf = xreallocarray(inbuf, incap, 1);
	}
	do
		n = read(STDIN_FILENO, inbuf + inlen, incap - inlen);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		err(ST_LOCAL, "stdin");
	if (n == 0) {
		in_eof = 1;
		return 0;
	}
	inlen += (size_t)n;
	return 1;
}

/*
 * Turn complete lines of the input buffer into jobs, up to max payloads;
 * at end of input the rest (a last line without newline) is one more.
 */
static void
take_lines(int max)
{
	uint8_t	*nl, *p;
	size_t	 off = 0, len, keep;

	while (max > 0 && off < inlen) {
		nl = memchr(inbuf + off, '\n', inlen - off);
		if (nl == NULL && !in_eof)
			break;
		len = nl != NULL ? (size_t)(nl - (inbuf + off)) + 1 :
		    inlen - off;
		keep = len;
		if (opt.lines == 2 && nl != NULL)
			keep--;
		p = xmalloc(keep);
		memcpy(p, inbuf + off, keep);
		add_payload(payload_new(p, keep));
		off += len;
		max--;
	}
	if (off > 0) {
		memmove(inbuf, inbuf + off, inlen - off);
		inlen -= off;
	}
}

/*
 * Put a placeholder where a job waits for its JOB_CREATED, so that the
 * answer, when it comes, is not taken for the next job's.
 */
static void
ghost(struct job *j)
{
	struct job	*g;

	g = xcalloc(1, sizeof(*g));
	g->j_state = J_GHOST;
	g->j_deadline = -1;
	g->j_conn = j->j_conn;
	TAILQ_INSERT_BEFORE(j, g, j_link);
}

/* Fail the jobs whose -t deadline has passed. */
static void
check_deadlines(void)
{
	struct job	*j, *next;
	int64_t		 now = client_now();
	size_t		 i, k;

	for (i = 0; i < nconns; i++) {
		struct jobq *lists[2] = { &conns[i].s_sent,
		    &conns[i].s_running };
		for (k = 0; k < 2; k++)
			TAILQ_FOREACH_SAFE(j, lists[k], j_link, next) {
				if (j->j_deadline < 0 || j->j_deadline > now)
					continue;
				if (j->j_state == J_SENT)
					ghost(j);
				if (j->j_handle[0] != '\0')
					say("%s: %s: timed out after %d ms",
					    j->j_func, j->j_handle,
					    opt.timeout);
				else
					say("%s: timed out after %d ms",
					    j->j_func, opt.timeout);
				job_finish(j, ST_TIMEOUT);
			}
	}
}

/* The earliest -t deadline of a job in flight, or -1. */
static int64_t
next_deadline(void)
{
	struct job	*j;
	int64_t		 d = -1;
	size_t		 i;

	if (opt.timeout <= 0)
		return -1;
	for (i = 0; i < nconns; i++) {
		TAILQ_FOREACH(j, &conns[i].s_sent, j_link)
			if (j->j_deadline >= 0 && (d < 0 || j->j_deadline < d))
				d = j->j_deadline;
		TAILQ_FOREACH(j, &conns[i].s_running, j_link)
			if (j->j_deadline >= 0 && (d < 0 || j->j_deadline < d))
				d = j->j_deadline;
	}
	return d;
}

/*
 * With no server left, try the ones that are down again (each at most once
 * a second), so that a restarted server takes the work.  Returns how many
 * came up.
 */
static size_t
reconnect(void)
{
	size_t	 i, n = 0;
	int64_t	 now = client_now();

	for (i = 0; i < nconns; i++) {
		if (conns[i].s_up || now - conns[i].s_tried < 1000)
			continue;
		conn_open(&conns[i]);
		if (conns[i].s_up) {
			if (opt.verbose)
				say("%s: connected again", conns[i].s_c.name);
			n++;
		}
	}
	return n;
}

/* Submit, wait and print until every job is done; returns the status. */
static int
run(void)
{
	struct pollfd	*pfd;
	struct job	*j;
	size_t		 i, n, up;
	int		 rv, stdin_slot;

	pfd = xcalloc(nconns + 1, sizeof(*pfd));
	for (i = 0; i < nconns; i++)
		conn_open(&conns[i]);
	for (;;) {
		/* Make jobs from input lines while the window has room. */
		if (opt.lines && TAILQ_EMPTY(&readyq) && inflight < opt.window)
			take_lines((int)(opt.window - inflight));
		while ((j = TAILQ_FIRST(&readyq)) != NULL &&
		    inflight < opt.window)
			if (submit(j) == -1)
				break;
		if (!TAILQ_EMPTY(&readyq) && inflight < opt.window) {
			/* Nowhere to send them. */
			if (reconnect() > 0)
				continue;
			if (!noserver_said) {
				if (lost[0] != '\0')
					say("%s", lost);
				say("no server reachable");
				noserver_said = 1;
			}
			while ((j = TAILQ_FIRST(&readyq)) != NULL)
				job_finish(j, ST_NOSERVER);
			in_eof = 1;
			inlen = 0;
		}
		if (inflight == 0 && TAILQ_EMPTY(&readyq) &&
		    (!opt.lines || (in_eof && inlen == 0)))
			break;

		n = 0;
		up = 0;
		for (i = 0; i < nconns; i++) {
			if (!conns[i].s_up)
				continue;
			if (client_pending(&conns[i].s_c) > 0 &&
			    client_write(&conns[i].s_c) == -1) {
				conn_lost(&conns[i], lost_why(errno));
				continue;
			}
			pfd[n].fd = conns[i].s_c.fd;
			pfd[n].events = POLLIN;
			if (client_pending(&conns[i].s_c) > 0)
				pfd[n].events |= POLLOUT;
			pfd[n].revents = 0;
			n++;
			up++;
		}
		if (up == 0 && inflight == 0 && TAILQ_EMPTY(&readyq) &&
		    opt.lines && !in_eof && reconnect() == 0) {
			/* More input but no server to take it. */
			if (!noserver_said) {
				say("no server reachable");
				noserver_said = 1;
			}
			status_set(ST_NOSERVER);
			break;
		}
		if (up == 0)
			continue;
		stdin_slot = -1;
		if (opt.lines && !in_eof && TAILQ_EMPTY(&readyq) &&
		    inflight < opt.window) {
			stdin_slot = (int)n;
			pfd[n].fd = STDIN_FILENO;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			n++;
		}
		rv = poll(pfd, n, client_remaining(next_deadline()));
		if (rv == -1) {
			if (errno == EINTR)
				continue;
			err(ST_LOCAL, "poll");
		}
		if (stdin_slot >= 0 && pfd[stdin_slot].revents != 0)
			read_lines();
		for (i = 0, n = 0; i < nconns; i++) {
			if (!conns[i].s_up)
				continue;
			if (pfd[n].fd != conns[i].s_c.fd)
				continue;
			if (pfd[n].revents & POLLOUT &&
			    client_write(&conns[i].s_c) == -1) {
				conn_lost(&conns[i], lost_why(errno));
				n++;
				continue;
			}
			if (pfd[n].revents & (POLLIN | POLLHUP | POLLERR))
				conn_input(&conns[i]);
			n++;
		}
		check_deadlines();
	}
	free(pfd);
	progress_clear();
	return status_worst();
}

/* Ask the servers, in turn, for the status of a job; print the first. */
static int
query_status(const char *handle)
{
	struct gm_packet pkt;
	struct gm_arg	 a = gm_str(handle);
	struct sconn	*s;
	size_t		 i;
	int64_t		 deadline;
	int		 reached = 0, ms = opt.timeout > 0 ? opt.timeout :
			    CONNECT_MS;
	char		 f[5][32];
	int		 k;

	for (i = 0; i < nconns; i++) {
		s = &conns[i];
		if (client_connect(&s->s_c, &s->s_srv, ms) == -1) {
			say("%s: %s", s->s_c.name, strerror(errno));
			continue;
		}
		deadline = client_now() + ms;
		client_queue(&s->s_c, GM_GET_STATUS, &a, 1);
		do {
			if (client_wait_packet(&s->s_c, &pkt, deadline) == -1)
				break;
		} while (pkt.hdr.type != GM_STATUS_RES &&
		    pkt.hdr.type != GM_ERROR);
		if (client_pending(&s->s_c) > 0 ||
		    pkt.hdr.type != GM_STATUS_RES) {
			say("%s: no status answer: %s", s->s_c.name,
			    errno == ETIMEDOUT ? "timed out" :
			    strerror(errno));
			client_close(&s->s_c);
			if (errno == ETIMEDOUT)
				status_set(ST_TIMEOUT);
			continue;
		}
		reached = 1;
		for (k = 0; k < 5; k++)
			snprintf(f[k], sizeof(f[k]), "%.*s",
			    (int)pkt.arg[k].len, pkt.arg[k].ptr);
		client_close(&s->s_c);
		if (strcmp(f[1], "1") != 0)
			continue;
		if (strcmp(f[2], "1") == 0)
			printf("%s: running %s/%s\n", handle, f[3], f[4]);
		else
			printf("%s: queued\n", handle);
		return ST_OK;
	}
	if (!reached) {
		status_set(ST_NOSERVER);
		return status_worst();
	}
	printf("%s: unknown\n", handle);
	return ST_FAILED;
}

/* Parse --at: Unix seconds, +SECONDS, or a local "YYYY-MM-DD HH:MM[:SS]". */
static long long
parse_at(const char *s)
{
	const char	*errstr, *end;
	struct tm	 tm;
	long long	 v;

	if (*s == '+') {
		v = strtonum(s + 1, 0, 100LL * 365 * 86400, &errstr);
		if (errstr != NULL)
			errx(ST_USAGE, "--at %s: %s", s, errstr);
		return (long long)time(NULL) + v;
	}
	v = strtonum(s, 0, LLONG_MAX, &errstr);
	if (errstr == NULL)
		return v;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm)) == NULL ||
	    *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, "%Y-%m-%d %H:%M", &tm)) == NULL ||
		    *end != '\0')
			errx(ST_USAGE, "--at %s: not a time (Unix seconds, "
			    "+SECONDS or \"YYYY-MM-DD HH:MM[:SS]\")", s);
	}
	tm.tm_isdst = -1;
	return (long long)mktime(&tm);
}

/* Remove the pid file at exit. */
static void
pidfile_cleanup(void)
{
	if (opt.pidfile != NULL)
		unlink(opt.pidfile);
}

/* Remove the pid file, then die of the signal. */
static void
on_signal(int sig)
{
	if (opt.pidfile != NULL)
		unlink(opt.pidfile);
	signal(sig, SIG_DFL);
	raise(sig);
}

enum {
	OPT_AT = 256,
	OPT_STATUS,
	OPT_UNORDERED
};

static const struct option longopts[] = {
	{ "at",		required_argument,	NULL,	OPT_AT },
	{ "background",	no_argument,		NULL,	'b' },
	{ "function",	required_argument,	NULL,	'f' },
	{ "help",	no_argument,		NULL,	'H' },
	{ "high",	no_argument,		NULL,	'I' },
	{ "host",	required_argument,	NULL,	'h' },
	{ "jobs",	required_argument,	NULL,	'j' },
	{ "low",	no_argument,		NULL,	'L' },
	{ "pidfile",	required_argument,	NULL,	'i' },
	{ "port",	required_argument,	NULL,	'p' },
	{ "prefix",	no_argument,		NULL,	'P' },
	{ "status",	required_argument,	NULL,	OPT_STATUS },
	{ "timeout",	required_argument,	NULL,	't' },
	{ "unique",	required_argument,	NULL,	'u' },
	{ "unordered",	no_argument,		NULL,	OPT_UNORDERED },
	{ "verbose",	no_argument,		NULL,	'v' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

/* Parse the options, read the payloads and run the jobs. */
int
main(int argc, char *argv[])
{
	char		**hosts = NULL, *status_handle = NULL;
	const char	 *port = NULL, *errstr;
	size_t		  nhosts = 0, i, maxu;
	int		  ch, rv;
	FILE		 *f;
	struct gm_server *srvs = NULL;
	struct job	 *j;

	/* Running out of memory is a local error, not a failed job. */
	log_set_fatal_status(ST_LOCAL);
	if (argc == 2 && strcmp(argv[1], "-h") == 0)
		usage(0);
	opt.window = DEFAULT_WINDOW;
	while ((ch = getopt_long(argc, argv, "bf:Hh:Ii:j:LNnPp:st:u:Vv",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			opt.background = 1;
			break;
		case 'f':
			opt.funcs = xreallocarray(opt.funcs, opt.nfuncs + 1,
			    sizeof(*opt.funcs));
			opt.funcs[opt.nfuncs++] = optarg;
			break;
		case 'H':
			usage(0);
		case 'h':
			hosts = xreallocarray(hosts, nhosts + 1,
			    sizeof(*hosts));
			hosts[nhosts++] = optarg;
			break;
		case 'I':
			opt.prio = 1;
			break;
		case 'i':
			opt.pidfile = optarg;
			break;
		case 'j':
			opt.window = strtonum(optarg, 1, 1000000, &errstr);
			if (errstr != NULL)
				errx(ST_USAGE, "-j %s: %s", optarg, errstr);
			break;
		case 'L':
			opt.prio = -1;
			break;
		case 'N':
			opt.lines = 2;
			break;
		case 'n':
			opt.lines = 1;
			break;
		case 'P':
			opt.prefix = 1;
			break;
		case 'p':
			strtonum(optarg, 1, 65535, &errstr);
			if (errstr != NULL)
				errx(ST_USAGE, "-p %s: %s", optarg, errstr);
			port = optarg;
			break;
		case 's':
			opt.empty = 1;
			break;
		case 't':
			opt.timeout = strtonum(optarg, 1, INT32_MAX / 2,
			    &errstr);
			if (errstr != NULL)
				errx(ST_USAGE, "-t %s: %s", optarg, errstr);
			break;
		case 'u':
			opt.unique = optarg;
			break;
		case 'V':
			printf("gm-submit %s\n", GM_VERSION);
			exit(0);
		case 'v':
			opt.verbose = 1;
			break;
		case OPT_AT:
			opt.at = parse_at(optarg);
			opt.at_set = 1;
			break;
		case OPT_STATUS:
			status_handle = optarg;
			break;
		case OPT_UNORDERED:
			opt.unordered = 1;
			break;
		default:
			usage(ST_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	/* Conflicts. */
	if (status_handle == NULL && opt.nfuncs == 0) {
		warnx("no function given (-f)");
		usage(ST_USAGE);
	}
	if (opt.at_set && opt.prio != 0)
		errx(ST_USAGE, "--at jobs run at normal priority; "
		    "-I and -L do not apply");
	if (opt.lines && (argc > 0 || opt.empty))
		errx(ST_USAGE, "-n and -N read standard input; "
		    "they take no data arguments and no -s");
	if (opt.empty && argc > 0)
		errx(ST_USAGE, "-s submits one empty job; no data arguments");
	if (opt.unique != NULL) {
		maxu = GM_UNIQUE_SIZE - 1;
		if ((opt.lines || argc > 1) && strcmp(opt.unique, "-") != 0)
			maxu -= 11;
		if (strlen(opt.unique) > maxu)
			errx(ST_USAGE, "-u: unique id longer than %zu bytes",
			    maxu);
	}

	/* Servers: -h, else GEARMAN_SERVER, else localhost. */
	net_tool_servers(hosts, nhosts, port, ST_USAGE, &srvs, &nconns);
	free(hosts);
	conns = xcalloc(nconns, sizeof(*conns));
	for (i = 0; i < nconns; i++) {
		conns[i].s_srv = srvs[i];
		client_init(&conns[i].s_c, &srvs[i]);
		TAILQ_INIT(&conns[i].s_sent);
		TAILQ_INIT(&conns[i].s_running);
	}
	free(srvs);

	if (opt.pidfile != NULL) {
		if ((f = fopen(opt.pidfile, "w")) == NULL)
			err(ST_LOCAL, "%s", opt.pidfile);
		fprintf(f, "%ld\n", (long)getpid());
		if (fclose(f) == EOF)
			err(ST_LOCAL, "%s", opt.pidfile);
		atexit(pidfile_cleanup);
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		signal(SIGHUP, on_signal);
	}
	stderr_tty = isatty(STDERR_FILENO);

	if (status_handle != NULL)
		return query_status(status_handle);

	/* The payloads. */
	if (opt.lines) {
		opt.multi = 1;
		in_eof = 0;
	} else if (argc > 0) {
		opt.multi = argc > 1;
		for (i = 0; i < (size_t)argc; i++)
			add_payload(payload_new((uint8_t *)xstrdup(argv[i]),
			    strlen(argv[i])));
	} else if (opt.empty)
		add_payload(payload_new(NULL, 0));
	else
		read_stdin_all();

	rv = run();
	/* Jobs never done (cannot happen) must not count as success. */
	TAILQ_FOREACH(j, &alljobs, j_order)
		if (j->j_state != J_DONE)
			rv = rv > ST_NOSERVER ? rv : ST_NOSERVER;
	return rv;
}
