/* Public domain. See README.md for the licence of this project. */
/*
 * struct conn: buffers, packet framing (binary or admin text, chosen per
 * packet by its first byte; an HTTP request line gets an HTTP answer from
 * http.c), arguments checked as they arrive, bounded output, and closing
 * with deferred freeing.  The budget on the input held across all
 * connections and the deadline on a partial request are budget.c's; the
 * replies that wait for the journal (struct ack) are ack.c's.  Bytes move
 * through conn_io_read and conn_io_write, plain or TLS (tlsconn.c), and
 * nothing else touches the socket.
 *
 * Why our own read and write events and plain buffers, not bufferevents
 * or evbuffers: with one-job-at-a-time workers a job is a few small
 * packets, and a bufferevent cost about one epoll_ctl per packet (it
 * enables EV_WRITE whenever output is queued and disables it once
 * written), a FIONREAD ioctl per read and its callbacks on every
 * evbuffer_add.  Here a read is one read(2) into a fixed block parsed in
 * place (input left over waits in an evbuffer), a reply is encoded
 * straight into the connection's output block (struct obuf, obuf.c: no
 * allocation or callback per packet, where an evbuffer allocated and
 * freed a chain as its output emptied), and the outputs of a loop pass
 * are written together after its input (conn_flush), one write(2) each;
 * a write event is armed only when the socket does not take everything.
 * tests/bench/RESULTS.md has the measurements.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "compat.h"
#include "log.h"
#include "lograte.h"
#include "net.h"
#include "tls.h"
#include "xmalloc.h"
#include "gm-server.h"

/* gearmand's text limit: 8191 characters before the newline. */
#define TEXT_MAX	8192
/* The most a TLS record holds. */
#define TLS_RECORD	16384

static ssize_t	conn_io_read(struct conn *, void *, size_t);
static ssize_t	conn_io_write(struct conn *, size_t);
static void	conn_handshake(struct conn *);
static void	conn_readcb(evutil_socket_t, short, void *);
static void	conn_writecb(evutil_socket_t, short, void *);
static int	conn_write(struct conn *);
static void	conn_process(struct conn *);
static size_t	conn_items(struct conn *, const uint8_t *, size_t);
static int	conn_item(struct conn *, const uint8_t *, size_t, size_t *);
static void	conn_emit(struct conn *, struct obuf *, uint32_t,
		    const struct gm_arg *, int, const void *, size_t);
static void	conn_reap(evutil_socket_t, short, void *);
static void	conn_flush(evutil_socket_t, short, void *);
static void	conn_first(struct conn *);
static void	conn_drained(struct conn *);
static void	conn_vclose(struct conn *, int, const char *, va_list)
		    __attribute__((__format__(printf, 3, 0)));
static int	conn_early(struct conn *, const struct gm_header *,
		    const uint8_t *, size_t, size_t *);

static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static TAILQ_HEAD(, conn) dead = TAILQ_HEAD_INITIALIZER(dead);
static TAILQ_HEAD(, conn) dirty = TAILQ_HEAD_INITIALIZER(dirty);
static struct event	*reap_ev;
static struct event	*flush_ev;	/* writes the dirty outputs */
static int		 flush_pending;
static int		 nconns;
static uint8_t		 rbuf[CONN_BLOCK];	/* what one read brings */

/* Set up conn.c's events. */
void
conn_init(void)
{
	reap_ev = event_new(base, -1, 0, conn_reap, NULL);
	flush_ev = event_new(base, -1, 0, conn_flush, NULL);
	budget_init();
}

/*
 * Note that c has new output.  The outputs of a loop pass are written
 * together once the pass's input is handled, by conn_flush; only output
 * the socket does not take waits for a write event.
 */
void
conn_dirty(struct conn *c)
{
	if (c->c_flags & (CONN_DIRTY | CONN_DEAD))
		return;
	c->c_flags |= CONN_DIRTY;
	TAILQ_INSERT_TAIL(&dirty, c, c_dentry);
	if (!flush_pending) {
		flush_pending = 1;
		event_active(flush_ev, EV_TIMEOUT, 0);
	}
}

