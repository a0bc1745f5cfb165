/* Public domain. See README.md for the licence of this project. */
/*
 * gm-work's connections to its servers: the list made from -h, connecting
 * without blocking (each address with a deadline, then TLS with one),
 * reconnecting after a growing delay with jitter,
 * registering the functions, sending packets and reading the server's,
 * probing a silent server with ECHO_REQ (--probe), and asking for jobs in
 * turn while the worker has free slots.  What a job does once it arrives,
 * and when to stop, is gm-work.c's.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/ssl.h>

#include "client.h"
#include "compat.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "tls.h"
#include "tool.h"
#include "xmalloc.h"
#include "gm-work.h"

/* Reconnect delays: the first, and the longest (ms). */
#define BACKOFF_MIN	100
#define BACKOFF_MAX	5000
/* How long a connect may take, per address, and a TLS handshake (ms). */
#define CONNECT_TIMEOUT	3000
/* Extra time the server's CAN_DO_TIMEOUT allows over -t (ms). */
#define SERVER_GRACE	2000
/* Bytes read from a server per callback. */
#define READ_MAX	(1024 * 1024)

enum srv_state {
	S_DOWN,		/* not connected; s_retry is pending */
	S_CONNECTING,	/* s_dial's connect under way, s_conn waits */
	S_READY,	/* connected, may ask (s_grabs asks are out) */
	S_SLEEPING	/* PRE_SLEEP sent, waiting for NOOP */
};

struct server {
	TAILQ_ENTRY(server)	 s_entry;
	struct gm_server	 s_addr;
	char			 s_name[300];	/* host:port, for messages */
	struct net_dial		*s_dial;	/* S_CONNECTING: its addresses */
	struct event		*s_conn;	/* S_CONNECTING: writable or
						   deadline */
	struct event		*s_hs;		/* TLS handshake deadline */
	struct bufferevent	*s_bev;
	unsigned int		 s_gen;		/* bumped per connection */
	enum srv_state		 s_state;
	int			 s_grabs;	/* GRAB_JOB_UNIQ without reply */
	int			 s_nojob;	/* NO_JOB since the last job: ask
						   no more, sleep once all are
						   answered */
	struct event		*s_retry;
	int			 s_backoff;	/* next retry delay (ms) */
	int			 s_outage;	/* the outage was logged */
	int			 s_ever;	/* was connected once */
	struct event		*s_probe;	/* --probe timer */
	int64_t			 s_heard;	/* last bytes from it, ms */
	int64_t			 s_echo;	/* ECHO_REQ sent at, ms; -1 */
};

static TAILQ_HEAD(, server) servers = TAILQ_HEAD_INITIALIZER(servers);
static struct server	*rr_next;	/* where servers_kick() starts */
static const char	*client_id;
static SSL_CTX		*tls_ctx;	/* -S: TLS to TCP servers */
static long long	 grabs;		/* GRAB_JOB_UNIQ without reply */

static void	server_connect(struct server *);
static void	server_dial(struct server *);
static void	server_dialed(evutil_socket_t, short, void *);
static void	server_dial_end(struct server *);
static void	server_dial_abort(struct server *);
static void	server_up(struct server *, int);
static void	server_hs_timeout(evutil_socket_t, short, void *);
static void	server_down(struct server *, const char *);
static void	server_read(struct bufferevent *, void *);
static void	server_event(struct bufferevent *, short, void *);
static void	server_retry(evutil_socket_t, short, void *);
static void	server_flushed(struct bufferevent *, void *);
static void	server_probe(evutil_socket_t, short, void *);
static void	server_probe_in(struct server *, int64_t);

/* The name of a server, host:port, for messages. */
const char *
server_name(struct server *s)
{
	return s->s_name;
}

