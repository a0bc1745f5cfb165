/* Public domain. See README.md for the licence of this project. */
/*
 * The minimal FIFO server: the reference for what a job server can do on
 * this machine.  It moves jobs through one FIFO and nothing else:
 * SUBMIT_JOB_BG and SUBMIT_JOB (any function) -> JOB_CREATED; GRAB_JOB ->
 * JOB_ASSIGN, GRAB_JOB_UNIQ and GRAB_JOB_ALL -> JOB_ASSIGN_UNIQ (an empty
 * unique id), or NO_JOB; PRE_SLEEP/NOOP (one NOOP per queued job); ECHO;
 * WORK_COMPLETE and WORK_FAIL of a foreground job go to its client (by the
 * number in its handle), of a background job nowhere.  No priorities, no
 * unique ids, no admin protocol, no function registry (any worker gets any
 * job): not a Gearman server, a yardstick for make bench.
 */

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "net.h"
#include "proto.h"
#include "xmalloc.h"

#define READ_CHUNK	(64 * 1024)

struct conn;

struct job {
	STAILQ_ENTRY(job) j_entry;
	struct job	*j_next_run;		/* running foreground jobs */
	struct conn	*j_client;		/* foreground: its client */
	uint64_t	 j_num;
	size_t		 j_flen, j_dlen;	/* function, then data, follow */
};

#define RUN_BUCKETS	1024		/* running jobs by number */

struct conn {
	int		 fd;
	uint8_t		*in;
	size_t		 inlen, incap;
	uint8_t		*out;
	size_t		 outoff, outlen, outcap;
	int		 dirty, pollout, sleeping;
	long		 fgjobs;	/* foreground jobs of this client */
	struct conn	*next_dirty;
	TAILQ_ENTRY(conn) c_sleep;
};

static STAILQ_HEAD(, job) fifo = STAILQ_HEAD_INITIALIZER(fifo);
static struct job	*running[RUN_BUCKETS];
static TAILQ_HEAD(, conn) sleepers = TAILQ_HEAD_INITIALIZER(sleepers);
static struct conn	*dirty_head;
static uint64_t		 next_num = 1;
static int		 ep;

static uint8_t	*reserve(struct conn *, size_t);
static void	 mark(struct conn *);
static void	 flush(struct conn *);
static void	 send_hdr(struct conn *, uint32_t);
static void	 send_args(struct conn *, uint32_t, const struct gm_arg *, int);
static struct gm_arg job_handle(char *, size_t, uint64_t);
static void	 submit(struct conn *, const struct gm_packet *);
static void	 grab(struct conn *, uint32_t);
static void	 finish(const struct gm_packet *);
static void	 handle(struct conn *, const struct gm_packet *);
static void	 conn_free(struct conn *);
static int	 conn_read(struct conn *);

/* Make room for n output bytes and return where they go. */
static uint8_t *
reserve(struct conn *c, size_t n)
{
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if (c->outlen + n > c->outcap) {
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
		if (c->outlen + n > c->outcap) {
			c->outcap = (c->outlen + n) * 2 + 16384;
			c->out = xreallocarray(c->out, 1, c->outcap);
		}
	}
	return c->out + c->outlen;
}

/* Put a connection on the list flushed after this batch of events. */
static void
mark(struct conn *c)
{
	if (!c->dirty) {
		c->dirty = 1;
		c->next_dirty = dirty_head;
		dirty_head = c;
	}
}

/* Write what the socket takes; EPOLLOUT only while output remains. */
static void
flush(struct conn *c)
{
	struct epoll_event	 ev;
	ssize_t			 n;
	int			 want;

	while (c->outoff < c->outlen) {
		n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				c->outoff = c->outlen;	/* peer gone */
			break;
		}
		c->outoff += (size_t)n;
	}
	want = c->outoff < c->outlen;
	if (want != c->pollout) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
		ev.data.ptr = c;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->pollout = want;
	}
}

/* Queue a packet without arguments. */
static void
send_hdr(struct conn *c, uint32_t type)
{
	proto_encode_header(reserve(c, GM_HEADER_SIZE), GM_RES, type, 0);
	c->outlen += GM_HEADER_SIZE;
	mark(c);
}