/*
 * Read from the peer into buf: the count, 0 at the end, or -1 with errno
 * (EAGAIN: nothing yet).  A TLS record may leave decrypted bytes behind
 * that no read event announces: the read callback is run again for them.
 */
static ssize_t
conn_io_read(struct conn *c, void *buf, size_t len)
{
	ssize_t	 n;
	int	 want = 0;

	if (c->c_ssl == NULL)
		return read(c->c_fd, buf, len);
	n = tls_io(c->c_ssl, buf, len, 0, &want);
	if (n == -1 && errno == EAGAIN && want == TLS_IO_WRITE)
		event_add(c->c_wev, NULL);
	else if (n > 0 && tlsconn_pending(c->c_ssl))
		event_active(c->c_rev, EV_READ, 1);
	return n;
}

/*
 * Write at most max bytes of c's output to the peer: the count, or -1 with
 * errno (EAGAIN: no room).  Through TLS, small packets are gathered into
 * records of up to 16 KiB: a record per packet would cost a MAC, a cipher
 * call and 22 bytes each.
 */
static ssize_t
conn_io_write(struct conn *c, size_t max)
{
	size_t	 len;
	ssize_t	 n, done = 0;
	int	 want;

	if (c->c_ssl == NULL)
		return obuf_write(&c->c_out, c->c_fd, max);
	while ((size_t)done < max && (len = obuf_len(&c->c_out)) > 0) {
		if (len > TLS_RECORD)
			len = TLS_RECORD;
		if (len > max - (size_t)done)
			len = max - (size_t)done;
		if ((n = tls_io(c->c_ssl, obuf_data(&c->c_out), len, 1,
		    &want)) == -1)
			return done > 0 && errno == EAGAIN ? done : -1;
		obuf_drain(&c->c_out, (size_t)n);
		done += n;
	}
	return done;
}

/*
 * Go on with a TLS handshake as far as the peer lets us; a failure closes
 * the connection and logs the peer and the reason.  Never blocks.
 */
static void
conn_handshake(struct conn *c)
{
	const char	*why = "";

	switch (tlsconn_handshake(c->c_ssl, &why)) {
	case TLS_DONE:
		c->c_flags &= ~CONN_HANDSHAKE;
		c->c_partial = 0;
		event_del(c->c_wev);
		if (tls_peer_verified(c->c_ssl))
			c->c_flags |= CONN_TRUSTED;
		log_debug("%s: fd %d: TLS from %s%s", __func__, c->c_fd,
		    c->c_peer, tls_peer_verified(c->c_ssl) ?
		    ", verified client certificate" : "");
		/* The handshake may have brought the first request. */
		event_active(c->c_rev, EV_READ, 1);
		break;
	case TLS_IO_READ:
		event_del(c->c_wev);
		break;
	case TLS_IO_WRITE:
		event_add(c->c_wev, NULL);
		break;
	default:
		conn_fail(c, "TLS handshake failed: %s", why);
		break;
	}
}

/*
 * Write c's output as far as the socket takes it: 1 all written, 0 some
 * left (the write event waits for room), -1 the connection closed.
 */
static int
conn_write(struct conn *c)
{
	ssize_t	 n;

	n = conn_io_write(c, 262144);
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR) {
		conn_close(c, "%s", strerror(errno));
		return -1;
	}
	if (obuf_len(&c->c_out) > 0) {
		event_add(c->c_wev, NULL);
		return 0;
	}
	/* Most writes take everything: asking costs less than event_del. */
	if (event_pending(c->c_wev, EV_WRITE, NULL))
		event_del(c->c_wev);
	return 1;
}

/* Write every dirty output as far as the socket takes it. */
static void
conn_flush(evutil_socket_t fd __unused, short what __unused,
    void *arg __unused)
{
	struct conn	*c;

	flush_pending = 0;
	while ((c = TAILQ_FIRST(&dirty)) != NULL) {
		TAILQ_REMOVE(&dirty, c, c_dentry);
		c->c_flags &= ~CONN_DIRTY;
		if (obuf_len(&c->c_out) == 0)
			continue;
		if (conn_write(c) == 1)
			conn_drained(c);
	}
}

/*
 * Take a new connection from listen.c; flags say how it came (CONN_TLS,
 * CONN_UNIX) and whether it is trusted (CONN_TRUSTED).
 */