/* Make the list of servers from the options (tool_servers). */
void
servers_add(struct tool_opts *tool)
{
	struct gm_server	*list = NULL;
	struct server		*s;
	size_t			 n = 0, i;

	tool_servers(tool, &list, &n);
	for (i = 0; i < n; i++) {
		s = xcalloc(1, sizeof(*s));
		s->s_addr = list[i];
		net_server_name(&list[i], s->s_name, sizeof(s->s_name));
		s->s_state = S_DOWN;
		s->s_backoff = BACKOFF_MIN;
		if ((s->s_retry = evtimer_new(base, server_retry, s)) == NULL ||
		    (s->s_probe = evtimer_new(base, server_probe, s)) == NULL ||
		    (s->s_hs = evtimer_new(base, server_hs_timeout, s)) == NULL)
			fatalx("evtimer_new");
		TAILQ_INSERT_TAIL(&servers, s, s_entry);
	}
	free(list);
}

/*
 * Queue one packet for a server, on the connection numbered gen only (a
 * result for a connection that has gone is dropped).  args holds nargs
 * arguments; with data, data is the last one and is taken over.
 */
int
server_send(struct server *s, unsigned int gen, uint32_t type,
    const struct gm_arg *args, int nargs, struct evbuffer *data)
{
	static uint8_t	 buf[GM_HEADER_SIZE + 2 * (GM_ARG_MAX + 1)];
	struct evbuffer	*out;
	size_t		 dlen, len;
	int		 npre, rv;

	if (data != NULL) {
		dlen = evbuffer_get_length(data);
		npre = nargs;
	} else {
		dlen = nargs > 0 ? args[nargs - 1].len : 0;
		npre = nargs > 0 ? nargs - 1 : 0;
	}
	if (s->s_bev == NULL || s->s_gen != gen) {
		if (data != NULL)
			evbuffer_drain(data, dlen);
		return -1;
	}
	rv = proto_encode_prefix(buf, sizeof(buf), GM_REQ, type, args, npre,
	    dlen, &len);
	if (rv != PROTO_OK) {
		warnx("cannot encode %s: %s", proto_type_name(type),
		    proto_strerror(rv));
		if (data != NULL)
			evbuffer_drain(data, dlen);
		return -1;
	}
	out = bufferevent_get_output(s->s_bev);
	evbuffer_add(out, buf, len);
	if (data != NULL)
		evbuffer_add_buffer(out, data);
	else if (dlen > 0)
		evbuffer_add(out, args[nargs - 1].ptr, dlen);
	return 0;
}

/* Is connection number gen of the server still up? */
int
server_alive(struct server *s, unsigned int gen)
{
	return s->s_bev != NULL && s->s_gen == gen;
}

/* Send a packet without arguments. */
static void
server_send0(struct server *s, uint32_t type)
{
	server_send(s, s->s_gen, type, NULL, 0, NULL);
}

/*
 * Start connecting a server, without blocking: its addresses are tried in
 * turn (server_dial), each for CONNECT_TIMEOUT at most, while the worker
 * goes on serving the others; once one answers, server_up registers.
 */
static void
server_connect(struct server *s)
{
	if ((s->s_dial = net_dial_new(s->s_addr.host, s->s_addr.port)) ==
	    NULL) {
		server_dial_end(s);
		return;
	}
	s->s_state = S_CONNECTING;
	server_dial(s);
}

/* Start connecting the next address of the server; none left: failed. */
static void
server_dial(struct server *s)
{
	struct timeval	 tv = { CONNECT_TIMEOUT / 1000,
			    (CONNECT_TIMEOUT % 1000) * 1000 };
	int		 fd;

	if ((fd = net_dial_next(s->s_dial)) == -1) {
		server_dial_end(s);
		return;
	}
	if ((s->s_conn = event_new(base, fd, EV_WRITE, server_dialed, s)) ==
	    NULL)
		fatalx("event_new");
	event_add(s->s_conn, &tv);
}

/* The connect under way finished, or its deadline passed. */
static void
server_dialed(evutil_socket_t fd, short ev, void *arg)
{
	struct server	*s = arg;

	event_free(s->s_conn);
	s->s_conn = NULL;
	if (net_dial_done(s->s_dial, fd, ev & EV_TIMEOUT ? ETIMEDOUT : 0) ==
	    -1) {
		server_dial(s);
		return;
	}
	net_dial_free(s->s_dial);
	s->s_dial = NULL;
	server_up(s, fd);
}