/* Queue a packet with all its arguments (the last one raw). */
static void
send_args(struct conn *c, uint32_t type, const struct gm_arg *a, int n)
{
	size_t	 need = GM_HEADER_SIZE, len;
	int	 i;

	for (i = 0; i < n; i++)
		need += a[i].len + 1;
	if (proto_encode(reserve(c, need), need, GM_RES, type, a, n, &len) !=
	    PROTO_OK)
		errx(1, "encode %s", proto_type_name(type));
	c->outlen += len;
	mark(c);
}

/* Format the handle of job number num into h. */
static struct gm_arg
job_handle(char *h, size_t len, uint64_t num)
{
	snprintf(h, len, "H:fifo:%llu", (unsigned long long)num);
	return gm_str(h);
}

/* SUBMIT_JOB_BG or SUBMIT_JOB: queue the job, wake one sleeping worker. */
static void
submit(struct conn *c, const struct gm_packet *pkt)
{
	struct gm_arg	 a;
	struct job	*j;
	struct conn	*w;
	char		 h[GM_HANDLE_SIZE];
	uint8_t		*p;

	j = xmalloc(sizeof(*j) + pkt->arg[0].len + pkt->arg[2].len);
	j->j_num = next_num++;
	j->j_client = NULL;
	if (pkt->hdr.type == GM_SUBMIT_JOB) {
		j->j_client = c;
		c->fgjobs++;
	}
	j->j_flen = pkt->arg[0].len;
	j->j_dlen = pkt->arg[2].len;
	p = (uint8_t *)(j + 1);
	memcpy(p, pkt->arg[0].ptr, j->j_flen);
	memcpy(p + j->j_flen, pkt->arg[2].ptr, j->j_dlen);
	STAILQ_INSERT_TAIL(&fifo, j, j_entry);
	a = job_handle(h, sizeof(h), j->j_num);
	send_args(c, GM_JOB_CREATED, &a, 1);
	/* One NOOP per queued job. */
	if ((w = TAILQ_FIRST(&sleepers)) != NULL) {
		TAILQ_REMOVE(&sleepers, w, c_sleep);
		w->sleeping = 0;
		send_hdr(w, GM_NOOP);
	}
}

/* A GRAB_JOB of any kind: assign the oldest job, or NO_JOB. */
static void
grab(struct conn *c, uint32_t type)
{
	struct gm_arg	 a[4];
	struct job	*j, **b;
	char		 h[GM_HANDLE_SIZE];
	uint8_t		*p;

	if ((j = STAILQ_FIRST(&fifo)) == NULL) {
		send_hdr(c, GM_NO_JOB);
		return;
	}
	STAILQ_REMOVE_HEAD(&fifo, j_entry);
	p = (uint8_t *)(j + 1);
	a[0] = job_handle(h, sizeof(h), j->j_num);
	a[1].ptr = p;
	a[1].len = j->j_flen;
	if (type == GM_GRAB_JOB) {
		a[2].ptr = p + j->j_flen;
		a[2].len = j->j_dlen;
		send_args(c, GM_JOB_ASSIGN, a, 3);
	} else {
		a[2] = gm_str("");
		a[3].ptr = p + j->j_flen;
		a[3].len = j->j_dlen;
		send_args(c, GM_JOB_ASSIGN_UNIQ, a, 4);
	}
	if (j->j_client == NULL) {
		free(j);
		return;
	}
	b = &running[j->j_num % RUN_BUCKETS];
	j->j_next_run = *b;
	*b = j;
}

/* WORK_COMPLETE or WORK_FAIL: a foreground job's result to its client. */
static void
finish(const struct gm_packet *pkt)
{
	struct job	*j, **pp;
	uint64_t	 num = 0;
	const uint8_t	*h = pkt->arg[0].ptr;
	size_t		 i, len = pkt->arg[0].len;

	if (len <= 7 || memcmp(h, "H:fifo:", 7) != 0)
		return;
	for (i = 7; i < len && h[i] >= '0' && h[i] <= '9'; i++)
		num = num * 10 + (uint64_t)(h[i] - '0');
	for (pp = &running[num % RUN_BUCKETS]; (j = *pp) != NULL;
	    pp = &j->j_next_run)
		if (j->j_num == num)
			break;
	if (j == NULL)
		return;		/* a background job's result */
	*pp = j->j_next_run;
	if (j->j_client != NULL) {
		j->j_client->fgjobs--;
		send_args(j->j_client, pkt->hdr.type, pkt->arg,
		    pkt->hdr.type == GM_WORK_COMPLETE ? 2 : 1);
	}
	free(j);
}