void
conn_accept(int fd, const char *host, int flags)
{
	struct conn	*c;

	if ((flags & CONN_UNIX) == 0)
		net_nodelay(fd);
	if (conf.keepalive && (flags & CONN_UNIX) == 0)
		net_keepalive(fd, conf.keepalive_idle,
		    conf.keepalive_interval, conf.keepalive_count);
	c = xcalloc(1, sizeof(*c));
	c->c_rev = event_new(base, fd, EV_READ | EV_PERSIST, conn_readcb, c);
	c->c_wev = event_new(base, fd, EV_WRITE | EV_PERSIST, conn_writecb, c);
	c->c_in = evbuffer_new();
	if (c->c_rev == NULL || c->c_wev == NULL || c->c_in == NULL)
		fatalx("%s: out of memory", __func__);
	c->c_fd = fd;
	strlcpy(c->c_peer, host, sizeof(c->c_peer));
	c->c_flags = flags & (CONN_TRUSTED | CONN_TLS | CONN_UNIX);
	if ((flags & CONN_TLS) && (c->c_ssl = tlsconn_new(fd)) == NULL)
		fatalx("%s: out of memory", __func__);
	if (c->c_ssl != NULL) {
		/* A handshake is a request: --request-timeout bounds it. */
		c->c_flags |= CONN_HANDSHAKE;
		c->c_partial = timer_mono_ms();
	}
	if (conf.exceptions)
		c->c_flags |= CONN_EXCEPTIONS;
	LIST_INIT(&c->c_attached);
	TAILQ_INIT(&c->c_regs);
	TAILQ_INIT(&c->c_jobs);
	TAILQ_INIT(&c->c_acks);
	event_add(c->c_rev, NULL);
	TAILQ_INSERT_TAIL(&conns, c, c_entry);
	nconns++;
	log_debug("%s: fd %d: connection from %s", __func__, fd, host);
}

/* The buffer replies go to: held back while journal acks are pending. */
static struct obuf *
conn_out(struct conn *c)
{
	if (!TAILQ_EMPTY(&c->c_acks))
		return &c->c_held;
	conn_dirty(c);
	return &c->c_out;
}

/* Bytes waiting to go to the peer, held ones included. */
size_t
conn_pending(struct conn *c)
{
	return obuf_len(&c->c_out) + obuf_len(&c->c_held);
}

/*
 * Bound the output: above the soft limit stop reading this peer and stop
 * handing it work; past max_output (once it was already behind) close it.
 */
void
conn_check(struct conn *c, size_t before)
{
	size_t	 n = conn_pending(c);

	if (n <= OUTPUT_SOFT)
		return;
	c->c_flags |= CONN_SLOW;
	if (before > OUTPUT_SOFT && n > conf.max_output)
		conn_fail(c, "output over %zu bytes: peer does not read",
		    conf.max_output);
}

/*
 * Append one packet to buf, encoded in place: the header and the leading
 * args, then the last one (data).  The room asked for first is the least
 * the packet takes, so a reply does not grow a small block it fits in;
 * when the leading args do not fit in the room there is, it asks for more.
 */
static void
conn_emit(struct conn *c, struct obuf *buf, uint32_t type,
    const struct gm_arg *args, int nargs, const void *data, size_t len)
{
	uint8_t		*p;
	size_t		 n, room;
	int		 rv;

	p = obuf_room(buf, GM_HEADER_SIZE + len, &room);
	rv = proto_encode_prefix(p, room - len, GM_RES, type, args, nargs,
	    len, &n);
	if (rv == PROTO_NEED_MORE) {
		p = obuf_room(buf, n + len, NULL);
		rv = proto_encode_prefix(p, n, GM_RES, type, args, nargs, len,
		    &n);
	}
	if (rv != PROTO_OK) {
		log_rate(NULL, "fd %d: cannot encode %s: %s", c->c_fd,
		    proto_type_name(type), proto_strerror(rv));
		return;
	}
	if (len > 0)
		memcpy(p + n, data, len);
	obuf_added(buf, n + len);
}

/*
 * Send a packet: args are all the arguments but the last, which is data
 * (NULL, 0 for types without arguments).
 */
