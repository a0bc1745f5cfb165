/* Public domain. See README.md for the licence of this project. */
/*
 * gmbench's connections to the server under test: connect (with -S a TLS
 * handshake), buffered output flushed once per loop pass (EPOLLOUT only
 * while the socket is full), input parsed into packets in place and
 * handed to the scenario's handle(), and the packets without a payload
 * that every scenario sends.
 */

#include <sys/types.h>
#include <sys/epoll.h>

#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "net.h"
#include "proto.h"
#include "tls.h"
#include "xmalloc.h"

#include "conn.h"

#define READ_CHUNK	(64 * 1024)

const char	*host = "127.0.0.1";
const char	*port;
SSL_CTX		*tls;
int		 ep = -1;
struct conn	**conns;
int		 nconns;

static struct conn	*dirty_head;

/* Monotonic time in nanoseconds. */
uint64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Connect one connection of the given role and watch it. */
struct conn *
conn_open(enum role role)
{
	struct epoll_event	 ev;
	struct conn		*c;
	int			 fd;

	if ((fd = net_connect(host, port, 5000)) == -1)
		err(1, "connect %s:%s", host, port);
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	if (tls != NULL) {
		/* A blocking handshake: connections are set up before timing. */
		if ((c->ssl = tls_client_new(tls, fd, host)) == NULL ||
		    net_nonblock(fd, 0) == -1)
			errx(1, "TLS session");
		if (SSL_connect(c->ssl) != 1)
			errx(1, "TLS handshake with %s:%s failed", host, port);
		net_nonblock(fd, 1);
	}
	c->role = role;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		err(1, "epoll_ctl");
	conns = xreallocarray(conns, nconns + 1, sizeof(*conns));
	conns[nconns++] = c;
	return c;
}

/* read(2) or write(2) (out) on c, through TLS with -S. */
ssize_t
conn_io(struct conn *c, void *buf, size_t len, int out)
{
	int	 want;

	if (c->ssl == NULL)
		return out ? write(c->fd, buf, len) : read(c->fd, buf, len);
	return tls_io(c->ssl, buf, len, out, &want);
}

/* Make room for n more output bytes and return where they go. */
uint8_t *
conn_reserve(struct conn *c, size_t n)
{
	if (c->outoff > 0 && c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if (c->outlen + n > c->outcap) {
		if (c->outoff > 0) {
			memmove(c->out, c->out + c->outoff,
			    c->outlen - c->outoff);
			c->outlen -= c->outoff;
			c->outoff = 0;
		}
		if (c->outlen + n > c->outcap) {
			c->outcap = (c->outlen + n) * 2;
			if (c->outcap < 16384)
				c->outcap = 16384;
			c->out = xreallocarray(c->out, 1, c->outcap);
		}
	}
	return c->out + c->outlen;
}

/* Put a connection with pending output on the flush list. */
void
conn_mark(struct conn *c)
{
	if (!c->dirty) {
		c->dirty = 1;
		c->next_dirty = dirty_head;
		dirty_head = c;
	}
}

/* Write what the socket takes; watch for EPOLLOUT while output remains. */
void
conn_flush(struct conn *c)
{
	struct epoll_event	 ev;
	ssize_t			 n;
	int			 want;

	while (c->outoff < c->outlen) {
		n = conn_io(c, c->out + c->outoff, c->outlen - c->outoff, 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			err(1, "write");
		}
		c->outoff += (size_t)n;
	}
	want = c->outoff < c->outlen;
	if (want != c->pollout) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
			err(1, "epoll_ctl");
		c->pollout = want;
	}
}

/* Flush every connection that has new output. */
void
flush_all(void)
{
	struct conn	*c;

	while ((c = dirty_head) != NULL) {
		dirty_head = c->next_dirty;
		c->dirty = 0;
		conn_flush(c);
	}
}

/* Read what is there and handle every complete packet. */
void
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
	n = conn_io(c, c->in + c->inlen, c->incap - c->inlen, 0);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		err(1, "read");
	}
	if (n == 0)
		errx(1, "server closed a %s connection",
		    c->role == R_WORKER ? "worker" : "client");
	c->inlen += (size_t)n;
	for (;;) {
		rv = proto_decode(c->in + off, c->inlen - off, 0, &pkt, &used);
		if (rv == PROTO_NEED_MORE)
			break;
		if (rv != PROTO_OK)
			errx(1, "bad packet from server: %s",
			    proto_strerror(rv));
		handle(c, &pkt);
		off += used;
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
}

/* Queue a packet without arguments. */
void
send_simple(struct conn *c, uint32_t type)
{
	size_t	 len;

	if (proto_encode_prefix(conn_reserve(c, GM_HEADER_SIZE),
	    GM_HEADER_SIZE, GM_REQ, type, NULL, 0, 0, &len) != PROTO_OK)
		errx(1, "encode %s", proto_type_name(type));
	c->outlen += len;
	conn_mark(c);
}

/* Queue a packet with one string argument. */
void
send_str(struct conn *c, uint32_t type, const char *s)
{
	struct gm_arg	 a = gm_str(s);
	size_t		 need = GM_HEADER_SIZE + a.len, len;

	if (proto_encode(conn_reserve(c, need), need, GM_REQ, type, &a, 1,
	    &len) != PROTO_OK)
		errx(1, "encode %s", proto_type_name(type));
	c->outlen += len;
	conn_mark(c);
}

/* Queue an ECHO_REQ, to learn when the server has read all before it. */
void
send_echo(struct conn *c)
{
	send_str(c, GM_ECHO_REQ, "sync");
	c->echoes++;
}
