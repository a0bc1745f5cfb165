/* Public domain. See README.md for the licence of this project. */
/*
 * gm-submit's servers: choosing one for each job, submitting, reading the
 * answers, leaving a server that is down or dies mid-job (its jobs go to
 * another), trying again, and the poll loop that drives it all.
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "compat.h"
#include "net.h"
#include "proto.h"
#include "status.h"
#include "xmalloc.h"
#include "gm-submit.h"

static int		 noserver_said;
static size_t		 rr;
static char		 lost[512];	/* the last connection lost */

static uint32_t		 hash(const uint8_t *, size_t, uint32_t);
static struct sconn	*pick_conn(const struct job *);
static int		 submit(struct job *);
static void		 conn_open(struct sconn *);
static void		 conn_lost(struct sconn *, const char *);
static int		 same_handle(const struct job *, const struct gm_arg *);
static void		 handle_packet(struct sconn *, struct gm_packet *);
static void		 ghost(struct job *);
static void		 check_deadlines(void);
static int64_t		 next_deadline(void);
static size_t		 reconnect(void);
static void		 probe(struct sconn *, int64_t);
static int64_t		 next_probe(void);

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
	if (client_connect(&s->s_c, ms) == -1) {
		/* A TLS failure is no outage: always say why. */
		if (opt.verbose || s->s_c.tls_error[0] != '\0')
			say("%s: %s", s->s_c.name,
			    client_strerror(&s->s_c, errno));
		return;
	}
	s->s_up = 1;
	s->s_heard = client_now();
	s->s_echo = -1;
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
const char *
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

/* Where a job's payload came from, for messages: "line 3", "stdin". */
static const char *
job_source(const struct job *j, char *buf, size_t len)
{
	if (opt.lines)
		snprintf(buf, len, "line %zu", j->j_seq);
	else if (opt.from_args)
		snprintf(buf, len, "argument %zu", j->j_seq);
	else if (opt.empty)
		snprintf(buf, len, "empty payload");
	else
		snprintf(buf, len, "stdin");
	return buf;
}

/*
 * Say that a job failed: its function, where its payload came from, its
 * handle, the worker's error (the exception, else the last line of its
 * last warning) and, with -v, the server.
 */
static void
job_failed_say(const struct job *j, const struct sconn *s,
    const struct gm_arg *exc)
{
	const char	*e = NULL;
	size_t		 n = 0;
	char		 src[64];

	if (exc != NULL && exc->len > 0) {
		e = (const char *)exc->ptr;
		n = exc->len;
	} else if (j->j_warn != NULL) {
		e = j->j_warn;
		n = j->j_wlen;
	}
	while (n > 0 && (e[n - 1] == '\n' || e[n - 1] == '\r'))
		n--;
	if (exc == NULL || exc->len == 0) {
		/* The last line of a warning says most. */
		const char *nl;

		while (n > 0 && (nl = memrchr(e, '\n', n)) != NULL &&
		    nl + 1 == e + n)
			n--;
		if (n > 0 && (nl = memrchr(e, '\n', n)) != NULL) {
			n -= (size_t)(nl + 1 - e);
			e = nl + 1;
		}
	}
	say("%s: %s: job %s failed%s%.*s%s%s", j->j_func,
	    job_source(j, src, sizeof(src)), j->j_handle, n > 0 ? ": " : "",
	    (int)n, n > 0 ? e : "", opt.verbose ? " on " : "",
	    opt.verbose ? s->s_c.name : "");
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
			free(j->j_warn);
			j->j_wlen = pkt->arg[1].len > 4096 ? 4096 :
			    pkt->arg[1].len;
			j->j_warn = xmalloc(j->j_wlen + 1);
			memcpy(j->j_warn, pkt->arg[1].ptr + pkt->arg[1].len -
			    j->j_wlen, j->j_wlen);
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
			job_failed_say(j, s, &pkt->arg[1]);
			job_finish(j, ST_FAILED);
			break;
		case GM_WORK_FAIL:
			job_failed_say(j, s, NULL);
			job_finish(j, ST_FAILED);
			break;
		}
		first = 0;
	}
}

/*
 * Read from a server and give every whole packet to packet; gone(s, why)
 * when the server is gone or sent garbage (it must clear s_up).
 */
void
conn_input(struct sconn *s, void (*packet)(struct sconn *,
    struct gm_packet *), void (*gone)(struct sconn *, const char *))
{
	struct gm_packet pkt;
	int		 rv;

	rv = client_read(&s->s_c);
	if (rv > 0) {
		/* A sign of life: any probe is answered. */
		s->s_heard = client_now();
		s->s_echo = -1;
	}
	if (rv == 0) {
		gone(s, "connection closed by the server");
		return;
	}
	if (rv == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			gone(s, lost_why(errno));
		return;
	}
	while ((rv = client_packet(&s->s_c, &pkt)) == PROTO_OK) {
		packet(s, &pkt);
		if (!s->s_up)
			return;
	}
	if (rv != PROTO_NEED_MORE)
		gone(s, proto_strerror(rv));
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

/*
 * The liveness probe (--probe): a server that has sent nothing for
 * opt.probe ms, while nothing waits to go to it, gets an ECHO_REQ; one
 * that sends nothing back within opt.probe ms more is left as dead, like
 * one that closed the connection.  Data stuck on its way out is the
 * kernel's to time out (TCP_USER_TIMEOUT).
 */
static void
probe(struct sconn *s, int64_t now)
{
	struct gm_arg	 a = gm_str("probe");
	char		 why[64];

	if (opt.probe <= 0 || !s->s_up)
		return;
	if (s->s_echo >= 0) {
		/* An answer may wait unread after a slow connect elsewhere. */
		if (now >= s->s_echo && !net_readable(s->s_c.fd)) {
			snprintf(why, sizeof(why), "no answer to ECHO_REQ "
			    "within %d s", opt.probe / 1000);
			conn_lost(s, why);
		}
		return;
	}
	if (now - s->s_heard >= opt.probe && client_pending(&s->s_c) == 0) {
		client_queue(&s->s_c, GM_ECHO_REQ, &a, 1);
		s->s_echo = now + opt.probe;
	}
}

/* When the probe next has something to do on a live server, or -1. */
static int64_t
next_probe(void)
{
	int64_t	 d = -1, t;
	size_t	 i;

	if (opt.probe <= 0)
		return -1;
	for (i = 0; i < nconns; i++) {
		if (!conns[i].s_up)
			continue;
		t = conns[i].s_echo >= 0 ? conns[i].s_echo :
		    conns[i].s_heard + opt.probe;
		if (d < 0 || t < d)
			d = t;
	}
	return d;
}

/* Submit, wait and print until every job is done; returns the status. */
int
run(void)
{
	struct pollfd	*pfd;
	struct job	*j;
	size_t		 i, n, up;
	int64_t		 now, wake, t;
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
		now = client_now();
		for (i = 0; i < nconns; i++) {
			probe(&conns[i], now);
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
		wake = next_deadline();
		if ((t = next_probe()) >= 0 && (wake < 0 || t < wake))
			wake = t;
		rv = poll(pfd, n, client_remaining(wake));
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
				conn_input(&conns[i], handle_packet, conn_lost);
			n++;
		}
		check_deadlines();
	}
	free(pfd);
	progress_clear();
	if (njobs_done > 1 && njobs_failed > 0)
		say("%zu of %zu jobs failed", njobs_failed, njobs_done);
	return status_worst();
}