void
conn_send(struct conn *c, uint32_t type, const struct gm_arg *args, int nargs,
    const void *data, size_t len)
{
	size_t	 before;

	if (c->c_flags & CONN_DEAD)
		return;
	before = conn_pending(c);
	conn_emit(c, conn_out(c), type, args, nargs, data, len);
	conn_check(c, before);
}

/* Send a packet whose whole body the caller has (forwarding). */
void
conn_send_raw(struct conn *c, uint32_t type, const void *body, size_t len)
{
	struct obuf	*out;
	uint8_t		*p;
	size_t		 before;

	if (c->c_flags & CONN_DEAD)
		return;
	before = conn_pending(c);
	out = conn_out(c);
	p = obuf_room(out, GM_HEADER_SIZE + len, NULL);
	proto_encode_header(p, GM_RES, type, len);
	if (len > 0)
		memcpy(p + GM_HEADER_SIZE, body, len);
	obuf_added(out, GM_HEADER_SIZE + len);
	conn_check(c, before);
}

/* Send an ERROR packet. */
void
conn_error(struct conn *c, const char *code, const char *text)
{
	struct gm_arg	 a = gm_str(code);

	conn_send(c, GM_ERROR, &a, 1, text, strlen(text));
}

/* Append admin text. */
void
conn_printf(struct conn *c, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 before;

	if (c->c_flags & CONN_DEAD)
		return;
	before = conn_pending(c);
	va_start(ap, fmt);
	obuf_vprintf(conn_out(c), fmt, ap);
	va_end(ap);
	conn_check(c, before);
}

/*
 * Handle the item (a packet or an admin line) at the start of b, avail
 * bytes of contiguous input.  1: handled, *used bytes consumed; 0: it is
 * not complete in b; -1: the connection is closing.
 */
static int
conn_item(struct conn *c, const uint8_t *b, size_t avail, size_t *used)
{
	struct gm_header	 h;
	struct gm_packet	 pkt;
	const uint8_t		*nl;
	char			 line[TEXT_MAX + 1];
	size_t			 n;
	int			 rv;

	if (b[0] != '\0') {
		n = avail < TEXT_MAX + 1 ? avail : TEXT_MAX + 1;
		if ((nl = memchr(b, '\n', n)) == NULL) {
			if (avail <= TEXT_MAX)
				return 0;
			conn_fail(c, "admin line longer than %d bytes",
			    TEXT_MAX - 1);
			return -1;
		}
		n = (size_t)(nl - b);
		if (n >= TEXT_MAX) {
			conn_fail(c, "admin line longer than %d bytes",
			    TEXT_MAX - 1);
			return -1;
		}
		memcpy(line, b, n);
		line[n] = '\0';
		*used = n + 1;
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		c->c_partial = 0;
		/* A browser or curl on the Gearman port: answer, then close. */
		if (http_request_line(line)) {
			http_misdirected(c, line);
			conn_finish(c);
			return -1;
		}
		admin_line(c, line, n);
		return 1;
	}
	rv = proto_decode_header(b, avail, conf.max_packet, &h);
	switch (rv) {
	case PROTO_OK:
		break;
	case PROTO_NEED_MORE:
		return 0;
	case PROTO_BAD_MAGIC:
		conn_fail(c, "bad magic");
		return -1;
	case PROTO_UNKNOWN_TYPE:
		conn_fail(c, "unknown packet type %u", h.type);
		return -1;
	case PROTO_TOO_LARGE:
		log_rate(&conf.max_packet, "fd %d (%s): closing connection: "
		    "%s packet of %u bytes is over the %zu byte limit", c->c_fd, c->c_peer,
		    proto_type_name(h.type), h.size, conf.max_packet);
		conn_error(c, "ARGUMENT_TOO_LARGE", "Packet too large");
		conn_finish(c);
		return -1;
	default:
		conn_fail(c, "%s", proto_strerror(rv));
		return -1;
	}
	if (avail - GM_HEADER_SIZE < h.size) {
		if (c->c_flags & CONN_CHECKED)
			return 0;
		return conn_early(c, &h, b, avail, used);
	}
	c->c_flags &= ~CONN_CHECKED;
	rv = proto_split(&h, b + GM_HEADER_SIZE, h.size, &pkt);
	if (rv != PROTO_OK) {
		conn_fail(c, "%s: %s", proto_type_name(h.type),
		    proto_strerror(rv));
		return -1;
	}
	c->c_partial = 0;
	dispatch_packet(c, &pkt);
	*used = GM_HEADER_SIZE + (size_t)h.size;
	return 1;
}