/*
 * Every address of the server failed (errno says why of the last): log it
 * and retry later.
 */
static void
server_dial_end(struct server *s)
{
	int	 error = errno;

	net_dial_free(s->s_dial);
	s->s_dial = NULL;
	errno = error;
	/* Once per outage; with -v, every attempt. */
	if (!s->s_outage) {
		warn("cannot connect to %s, will keep trying", s->s_name);
		s->s_outage = 1;
	} else if (conf.verbose)
		warn("cannot connect to %s", s->s_name);
	server_down(s, NULL);
}

/* Stop connecting the server, when leaving. */
static void
server_dial_abort(struct server *s)
{
	if (s->s_conn != NULL) {
		close(event_get_fd(s->s_conn));
		event_free(s->s_conn);
		s->s_conn = NULL;
	}
	net_dial_free(s->s_dial);
	s->s_dial = NULL;
	if (s->s_state == S_CONNECTING)
		s->s_state = S_DOWN;
}

/*
 * Connected to the server on fd: start TLS if configured (the packets
 * below go out once the handshake is done, which has CONNECT_TIMEOUT),
 * register our functions, and ask for jobs.
 */
static void
server_up(struct server *s, int fd)
{
	struct gm_arg	 a[2];
	struct timeval	 tv = { CONNECT_TIMEOUT / 1000,
			    (CONNECT_TIMEOUT % 1000) * 1000 };
	SSL		*ssl;
	char		 ms[32];
	size_t		 i;

	if (tls_ctx != NULL && !net_is_unix(s->s_addr.host)) {
		/* The packets below go out once the handshake is done. */
		if ((ssl = tls_client_new(tls_ctx, fd, s->s_addr.host)) == NULL)
			fatalx("TLS: out of memory");
		s->s_bev = bufferevent_openssl_socket_new(base, fd, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		if (s->s_bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(s->s_bev,
			    1);
		evtimer_add(s->s_hs, &tv);
	} else
		s->s_bev = bufferevent_socket_new(base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (s->s_bev == NULL)
		fatalx("bufferevent_socket_new");
	bufferevent_setcb(s->s_bev, server_read, server_flushed, server_event,
	    s);
	bufferevent_set_max_single_read(s->s_bev, READ_MAX);
	bufferevent_enable(s->s_bev, EV_READ | EV_WRITE);
	s->s_gen++;
	s->s_state = S_READY;
	s->s_grabs = 0;
	s->s_nojob = 0;
	s->s_backoff = BACKOFF_MIN;
	s->s_heard = client_now();
	s->s_echo = -1;
	server_probe_in(s, conf.probe * 1000);

	a[0] = gm_str(client_id);
	server_send(s, s->s_gen, GM_SET_CLIENT_ID, a, 1, NULL);
	snprintf(ms, sizeof(ms), "%lld", conf.timeout * 1000 + SERVER_GRACE);
	for (i = 0; i < conf.nfuncs; i++) {
		a[0] = gm_str(conf.funcs[i]);
		a[1] = gm_str(ms);
		if (conf.timeout > 0)
			server_send(s, s->s_gen, GM_CAN_DO_TIMEOUT, a, 2, NULL);
		else
			server_send(s, s->s_gen, GM_CAN_DO, a, 1, NULL);
	}
	if (s->s_outage)
		warnx("%s %s", s->s_ever ? "reconnected to" : "connected to",
		    s->s_name);
	else if (conf.verbose)
		warnx("connected to %s", s->s_name);
	s->s_outage = 0;
	s->s_ever = 1;
	servers_kick();
}

/*
 * The connection is gone (reason, or NULL when it never came up): forget
 * it and try again after a growing delay.  Running jobs from it go on, but
 * their results are dropped: the server has handed them out again.
 */
static void
server_down(struct server *s, const char *reason)
{
	struct timeval	 tv;
	int		 ms;

	evtimer_del(s->s_hs);
	if (s->s_bev != NULL) {
		bufferevent_free(s->s_bev);
		s->s_bev = NULL;
		s->s_gen++;
		if (!s->s_outage && !worker_stopping()) {
			warnx("lost connection to %s (%s), reconnecting",
			    s->s_name, reason);
			s->s_outage = 1;
		}
	}
	evtimer_del(s->s_probe);
	grabs -= s->s_grabs;
	s->s_grabs = 0;
	s->s_state = S_DOWN;
	if (worker_stopping()) {
		worker_check_done();
		return;
	}
	/* Up to a quarter of jitter, so workers do not come back in step. */
	ms = s->s_backoff + (int)arc4random_uniform(s->s_backoff / 4 + 1);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(s->s_retry, &tv);
	s->s_backoff = s->s_backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX :
	    s->s_backoff * 2;
	/* The slots its unanswered asks held go to the other servers. */
	servers_kick();
	worker_check_done();
}

/* Run the probe of server s in ms milliseconds (none with --probe 0). */
static void
server_probe_in(struct server *s, int64_t ms)
{
	struct timeval	 tv;

	if (conf.probe <= 0)
		return;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(s->s_probe, &tv);
}

/*
 * The liveness probe (--probe): a connection that has brought nothing for
 * conf.probe seconds, while nothing waits to go out on it, gets an
 * ECHO_REQ; if no byte comes back within conf.probe seconds more, the
 * server is down, as if it had closed the connection.  Servers answer
 * ECHO_REQ while we sleep after PRE_SLEEP and while our jobs run; data
 * stuck on its way out is the kernel's to time out (TCP_USER_TIMEOUT).
 */
static void
server_probe(evutil_socket_t fd, short ev, void *arg)
{
	struct server	*s = arg;
	struct gm_arg	 a = gm_str("probe");
	int64_t		 now = client_now(), p = conf.probe * 1000;
	char		 why[64];

	(void)fd;
	(void)ev;
	if (s->s_bev == NULL)
		return;
	if (s->s_echo >= 0) {
		if (now - s->s_echo < p)
			server_probe_in(s, p - (now - s->s_echo));
		else if (net_readable(bufferevent_getfd(s->s_bev)))
			/* The answer came while we were busy: read it. */
			server_probe_in(s, 10);
		else {
			snprintf(why, sizeof(why), "no answer to ECHO_REQ "
			    "within %lld s", conf.probe);
			server_down(s, why);
		}
		return;
	}
	if (now - s->s_heard < p) {
		server_probe_in(s, p - (now - s->s_heard));
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(s->s_bev)) > 0) {
		server_probe_in(s, p);
		return;
	}
	server_send(s, s->s_gen, GM_ECHO_REQ, &a, 1, NULL);
	s->s_echo = now;
	server_probe_in(s, p);
}

/* The reconnect delay has passed: try again. */
static void
server_retry(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	server_connect(arg);
}

/* The TLS handshake has not finished in time. */
static void
server_hs_timeout(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	server_down(arg, "TLS handshake timed out");
}

/* The TLS handshake is done, or EOF or an error on a connection. */
static void
server_event(struct bufferevent *bev, short what, void *arg)
{
	struct server	*s = arg;
	SSL		*ssl;
	char		 why[256];
	const char	*r = NULL;

	if (what & BEV_EVENT_CONNECTED)
		/* The TLS handshake is done. */
		evtimer_del(s->s_hs);
	else if (what & BEV_EVENT_EOF)
		server_down(s, "closed by server");
	else if (what & BEV_EVENT_ERROR) {
		if ((ssl = bufferevent_openssl_get_ssl(bev)) != NULL)
			r = tls_why(ssl, bufferevent_get_openssl_error(bev),
			    why, sizeof(why));
		server_down(s, r != NULL ? r :
		    strerror(EVUTIL_SOCKET_ERROR()));
	}
}

/* Output drained: when leaving, see whether everything has been sent. */
static void
server_flushed(struct bufferevent *bev, void *arg)
{
	(void)bev;
	(void)arg;
	worker_flushed();
}

/*
 * A job arrived: take its header fields, move the payload out of the input
 * buffer without copying, and start it.
 */
static int
server_assign(struct server *s, const struct gm_header *hdr)
{
	struct evbuffer		*in = bufferevent_get_input(s->s_bev);
	struct evbuffer		*payload;
	struct gm_packet	 pkt;
	struct task		*t;
	const uint8_t		*p;
	size_t			 pre, off;
	int			 rv, hasuniq;

	hasuniq = hdr->type != GM_JOB_ASSIGN;
	/* The terminated arguments are at most this long. */
	pre = (size_t)proto_type(hdr->type)->nargs * (GM_ARG_MAX + 1);
	if (pre > hdr->size)
		pre = hdr->size;
	if ((p = evbuffer_pullup(in, GM_HEADER_SIZE + pre)) == NULL)
		fatalx("evbuffer_pullup");
	rv = proto_split(hdr, p + GM_HEADER_SIZE, pre, &pkt);
	if (rv != PROTO_OK) {
		server_down(s, proto_strerror(rv));
		return -1;
	}
	if (pkt.arg[0].len >= GM_HANDLE_SIZE) {
		server_down(s, "job handle too long");
		return -1;
	}
	t = task_new(s, s->s_gen, &pkt, hasuniq);
	off = (size_t)(pkt.arg[pkt.nargs - 1].ptr - (p + GM_HEADER_SIZE));
	evbuffer_drain(in, GM_HEADER_SIZE + off);
	if ((payload = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	evbuffer_remove_buffer(in, payload, hdr->size - off);

	/*
	 * A job after a NO_JOB: the queue filled again, so ask on.  Were
	 * s_nojob kept, the last answer being this job would leave the
	 * server neither asked nor asleep, and never woken.
	 */
	s->s_grabs--;
	s->s_nojob = 0;
	grabs--;
	worker_run(t, payload);
	return 0;
}

/* Log an ERROR packet from a server. */
static void
server_error(struct server *s, const struct gm_packet *pkt)
{
	char	 code[128], text[512];

	log_escape(pkt->arg[0].ptr, pkt->arg[0].len, code, sizeof(code));
	log_escape(pkt->arg[1].ptr, pkt->arg[1].len, text, sizeof(text));
	warnx("%s: error %s: %s", s->s_name, code, text);
}

/* Read and handle every complete packet from a server. */
static void
server_read(struct bufferevent *bev, void *arg)
{
	struct server		*s = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct gm_header	 hdr;
	struct gm_packet	 pkt;
	uint8_t			 head[GM_HEADER_SIZE];
	const uint8_t		*p;
	size_t			 len;
	int			 rv;

	/* A sign of life: any probe out is answered. */
	s->s_heard = client_now();
	s->s_echo = -1;
	while (s->s_bev == bev && !worker_leaving()) {
		len = evbuffer_get_length(in);
		if (len < GM_HEADER_SIZE)
			return;
		evbuffer_copyout(in, head, sizeof(head));
		rv = proto_decode_header(head, sizeof(head),
		    GM_DEFAULT_MAX_PACKET, &hdr);
		if (rv == PROTO_OK && hdr.magic != GM_RES)
			rv = PROTO_BAD_MAGIC;
		if (rv != PROTO_OK) {
			server_down(s, proto_strerror(rv));
			return;
		}
		if (len - GM_HEADER_SIZE < hdr.size)
			return;
		switch (hdr.type) {
		case GM_JOB_ASSIGN:
		case GM_JOB_ASSIGN_UNIQ:
		case GM_JOB_ASSIGN_ALL:
			if (s->s_grabs == 0) {
				server_down(s, "job assigned without a grab");
				return;
			}
			if (server_assign(s, &hdr) == -1)
				return;
			servers_kick();
			continue;
		}
		if ((p = evbuffer_pullup(in, GM_HEADER_SIZE + hdr.size)) ==
		    NULL)
			fatalx("evbuffer_pullup");
		rv = proto_split(&hdr, p + GM_HEADER_SIZE, hdr.size, &pkt);
		if (rv != PROTO_OK) {
			server_down(s, proto_strerror(rv));
			return;
		}
		switch (hdr.type) {
		case GM_NO_JOB:
			if (s->s_grabs == 0)
				break;
			/*
			 * Once the asks still out are answered, sleep,
			 * unless one of them brings a job (server_assign).
			 */
			s->s_grabs--;
			grabs--;
			s->s_nojob = 1;
			if (s->s_grabs == 0) {
				server_send0(s, GM_PRE_SLEEP);
				s->s_state = S_SLEEPING;
				s->s_nojob = 0;
			}
			break;
		case GM_NOOP:
			/* A wake-up: one NOOP re-arms every free slot. */
			if (s->s_state == S_SLEEPING)
				s->s_state = S_READY;
			s->s_nojob = 0;
			break;
		case GM_ERROR:
			server_error(s, &pkt);
			break;
		case GM_ECHO_RES:
			/* The probe's answer: s_heard has it. */
			break;
		default:
			warnx("%s: unexpected %s", s->s_name,
			    proto_type_name(hdr.type));
			break;
		}
		evbuffer_drain(in, GM_HEADER_SIZE + hdr.size);
		servers_kick();
	}
}

/*
 * Ask ready servers for jobs, in turn, while there are free slots: one
 * GRAB_JOB_UNIQ per free slot, so that with -j N the next jobs are on
 * their way while the running ones finish (the answers come in order).
 */
void
servers_kick(void)
{
	struct server	*s, *start;
	int		 asked = 0;

	if (TAILQ_EMPTY(&servers))
		return;
	if (rr_next == NULL)
		rr_next = TAILQ_FIRST(&servers);
	s = start = rr_next;
	while (worker_free_slots() > 0) {
		if (s->s_state == S_READY && !s->s_nojob) {
			server_send0(s, GM_GRAB_JOB_UNIQ);
			s->s_grabs++;
			grabs++;
			asked = 1;
		}
		if ((s = TAILQ_NEXT(s, s_entry)) == NULL)
			s = TAILQ_FIRST(&servers);
		/* Round after round, while a round asked somewhere. */
		if (s == start) {
			if (!asked)
				break;
			asked = 0;
		}
	}
	rr_next = s;
}

/* Jobs asked for and not yet answered, on every server. */
long long
servers_grabs(void)
{
	return grabs;
}

/*
 * A job from connection gen of s has ended and servers_kick found nothing to ask:
 * with -t, a connection we do not ask again is put to sleep, because
 * gearmand keeps a CAN_DO_TIMEOUT timer running after the job completes
 * and only a grab or PRE_SLEEP stops it.
 */
void
server_idle(struct server *s, unsigned int gen)
{
	if (conf.timeout > 0 && s->s_gen == gen && s->s_state == S_READY &&
	    s->s_grabs == 0 && !worker_forced()) {
		server_send0(s, GM_PRE_SLEEP);
		s->s_state = S_SLEEPING;
	}
}

/* Connect every server as id (the client id), with TLS when ctx is set. */
void
servers_start(const char *id, SSL_CTX *ctx)
{
	struct server	*s;

	client_id = id;
	tls_ctx = ctx;
	TAILQ_FOREACH(s, &servers, s_entry)
		server_connect(s);
}

/*
 * When leaving: retry no more and read nothing more (a job assigned now
 * goes back to its queue when we disconnect).  Is output still queued?
 */
int
servers_quiesce(void)
{
	struct server	*s;
	int		 pending = 0;

	TAILQ_FOREACH(s, &servers, s_entry) {
		evtimer_del(s->s_retry);
		evtimer_del(s->s_probe);
		evtimer_del(s->s_hs);
		server_dial_abort(s);
		if (s->s_bev == NULL)
			continue;
		bufferevent_disable(s->s_bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_output(s->s_bev)) > 0)
			pending = 1;
	}
	return pending;
}

/* Close every connection and free the list. */
void
servers_free(void)
{
	struct server	*s;

	while ((s = TAILQ_FIRST(&servers)) != NULL) {
		TAILQ_REMOVE(&servers, s, s_entry);
		server_dial_abort(s);
		if (s->s_bev != NULL)
			bufferevent_free(s->s_bev);
		event_free(s->s_retry);
		event_free(s->s_hs);
		event_free(s->s_probe);
		free(s);
	}
}