/* Serve one request. */
static void
handle(struct conn *c, const struct gm_packet *pkt)
{
	struct gm_arg	 a;

	switch (pkt->hdr.type) {
	case GM_SUBMIT_JOB_BG:
	case GM_SUBMIT_JOB:
		submit(c, pkt);
		break;
	case GM_GRAB_JOB:
	case GM_GRAB_JOB_UNIQ:
	case GM_GRAB_JOB_ALL:
		grab(c, pkt->hdr.type);
		break;
	case GM_WORK_COMPLETE:
	case GM_WORK_FAIL:
		finish(pkt);
		break;
	case GM_PRE_SLEEP:
		if (!STAILQ_EMPTY(&fifo))
			send_hdr(c, GM_NOOP);
		else if (!c->sleeping) {
			c->sleeping = 1;
			TAILQ_INSERT_TAIL(&sleepers, c, c_sleep);
		}
		break;
	case GM_ECHO_REQ:
		a = pkt->arg[0];
		send_args(c, GM_ECHO_RES, &a, 1);
		break;
	default:
		/* CAN_DO and the rest: nothing to do. */
		break;
	}
}

/* Forget a connection whose peer left. */
static void
conn_free(struct conn *c)
{
	struct conn	**pp;
	struct job	 *j;
	size_t		  i;

	if (c->sleeping)
		TAILQ_REMOVE(&sleepers, c, c_sleep);
	/* Its foreground jobs, queued or running, finish unheard. */
	if (c->fgjobs > 0) {
		STAILQ_FOREACH(j, &fifo, j_entry)
			if (j->j_client == c)
				j->j_client = NULL;
		for (i = 0; i < RUN_BUCKETS; i++)
			for (j = running[i]; j != NULL; j = j->j_next_run)
				if (j->j_client == c)
					j->j_client = NULL;
	}
	for (pp = &dirty_head; *pp != NULL; pp = &(*pp)->next_dirty)
		if (*pp == c) {
			*pp = c->next_dirty;
			break;
		}
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* Read and serve every complete packet; -1 when the peer is gone. */
static int
conn_read(struct conn *c)
{
	struct gm_packet	 pkt;
	size_t			 off = 0, used;
	ssize_t			 n;
	int			 rv;

	if (c->incap - c->inlen < READ_CHUNK) {
		c->incap = c->inlen + READ_CHUNK * 2;
		c->in = xreallocarray(c->in, 1, c->incap);
	}
	n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
	if (n == -1)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0)
		return -1;
	c->inlen += (size_t)n;
	for (;;) {
		rv = proto_decode(c->in + off, c->inlen - off, 0, &pkt, &used);
		if (rv == PROTO_NEED_MORE)
			break;
		if (rv != PROTO_OK)
			return -1;
		handle(c, &pkt);
		off += used;
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct epoll_event	 ev, evs[256];
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	struct conn		*c;
	FILE			*f;
	int			 lfd, fd, i, n;

	if (argc != 2) {
		fprintf(stderr, "usage: fifo port-file\n");
		return 1;
	}
	if (net_listen("127.0.0.1", "0", 1024, &lfd, 1) != 1)
		err(1, "listen");
	if (getsockname(lfd, (struct sockaddr *)&sin, &slen) == -1)
		err(1, "getsockname");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(1, "epoll_create1");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		err(1, "epoll_ctl");
	if ((f = fopen(argv[1], "w")) == NULL)
		err(1, "%s", argv[1]);
	fprintf(f, "%d\n", ntohs(sin.sin_port));
	fclose(f);

	for (;;) {
		while ((c = dirty_head) != NULL) {
			dirty_head = c->next_dirty;
			c->dirty = 0;
			flush(c);
		}
		if ((n = epoll_wait(ep, evs, nitems(evs), -1)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "epoll_wait");
		}
		for (i = 0; i < n; i++) {
			if ((c = evs[i].data.ptr) == NULL) {
				while ((fd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
					net_nodelay(fd);
					c = xcalloc(1, sizeof(*c));
					c->fd = fd;
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			if ((evs[i].events & EPOLLOUT) && !c->dirty)
				mark(c);
			if ((evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) &&
			    conn_read(c) == -1)
				conn_free(c);
		}
	}
}