/*
 * A binary packet whose first avail bytes (header included) are at b, not
 * all of it: check its terminated arguments as soon as they are there, so
 * that one that does not end within its limit closes the connection now
 * rather than after --max-packet bytes, and answer it early when it can be
 * (dispatch_early), discarding the rest of its body as it comes.  Returns
 * as conn_item.
 */
static int
conn_early(struct conn *c, const struct gm_header *h, const uint8_t *b,
    size_t avail, size_t *used)
{
	struct gm_packet	 pkt;
	int			 rv;

	rv = proto_split(h, b + GM_HEADER_SIZE, avail - GM_HEADER_SIZE, &pkt);
	if (rv == PROTO_NEED_MORE)
		return 0;
	if (rv != PROTO_OK) {
		counters.args_refused++;
		conn_fail(c, "%s: %s", proto_type_name(h->type),
		    proto_strerror(rv));
		return -1;
	}
	c->c_flags |= CONN_CHECKED;
	if (!dispatch_early(c, &pkt))
		return 0;
	c->c_flags &= ~CONN_CHECKED;
	c->c_skip = GM_HEADER_SIZE + (size_t)h->size - avail;
	*used = avail;
	return 1;
}

/* Discard input owed to c_skip from the len bytes at p; return how many. */
static size_t
conn_skip(struct conn *c, size_t len)
{
	size_t	 n = len < c->c_skip ? len : c->c_skip;

	c->c_skip -= n;
	return n;
}

/*
 * Read and handle every complete item in the input buffer: a block at a
 * time, so small packets cost no libevent call each; a packet larger than
 * a block is made contiguous on its own.
 */
static void
conn_process(struct conn *c)
{
	struct evbuffer		*in = c->c_in;
	struct gm_header	 h;
	uint8_t			*p;
	size_t			 len, want, off, used = 0;
	int			 rv;

	while ((c->c_flags & (CONN_DEAD | CONN_SLOW | CONN_CLOSING)) == 0) {
		if ((len = evbuffer_get_length(in)) == 0)
			break;
		if (c->c_skip > 0) {
			evbuffer_drain(in, conn_skip(c, len));
			continue;
		}
		want = len < CONN_BLOCK ? len : CONN_BLOCK;
		if ((p = evbuffer_pullup(in, (ssize_t)want)) == NULL)
			fatalx("evbuffer_pullup");
		off = 0;
		rv = 0;
		while (off < want && (c->c_flags &
		    (CONN_DEAD | CONN_SLOW | CONN_CLOSING)) == 0) {
			if ((rv = conn_item(c, p + off, want - off, &used)) <= 0)
				break;
			off += used;
		}
		if (off > 0) {
			evbuffer_drain(in, off);
			continue;
		}
		if (rv < 0 || want == len || p[0] != '\0')
			break;
		/* A binary packet longer than a block. */
		if (proto_decode_header(p, want, conf.max_packet, &h) !=
		    PROTO_OK || len - GM_HEADER_SIZE < h.size)
			break;
		want = GM_HEADER_SIZE + (size_t)h.size;
		if ((p = evbuffer_pullup(in, (ssize_t)want)) == NULL)
			fatalx("evbuffer_pullup");
		if (conn_item(c, p, want, &used) <= 0)
			break;
		evbuffer_drain(in, used);
	}
	if ((c->c_flags & (CONN_DEAD | CONN_SLOW)) == CONN_SLOW)
		event_del(c->c_rev);
	conn_account(c);
}

/*
 * Handle the complete items at the start of len bytes of input in place;
 * return how many bytes they took.
 */
static size_t
conn_items(struct conn *c, const uint8_t *p, size_t len)
{
	size_t	 off = 0, used = 0;

	while (off < len && (c->c_flags &
	    (CONN_DEAD | CONN_SLOW | CONN_CLOSING)) == 0) {
		if (conn_item(c, p + off, len - off, &used) <= 0)
			break;
		off += used;
	}
	return off;
}

