/* Public domain. See README.md for the licence of this project. */
/* One client connection to a job server: buffered packets and lines. */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "client.h"
#include "tls.h"
#include "tool.h"
#include "xmalloc.h"

#define READ_CHUNK	(64 * 1024)

static void	client_reserve_w(struct client *, size_t);
static int	client_wait(struct client *, short, int64_t);
static int	client_more(struct client *, int64_t);
static int	client_handshake(struct client *, const char *, int64_t);
static ssize_t	client_io(struct client *, void *, size_t, int);

static SSL_CTX	*client_tls;	/* TLS to TCP servers when set */

/* Milliseconds on the monotonic clock. */
int64_t
client_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A poll(2) timeout for an absolute deadline (-1: none). */
int
client_remaining(int64_t deadline)
{
	int64_t	 left;

	if (deadline < 0)
		return -1;
	left = deadline - client_now();
	if (left < 0)
		return 0;
	if (left > 24 * 3600 * 1000)
		return 24 * 3600 * 1000;
	return (int)left;
}

/*
 * The servers a tool's options name (tool_servers): *list holds *n of
 * them, caller frees.  With TLS asked for, every client speaks it to a TCP
 * server from now on (a unix socket stays plain: the file's permissions
 * guard it).
 */
void
client_tool_servers(struct tool_opts *t, struct gm_server **list, size_t *n)
{
	tool_servers(t, list, n);
	client_tls = tool_tls(t);
}

/* Why client_connect failed with errno e, for a message. */
const char *
client_strerror(const struct client *c, int e)
{
	if (c->tls_error[0] != '\0')
		return c->tls_error;
	if (e == EHOSTUNREACH)
		return "host not found";
	return strerror(e);
}

/* Set up an unconnected client for a server. */
void
client_init(struct client *c, const struct gm_server *srv)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->srv = *srv;
	net_server_name(srv, c->name, sizeof(c->name));
}

/*
 * Connect to the client's server, waiting at most timeout ms.  Returns 0,
 * or -1 with errno set.  Buffers from an earlier connection are emptied.
 */