/*
 * Input is ready: one read(2) into a fixed buffer (no FIONREAD).  With
 * nothing left over from before, the items are handled where they were
 * read and only a partial one is kept.
 */
static void
conn_readcb(evutil_socket_t fd __unused, short what __unused, void *arg)
{
	struct conn	*c = arg;
	ssize_t		 n;
	size_t		 off = 0;

	if (c->c_flags & (CONN_DEAD | CONN_SLOW | CONN_CLOSING)) {
		event_del(c->c_rev);
		return;
	}
	if (c->c_flags & CONN_HANDSHAKE) {
		conn_handshake(c);
		return;
	}
	if (!conn_budget(c))
		return;
	if ((n = conn_io_read(c, rbuf, sizeof(rbuf))) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_close(c, "%s", strerror(errno));
		return;
	}
	if (n == 0) {
		event_del(c->c_rev);
		c->c_flags |= CONN_EOF;
		/* Admin replies still go out after a half-close. */
		conn_process(c);
		if ((c->c_flags & (CONN_DEAD | CONN_SLOW)) == 0)
			conn_finish(c);
		return;
	}
	if (c->c_skip > 0 && evbuffer_get_length(c->c_in) == 0)
		off = conn_skip(c, (size_t)n);
	if (evbuffer_get_length(c->c_in) == 0 && c->c_skip == 0)
		off += conn_items(c, rbuf + off, (size_t)n - off);
	if (c->c_flags & CONN_DEAD)
		return;
	if (off < (size_t)n)
		evbuffer_add(c->c_in, rbuf + off, (size_t)n - off);
	conn_process(c);
	conn_first(c);
}

/*
 * The replies to what c sent go out before the rest of the pass's output,
 * as gearmand does.  A worker's WORK_COMPLETE and next GRAB_JOB, with no
 * job queued, make a WORK_COMPLETE for the client and a NO_JOB for the
 * worker: written in that order, the client (on a shared CPU) often runs
 * and submits its next job before the worker has answered NO_JOB with
 * PRE_SLEEP, so that job finds no sleeper to wake and waits a further
 * round trip for the PRE_SLEEP (the slow mode of a bimodal latency,
 * tests/bench/RESULTS.md); NO_JOB first lets the worker go to sleep first.
 */
static void
conn_first(struct conn *c)
{
	if ((c->c_flags & (CONN_DIRTY | CONN_DEAD)) == CONN_DIRTY &&
	    TAILQ_FIRST(&dirty) != c) {
		TAILQ_REMOVE(&dirty, c, c_dentry);
		TAILQ_INSERT_HEAD(&dirty, c, c_dentry);
	}
}

/* The output drained: resume reading, or finish a close. */
static void
conn_drained(struct conn *c)
{
	if (c->c_flags & CONN_DEAD)
		return;
	if (c->c_flags & CONN_CLOSING) {
		conn_finish(c);
		return;
	}
	if ((c->c_flags & CONN_SLOW) && conn_pending(c) <= OUTPUT_SOFT) {
		c->c_flags &= ~CONN_SLOW;
		if ((c->c_flags & CONN_EOF) == 0)
			event_add(c->c_rev, NULL);
		conn_process(c);
		if ((c->c_flags & (CONN_EOF | CONN_DEAD)) == CONN_EOF)
			conn_finish(c);
	}
}

/* The socket has room for the output left over. */
static void
conn_writecb(evutil_socket_t fd __unused, short what __unused, void *arg)
{
	struct conn	*c = arg;

	if (c->c_flags & CONN_DEAD) {
		event_del(c->c_wev);
		return;
	}
	if (c->c_flags & CONN_HANDSHAKE) {
		conn_handshake(c);
		return;
	}
	/* A TLS read may have waited for room (a key update). */
	if (c->c_ssl != NULL)
		event_active(c->c_rev, EV_READ, 1);
	if (conn_write(c) == 1)
		conn_drained(c);
}

/* Close once everything owed to the peer is written. */
void
conn_finish(struct conn *c)
{
	c->c_flags |= CONN_CLOSING;
	event_del(c->c_rev);
	if (TAILQ_EMPTY(&c->c_acks) && obuf_len(&c->c_out) == 0)
		conn_close(c, "closed");
}