int
client_connect(struct client *c, int timeout)
{
	const struct gm_server	*srv = &c->srv;

	if (c->fd != -1)
		client_close(c);
	c->roff = c->rlen = c->woff = c->wlen = 0;
	c->tls_error[0] = '\0';
	if ((c->fd = net_connect(srv->host, srv->port, timeout)) == -1)
		return -1;
	if (client_tls == NULL || net_is_unix(srv->host))
		return 0;
	if (client_handshake(c, srv->host, timeout > 0 ?
	    client_now() + timeout : -1) == -1) {
		client_close(c);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/* The TLS handshake with the server host, until the deadline. */
static int
client_handshake(struct client *c, const char *host, int64_t deadline)
{
	int	 rv;

	if ((c->ssl = tls_client_new(client_tls, c->fd, host)) == NULL) {
		snprintf(c->tls_error, sizeof(c->tls_error), "TLS: out of "
		    "memory");
		return -1;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((rv = SSL_connect(c->ssl)) == 1)
			return 0;
		switch (SSL_get_error(c->ssl, rv)) {
		case SSL_ERROR_WANT_READ:
			rv = client_wait(c, POLLIN, deadline);
			break;
		case SSL_ERROR_WANT_WRITE:
			rv = client_wait(c, POLLOUT, deadline);
			break;
		default:
			snprintf(c->tls_error, sizeof(c->tls_error),
			    "TLS handshake failed: %s",
			    tls_errstr(c->ssl, rv));
			return -1;
		}
		if (rv == -1) {
			snprintf(c->tls_error, sizeof(c->tls_error),
			    "TLS handshake failed: %s", strerror(errno));
			return -1;
		}
	}
}

/* Close the socket; buffered bytes are dropped. */
void
client_close(struct client *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->roff = c->rlen = c->woff = c->wlen = 0;
}

/* Close and release the buffers. */
void
client_free(struct client *c)
{
	client_close(c);
	free(c->rbuf);
	free(c->wbuf);
	c->rbuf = c->wbuf = NULL;
	c->rcap = c->wcap = 0;
}

/* Make room for n more bytes of output. */
static void
client_reserve_w(struct client *c, size_t n)
{
	size_t	 cap;

	if (c->woff > 0 && c->woff == c->wlen)
		c->woff = c->wlen = 0;
	if (c->wcap - c->wlen >= n)
		return;
	if (c->woff > 0) {
		memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
		c->wlen -= c->woff;
		c->woff = 0;
		if (c->wcap - c->wlen >= n)
			return;
	}
	cap = c->wcap > 0 ? c->wcap : 4096;
	while (cap - c->wlen < n)
		cap *= 2;
	c->wbuf = xreallocarray(c->wbuf, cap, 1);
	c->wcap = cap;
}

/*
 * Queue a request packet with its full argument list.  Returns 0, or a
 * proto_status when the arguments do not fit the type.
 */
int
client_queue(struct client *c, uint32_t type, const struct gm_arg *args,
    int nargs)
{
	const struct gm_ptype	*pt;
	size_t			 need, datalen = 0, pre;
	int			 rv, npre;

	if ((pt = proto_type(type)) == NULL || pt->nargs != nargs)
		return PROTO_BAD_ARGS;
	if (nargs > 0)
		datalen = args[nargs - 1].len;
	npre = nargs > 0 ? nargs - 1 : 0;
	need = GM_HEADER_SIZE + proto_body_size(args, nargs);
	client_reserve_w(c, need);
	rv = proto_encode_prefix(c->wbuf + c->wlen, c->wcap - c->wlen, GM_REQ,
	    type, args, npre, datalen, &pre);
	if (rv != PROTO_OK)
		return rv;
	if (datalen > 0)
		memcpy(c->wbuf + c->wlen + pre, args[nargs - 1].ptr, datalen);
	c->wlen += pre + datalen;
	return PROTO_OK;
}

/* Queue an admin text command; the line ending is added. */
void
client_queue_line(struct client *c, const char *line)
{
	size_t	 len = strlen(line);

	client_reserve_w(c, len + 2);
	memcpy(c->wbuf + c->wlen, line, len);
	memcpy(c->wbuf + c->wlen + len, "\r\n", 2);
	c->wlen += len + 2;
}

/* Bytes waiting to be sent. */
size_t
client_pending(const struct client *c)
{
	return c->wlen - c->woff;
}

/*
 * Move bytes over the socket, plain or TLS: a send (out) or a receive.
 * Returns the count, 0 at the end of input, or -1 with errno (EAGAIN when
 * the socket is not ready).
 */
static ssize_t
client_io(struct client *c, void *buf, size_t len, int out)
{
	int	 want;

	if (c->ssl == NULL)
		return out ? send(c->fd, buf, len, MSG_NOSIGNAL) :
		    recv(c->fd, buf, len, 0);
	return tls_io(c->ssl, buf, len, out, &want);
}

/*
 * Send as much queued output as the socket takes without blocking.
 * Returns 0 (also when some is left), or -1 with errno on a dead peer.
 */
int
client_write(struct client *c)
{
	ssize_t	 n;

	while (c->woff < c->wlen) {
		n = client_io(c, c->wbuf + c->woff, c->wlen - c->woff, 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->woff += (size_t)n;
	}
	c->woff = c->wlen = 0;
	return 0;
}

/* Wait until the socket is ready for events or the deadline passes. */
static int
client_wait(struct client *c, short events, int64_t deadline)
{
	struct pollfd	 pfd;
	int		 rv;

	/* Bytes TLS already decrypted are ready without the socket. */
	if ((events & POLLIN) && c->ssl != NULL && SSL_pending(c->ssl) > 0)
		return 0;
	pfd.fd = c->fd;
	pfd.events = events;
	for (;;) {
		rv = poll(&pfd, 1, client_remaining(deadline));
		if (rv == -1 && errno == EINTR)
			continue;
		if (rv == -1)
			return -1;
		if (rv == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		return 0;
	}
}

/* Send all queued output, waiting until the deadline (-1: none). */
int
client_flush(struct client *c, int64_t deadline)
{
	for (;;) {
		if (client_write(c) == -1)
			return -1;
		if (client_pending(c) == 0)
			return 0;
		if (client_wait(c, POLLOUT, deadline) == -1)
			return -1;
	}
}

/*
 * Read what the socket holds without blocking.  Returns the byte count,
 * 0 at end of file, or -1 with errno (EAGAIN: nothing there yet).  Packets
 * and lines returned earlier are invalid afterwards.
 */
int
client_read(struct client *c)
{
	ssize_t	 n;
	size_t	 cap;

	if (c->roff > 0) {
		memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
		c->rlen -= c->roff;
		c->roff = 0;
	}
	if (c->rcap - c->rlen < READ_CHUNK) {
		cap = c->rcap > 0 ? c->rcap : READ_CHUNK * 2;
		while (cap - c->rlen < READ_CHUNK)
			cap *= 2;
		c->rbuf = xreallocarray(c->rbuf, cap, 1);
		c->rcap = cap;
	}
	for (;;) {
		n = client_io(c, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
		if (n == -1 && errno == EINTR)
			continue;
		break;
	}
	if (n > 0)
		c->rlen += (size_t)n;
	return (int)n;
}

/*
 * Take the next whole packet from the input.  Returns PROTO_OK (its
 * arguments point into the buffer until the next read), PROTO_NEED_MORE,
 * or the decoding error.
 */
int
client_packet(struct client *c, struct gm_packet *pkt)
{
	struct gm_header hdr;
	size_t		 avail = c->rlen - c->roff, need;
	int		 rv;

	if (avail == 0)
		return PROTO_NEED_MORE;
	rv = proto_decode_header(c->rbuf + c->roff, avail,
	    GM_DEFAULT_MAX_PACKET, &hdr);
	if (rv != PROTO_OK)
		return rv;
	need = GM_HEADER_SIZE + (size_t)hdr.size;
	if (avail < need) {
		/* Grow once to the packet's size rather than by doubling. */
		if (c->rcap < need + (c->rlen - avail)) {
			c->rbuf = xreallocarray(c->rbuf, need + c->roff +
			    READ_CHUNK, 1);
			c->rcap = need + c->roff + READ_CHUNK;
		}
		return PROTO_NEED_MORE;
	}
	rv = proto_split(&hdr, c->rbuf + c->roff + GM_HEADER_SIZE, hdr.size,
	    pkt);
	if (rv != PROTO_OK)
		return rv;
	c->roff += need;
	return PROTO_OK;
}

/*
 * Take the next whole text line (with its "\n") from the input.  Returns 1
 * and points *line into the buffer until the next read, or 0.
 */
int
client_line(struct client *c, const char **line, size_t *len)
{
	uint8_t	*nl;

	if (c->rlen == c->roff)
		return 0;
	nl = memchr(c->rbuf + c->roff, '\n', c->rlen - c->roff);
	if (nl == NULL)
		return 0;
	*line = (const char *)c->rbuf + c->roff;
	*len = (size_t)(nl - (c->rbuf + c->roff)) + 1;
	c->roff += *len;
	return 1;
}

/*
 * Wait for input until the deadline and read it: 0, or -1 with errno
 * (ECONNRESET for end of file).
 */
static int
client_more(struct client *c, int64_t deadline)
{
	int	 rv;

	if (client_wait(c, POLLIN, deadline) == -1)
		return -1;
	rv = client_read(c);
	if (rv == 0) {
		errno = ECONNRESET;
		return -1;
	}
	if (rv == -1 && errno != EAGAIN)
		return -1;
	return 0;
}

/*
 * Send what is queued and wait for the next packet until the deadline.
 * Returns PROTO_OK, or -1 with errno: ETIMEDOUT, ECONNRESET for end of
 * file, EPROTO for bytes that are not a packet.
 */
int
client_wait_packet(struct client *c, struct gm_packet *pkt, int64_t deadline)
{
	int	 rv;

	if (client_flush(c, deadline) == -1)
		return -1;
	for (;;) {
		rv = client_packet(c, pkt);
		if (rv == PROTO_OK)
			return PROTO_OK;
		if (rv != PROTO_NEED_MORE) {
			errno = EPROTO;
			return -1;
		}
		if (client_more(c, deadline) == -1)
			return -1;
	}
}

/* Send what is queued and wait for the next text line (as client_line). */
int
client_wait_line(struct client *c, const char **line, size_t *len,
    int64_t deadline)
{
	if (client_flush(c, deadline) == -1)
		return -1;
	for (;;) {
		if (client_line(c, line, len))
			return 0;
		if (client_more(c, deadline) == -1)
			return -1;
	}
}