/* Close a connection: undo its worker and client state, free it later. */
static void
conn_vclose(struct conn *c, int warn, const char *fmt, va_list ap)
{
	char		 why[256];

	if (c->c_flags & CONN_DEAD)
		return;
	vsnprintf(why, sizeof(why), fmt, ap);
	if (warn)
		log_rate(fmt, "fd %d (%s): closing connection: %s", c->c_fd,
		    c->c_peer, why);
	else
		log_debug("%s: fd %d: %s", __func__, c->c_fd, why);
	if (c->c_flags & CONN_DIRTY) {
		TAILQ_REMOVE(&dirty, c, c_dentry);
		c->c_flags &= ~CONN_DIRTY;
	}
	c->c_flags |= CONN_DEAD;
	event_del(c->c_rev);
	event_del(c->c_wev);
	budget_forget(c);
	conn_account(c);
	worker_gone(c);
	queue_client_gone(c);
	ack_orphan(c);
	TAILQ_REMOVE(&conns, c, c_entry);
	nconns--;
	TAILQ_INSERT_TAIL(&dead, c, c_entry);
	event_active(reap_ev, EV_TIMEOUT, 0);
}

/* Close a connection (normal end). */
void
conn_close(struct conn *c, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	conn_vclose(c, 0, fmt, ap);
	va_end(ap);
}

/* Close a connection because of what the peer did, and log why. */
void
conn_fail(struct conn *c, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	conn_vclose(c, 1, fmt, ap);
	va_end(ap);
}

/* Free dead connections, outside their callbacks. */
static void
conn_reap(evutil_socket_t fd __unused, short what __unused, void *arg __unused)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&dead)) != NULL) {
		TAILQ_REMOVE(&dead, c, c_entry);
		event_free(c->c_rev);
		event_free(c->c_wev);
		evbuffer_free(c->c_in);
		obuf_free(&c->c_out);
		obuf_free(&c->c_held);
		if (c->c_ssl != NULL)
			tlsconn_free(c->c_ssl);
		close(c->c_fd);
		free(c->c_client_id);
		free(c->c_target);
		free(c);
	}
}

/* Set the SET_CLIENT_ID label (at most 127 bytes, as gearmand). */
void
conn_set_client_id(struct conn *c, const char *id, size_t len)
{
	if (len > 127)
		len = 127;
	free(c->c_client_id);
	c->c_client_id = xmalloc(len + 1);
	memcpy(c->c_client_id, id, len);
	c->c_client_id[len] = '\0';
	log_debug("%s: fd %d (%s): %s", __func__, c->c_fd, c->c_peer,
	    c->c_client_id);
}

/* The client id for admin `workers`. */
const char *
conn_client_id(struct conn *c)
{
	return c->c_client_id != NULL && c->c_client_id[0] != '\0' ?
	    c->c_client_id : "-";
}

/* Call fn for every live connection; fn may close the one it is given. */
void
conn_foreach(void (*fn)(struct conn *, void *), void *arg)
{
	struct conn	*c, *next;

	TAILQ_FOREACH_SAFE(c, &conns, c_entry, next)
		fn(c, arg);
}

/* Close and free every connection (shutdown). */
void
conn_free_all(void)
{
	struct conn	*c;

	/* Best effort: the last replies (shutdown's OK) still go out. */
	TAILQ_FOREACH(c, &conns, c_entry)
		if (obuf_len(&c->c_out) > 0 &&
		    (c->c_flags & CONN_HANDSHAKE) == 0)
			(void)conn_io_write(c, obuf_len(&c->c_out));
	while ((c = TAILQ_FIRST(&conns)) != NULL)
		conn_close(c, "server stopping");
	conn_reap(-1, 0, NULL);
}

/* Free what conn.c keeps after the connections are gone (last). */
void
conn_cleanup(void)
{
	ack_cleanup();
	if (reap_ev != NULL)
		event_free(reap_ev);
	reap_ev = NULL;
	if (flush_ev != NULL)
		event_free(flush_ev);
	flush_ev = NULL;
	budget_cleanup();
}
