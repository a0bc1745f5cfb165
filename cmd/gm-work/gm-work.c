/* Public domain. See README.md for the licence of this project. */
/* gm-work: take jobs from Gearman servers and run a command for each. */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/wait.h>

#include <time.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/ssl.h>

#include "compat.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "tls.h"
#include "xmalloc.h"
#include "gm-work.h"

/* Reconnect delays: the first, and the longest (ms). */
#define BACKOFF_MIN	100
#define BACKOFF_MAX	5000
/* How long a connect may take (ms). */
#define CONNECT_TIMEOUT	3000
/* Longest wait for results to reach the servers at exit (s). */
#define FLUSH_TIMEOUT	10
/* After a forced stop, children get this long before SIGKILL (s). */
#define KILL_GRACE	2
/* Extra time the server's CAN_DO_TIMEOUT allows over -t (ms). */
#define SERVER_GRACE	2000
/* Bytes read from a server per callback. */
#define READ_MAX	(1024 * 1024)

enum srv_state {
	S_DOWN,		/* not connected; j_retry is pending */
	S_READY,	/* connected, may ask (s_grabs asks are out) */
	S_SLEEPING	/* PRE_SLEEP sent, waiting for NOOP */
};

struct server {
	TAILQ_ENTRY(server)	 s_entry;
	struct gm_server	 s_addr;
	char			 s_name[300];	/* host:port, for messages */
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
};

struct config		 conf;
struct event_base	*base;

/* What runs a job, by mode. */
static void (*const runners[])(struct task *, struct evbuffer *) = {
	[RUN_SPAWN] = spawn_run,
	[RUN_COPROC] = coproc_run,
	[RUN_STREAM] = stream_run
};

static TAILQ_HEAD(, server) servers = TAILQ_HEAD_INITIALIZER(servers);
static struct server	*rr_next;	/* where kick() starts */
static char		 client_id[256];
static const char	*pidfile;
static long long	 running;	/* jobs with a child or pending */
static long long	 grabs;		/* GRAB_JOB_UNIQ without reply */
static long long	 taken;		/* jobs received, for -c */
static int		 draining;	/* SIGTERM: no new jobs */
static int		 forced;	/* second signal: killing */
static int		 killed;	/* a forced stop killed jobs */
static int		 stopcode = -1;	/* worker_stop's status */
static int		 exiting = -1;	/* exit status, once leaving */
static struct event	*ev_kill, *ev_flush;

static __dead void	usage(int);
static void	server_connect(struct server *);
static void	server_down(struct server *, const char *);
static void	server_read(struct bufferevent *, void *);
static void	server_event(struct bufferevent *, short, void *);
static void	server_retry(evutil_socket_t, short, void *);
static void	server_flushed(struct bufferevent *, void *);
static void	kick(void);
static void	check_done(void);
static void	leave(int);

#define OPT_STREAM	0x2000	/* --stream: long only, -S is --ssl */

static const struct option longopts[] = {
	{ "coprocess",	no_argument,		NULL,	'C' },
	{ "count",	required_argument,	NULL,	'c' },
	{ "exceptions",	no_argument,		NULL,	'x' },
	{ "framing",	required_argument,	NULL,	'F' },
	{ "function",	required_argument,	NULL,	'f' },
	{ "help",	no_argument,		NULL,	'H' },
	{ "host",	required_argument,	NULL,	'h' },
	{ "id",		required_argument,	NULL,	'I' },
	{ "jobs",	required_argument,	NULL,	'j' },
	{ "lines",	no_argument,		NULL,	'n' },
	{ "pidfile",	required_argument,	NULL,	'i' },
	{ "null",	no_argument,		NULL,	'0' },
	{ "port",	required_argument,	NULL,	'p' },
	{ "stream",	no_argument,		NULL,	OPT_STREAM },
	{ "timeout",	required_argument,	NULL,	't' },
	{ "verbose",	no_argument,		NULL,	'v' },
	{ "version",	no_argument,		NULL,	'V' },
	TLS_TOOL_LONGOPTS,
	{ NULL,		0,			NULL,	0 }
};

static SSL_CTX		*tls_ctx;	/* -S: TLS to TCP servers */

/*
 * Print the synopsis: usage(0) is a request for help (to stdout, with the
 * options, exit 0), anything else a usage error (to stderr, exit 2).
 */
static __dead void
usage(int code)
{
	FILE	*f = code == 0 ? stdout : stderr;

	fprintf(f,
	    "usage: %s [-0CnNvVx] [-c count] [-h host[:port],...] [-i pidfile]\n"
	    "               [-j jobs] [-p port] [-t seconds] [--framing framing]\n"
	    "               [--id id] [--stream] -f function [-f function ...]\n"
	    "               [--] [command [arg ...]]\n"
	    "               " TLS_TOOL_USAGE "\n", getprogname());
	if (code == 0)
		fputs(
	    "  -f, --function NAME   register NAME (repeatable)\n"
	    "  -h, --host LIST       servers, host[:port],... (default:\n"
	    "                        $GEARMAN_SERVER, else localhost:4730)\n"
	    "  -p, --port PORT       port for hosts given without one\n"
	    "  -j, --jobs N          run up to N jobs at once (default 1)\n"
	    "  -c, --count N         exit after N jobs\n"
	    "  -t, --timeout SEC     kill a job's processes after SEC seconds\n"
	    "  -C, --coprocess       start the command once (-j times) and\n"
	    "                        give it each job as a record on stdin;\n"
	    "                        its next record on stdout is the result\n"
	    "  --stream              write each job as a record to stdout; the\n"
	    "                        job is done once the record is written\n"
	    "  --framing WORD        records: line (default), nul, or length\n"
	    "                        (\"LENGTH\\n\" and that many bytes)\n"
	    "  -0, --null            the same as --framing nul\n"
	    "  -n, --lines           send each output line as WORK_DATA\n"
	    "  -N                    the same, without the newline\n"
	    "  -x, --exceptions      report failures as WORK_EXCEPTION\n"
	    "  --id ID               client id (default host:pid)\n"
	    "  -i, --pidfile FILE    write the process id to FILE\n"
	    "  -S, --ssl             speak TLS, checking the server's "
	    "certificate\n"
	    "  --ssl-ca-file FILE    CAs for that check (default: the "
	    "system's)\n"
	    "  --ssl-certificate FILE, --ssl-key FILE\n"
	    "                        present this client certificate\n"
	    "  --ssl-no-verify       do not check the server's certificate\n"
	    "  -v, --verbose         log connections and every job\n"
	    "  -V, --version         print the version\n"
	    "  -H, --help            print this help\n"
	    "With no command (and no --stream), each job's payload is sent\n"
	    "back as its result.\n",
	    f);
	exit(code == 0 ? 0 : EXIT_USAGE);
}

/* Parse a number for option opt, or exit with a usage error. */
static long long
number(int opt, const char *s, long long min, long long max)
{
	const char	*errstr;
	long long	 n;

	n = strtonum(s, min, max, &errstr);
	if (errstr != NULL) {
		warnx("-%c %s: %s", opt, s, errstr);
		usage(EXIT_USAGE);
	}
	return n;
}

/* The name of a server, host:port, for messages. */
const char *
server_name(struct server *s)
{
	return s->s_name;
}

/*
 * Make the list of servers from -h (hosts), else GEARMAN_SERVER, else
 * localhost, with port for the hosts named without one.
 */
static void
add_servers(char **hosts, size_t nhosts, const char *port)
{
	struct gm_server	*list = NULL;
	struct server		*s;
	size_t			 n = 0, i;

	net_tool_servers(hosts, nhosts, port, EXIT_USAGE, &list, &n);
	for (i = 0; i < n; i++) {
		s = xcalloc(1, sizeof(*s));
		s->s_addr = list[i];
		net_server_name(&list[i], s->s_name, sizeof(s->s_name));
		s->s_state = S_DOWN;
		s->s_backoff = BACKOFF_MIN;
		if ((s->s_retry = evtimer_new(base, server_retry, s)) == NULL)
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

/* Connect a server and register our functions; on failure, retry later. */
static void
server_connect(struct server *s)
{
	struct gm_arg	 a[2];
	SSL		*ssl;
	char		 ms[32];
	size_t		 i;
	int		 fd;

	fd = net_connect(s->s_addr.host, s->s_addr.port, CONNECT_TIMEOUT);
	if (fd == -1) {
		/* Once per outage; with -v, every attempt. */
		if (!s->s_outage) {
			warn("cannot connect to %s, will keep trying",
			    s->s_name);
			s->s_outage = 1;
		} else if (conf.verbose)
			warn("cannot connect to %s", s->s_name);
		server_down(s, NULL);
		return;
	}
	if (tls_ctx != NULL && !net_is_unix(s->s_addr.host)) {
		/* The packets below go out once the handshake is done. */
		if ((ssl = tls_client_new(tls_ctx, fd, s->s_addr.host)) == NULL)
			fatalx("TLS: out of memory");
		s->s_bev = bufferevent_openssl_socket_new(base, fd, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		if (s->s_bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(s->s_bev,
			    1);
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
	kick();
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

	if (s->s_bev != NULL) {
		bufferevent_free(s->s_bev);
		s->s_bev = NULL;
		s->s_gen++;
		if (!s->s_outage && exiting == -1 && !draining) {
			warnx("lost connection to %s (%s), reconnecting",
			    s->s_name, reason);
			s->s_outage = 1;
		}
	}
	grabs -= s->s_grabs;
	s->s_grabs = 0;
	s->s_state = S_DOWN;
	if (exiting != -1 || draining) {
		check_done();
		return;
	}
	/* Up to a quarter of jitter, so workers do not come back in step. */
	ms = s->s_backoff + (int)arc4random_uniform(s->s_backoff / 4 + 1);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(s->s_retry, &tv);
	s->s_backoff = s->s_backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX :
	    s->s_backoff * 2;
	check_done();
}

/* The reconnect delay has passed: try again. */
static void
server_retry(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	server_connect(arg);
}

/* EOF or an error on a server connection. */
static void
server_event(struct bufferevent *bev, short what, void *arg)
{
	struct server	*s = arg;
	SSL		*ssl;
	char		 why[256];
	const char	*r = NULL;

	if (what & BEV_EVENT_EOF)
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
	if (exiting != -1)
		leave(exiting);
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
	taken++;
	running++;
	runners[conf.mode](t, payload);
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

	while (s->s_bev == bev && exiting == -1) {
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
			kick();
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
		default:
			warnx("%s: unexpected %s", s->s_name,
			    proto_type_name(hdr.type));
			break;
		}
		evbuffer_drain(in, GM_HEADER_SIZE + hdr.size);
		kick();
	}
}

/* How many more jobs may be asked for now. */
static long long
free_slots(void)
{
	long long	 n;

	if (draining || forced || exiting != -1)
		return 0;
	n = conf.maxjobs - running - grabs;
	if (conf.mode == RUN_COPROC)
		n -= coproc_down();
	if (conf.count > 0 && conf.count - taken - grabs < n)
		n = conf.count - taken - grabs;
	return n;
}

/*
 * Ask ready servers for jobs, in turn, while there are free slots: one
 * GRAB_JOB_UNIQ per free slot, so that with -j N the next jobs are on
 * their way while the running ones finish (the answers come in order).
 */
static void
kick(void)
{
	struct server	*s, *start;
	int		 asked = 0;

	if (TAILQ_EMPTY(&servers))
		return;
	if (rr_next == NULL)
		rr_next = TAILQ_FIRST(&servers);
	s = start = rr_next;
	while (free_slots() > 0) {
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

/*
 * A job has ended (its result, if any, is queued).  Ask for more work.
 * With -t, a connection we do not ask again is put to sleep: gearmand
 * keeps a CAN_DO_TIMEOUT timer running after the job completes and only a
 * grab or PRE_SLEEP stops it.
 */
void
worker_job_done(struct server *s, unsigned int gen)
{
	running--;
	kick();
	if (conf.timeout > 0 && s->s_gen == gen && s->s_state == S_READY &&
	    s->s_grabs == 0 && !forced) {
		server_send0(s, GM_PRE_SLEEP);
		s->s_state = S_SLEEPING;
	}
	check_done();
}

/* Is a forced stop under way (results are no longer sent)? */
int
worker_forced(void)
{
	return forced;
}

/* A coprocess came back or went: ask for work, see whether to leave. */
void
worker_slots_changed(void)
{
	kick();
	check_done();
}

/*
 * Stop at once with status code (stream mode when stdout has gone): no
 * more jobs, and no result sent for those still running.
 */
void
worker_stop(int code)
{
	if (stopcode == -1)
		stopcode = code;
	forced = 1;
	check_done();
}

/*
 * Leave when stopping (or -c reached) and no job is left; coprocesses are
 * first told to exit (their stdin is closed) and waited for.
 */
static void
check_done(void)
{
	int	 code;

	if (exiting != -1 || running > 0)
		return;
	if (forced)
		code = stopcode != -1 ? stopcode : killed ? EXIT_KILLED :
		    EXIT_STOPPED;
	else if (draining || (conf.count > 0 && taken >= conf.count))
		code = EXIT_STOPPED;
	else
		return;
	if (conf.mode == RUN_COPROC && !forced && coproc_stop(0) > 0)
		return;
	leave(code);
}

/* Results could not be delivered in time: leave anyway. */
static void
flush_timeout(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	warnx("results not delivered within %d s, exiting", FLUSH_TIMEOUT);
	event_base_loopexit(base, NULL);
}

/*
 * Exit with status code once every queued result has reached its server
 * (or FLUSH_TIMEOUT passed).  Take no more packets meanwhile: a job that is
 * assigned now goes back to its queue when we disconnect.
 */
static void
leave(int code)
{
	struct server	*s;
	struct timeval	 tv = { FLUSH_TIMEOUT, 0 };
	int		 pending = 0;

	if (exiting == -1) {
		exiting = code;
		if ((ev_flush = evtimer_new(base, flush_timeout, NULL)) == NULL)
			fatalx("evtimer_new");
		evtimer_add(ev_flush, &tv);
	}
	TAILQ_FOREACH(s, &servers, s_entry) {
		evtimer_del(s->s_retry);
		if (s->s_bev == NULL)
			continue;
		bufferevent_disable(s->s_bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_output(s->s_bev)) > 0)
			pending = 1;
	}
	if (!pending)
		event_base_loopexit(base, NULL);
}

/* The grace period of a forced stop is over. */
static void
kill_now(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	job_kill_all(SIGKILL);
}

/* Second signal: kill the children; their jobs go back to the servers. */
static void
force_stop(const char *why)
{
	struct timeval	 tv = { KILL_GRACE, 0 };
	int		 n;

	if (forced)
		return;
	forced = 1;
	/* Set killed before the modes drop their waiting jobs and leave. */
	n = conf.mode == RUN_SPAWN ? job_kill_all(SIGTERM) :
	    conf.mode == RUN_COPROC ? (int)running : 0;
	if (n > 0)
		killed = 1;
	if (conf.mode == RUN_COPROC)
		coproc_stop(1);
	else if (conf.mode == RUN_STREAM)
		stream_stop();
	if (n > 0) {
		warnx("%s: killing %d running job%s", why, n,
		    n == 1 ? "" : "s");
		if ((ev_kill = evtimer_new(base, kill_now, NULL)) == NULL)
			fatalx("evtimer_new");
		evtimer_add(ev_kill, &tv);
	}
	check_done();
}

/* SIGTERM drains, a second SIGTERM or SIGINT forces the stop. */
static void
on_signal(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	if (sig == SIGINT || draining) {
		force_stop(sig == SIGINT ? "SIGINT" : "SIGTERM");
		return;
	}
	draining = 1;
	if (running > 0 && conf.mode == RUN_STREAM)
		warnx("SIGTERM: writing %lld job%s, then exiting", running,
		    running == 1 ? "" : "s");
	else if (running > 0)
		warnx("SIGTERM: finishing %lld running job%s, then exiting",
		    running, running == 1 ? "" : "s");
	check_done();
}

/*
 * Keep descriptors 0 to 3 taken (by /dev/null when we were started without
 * them), so that the pipes made for a child are never among the numbers
 * they are moved to.
 */
static void
reserve_fds(void)
{
	int	 fd;

	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1 && fd <= 3)
		;
	if (fd > 3)
		close(fd);
}

/* Reap every child that has exited. */
static void
on_sigchld(evutil_socket_t sig, short ev, void *arg)
{
	pid_t	 pid;
	int	 status;

	(void)sig;
	(void)ev;
	(void)arg;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		job_reap(pid, status);
}

/* Refuse the options that make no sense together. */
static void
check_modes(int framed)
{
	const char	*bad = NULL;

	if (conf.mode == RUN_COPROC && conf.argv == NULL)
		bad = "-C needs a command";
	else if (conf.mode == RUN_STREAM && conf.argv != NULL)
		bad = "--stream takes no command";
	else if (conf.mode != RUN_SPAWN && conf.out != OUT_WHOLE)
		bad = "-n and -N are for a command per job, not -C or --stream";
	else if (conf.mode == RUN_STREAM && conf.timeout > 0)
		bad = "-t is not for --stream";
	else if (conf.mode == RUN_SPAWN && framed)
		bad = "--framing and -0 need -C or --stream";
	if (bad != NULL) {
		warnx("%s", bad);
		usage(EXIT_USAGE);
	}
}

/* Parse the options, connect to the servers and serve until stopped. */
int
main(int argc, char *argv[])
{
	struct event	*ev_term, *ev_int, *ev_chld;
	struct server	*s;
	const char	*port = "4730", *id = NULL;
	char		**hosts = NULL;
	size_t		 nhosts = 0;
	char		 host[200];
	FILE		*f;
	struct tls_tool	 tls;
	int		 ch, i, framed = 0;

	memset(&tls, 0, sizeof(tls));
	conf.maxjobs = 1;
	opterr = 0;
	/* "+": the command's own options are never taken for ours. */
	while ((ch = getopt_long(argc, argv, "+:0Cc:F:f:Hh:i:j:Nnp:St:Vvx",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case '0':
			conf.framing = FRAME_NUL;
			framed = 1;
			break;
		case 'C':
			conf.mode = RUN_COPROC;
			break;
		case 'F':
			if (framing_parse(optarg, &conf.framing) == -1) {
				warnx("--framing %s: not line, nul or length",
				    optarg);
				usage(EXIT_USAGE);
			}
			framed = 1;
			break;
		case OPT_STREAM:
			conf.mode = RUN_STREAM;
			break;
		case 'c':
			conf.count = number(ch, optarg, 1, LLONG_MAX);
			break;
		case 'f':
			if (*optarg == '\0') {
				warnx("-f: empty function name");
				usage(EXIT_USAGE);
			}
			conf.funcs = xreallocarray(conf.funcs,
			    conf.nfuncs + 1, sizeof(*conf.funcs));
			conf.funcs[conf.nfuncs++] = optarg;
			break;
		case 'H':
			usage(0);
		case 'h':
			net_tool_host(&hosts, &nhosts, optarg);
			break;
		case 'I':
			id = optarg;
			break;
		case 'i':
			pidfile = optarg;
			break;
		case 'j':
			conf.maxjobs = number(ch, optarg, 1, 100000);
			break;
		case 'N':
			conf.out = OUT_LINES_NONL;
			break;
		case 'n':
			conf.out = OUT_LINES;
			break;
		case 'p':
			number(ch, optarg, 1, 65535);
			port = optarg;
			break;
		case 't':
			conf.timeout = number(ch, optarg, 1, 31536000);
			break;
		case 'V':
			printf("gm-work %s\n", GM_VERSION);
			exit(0);
		case 'v':
			conf.verbose = 1;
			break;
		case 'x':
			conf.exceptions = 1;
			break;
		case ':':
			/* A bare -h is a request for help, as in most tools. */
			if (optopt == 'h')
				usage(0);
			if (optopt != 0)
				warnx("option requires an argument -- '%c'",
				    optopt);
			else
				warnx("option requires an argument -- '%s'",
				    argv[optind - 1]);
			usage(EXIT_USAGE);
		default:
			if (tls_tool_option(&tls, ch, optarg))
				break;
			if (optopt != 0)
				warnx("unknown option -- '%c'", optopt);
			else
				warnx("unknown option '%s'", argv[optind - 1]);
			usage(EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (conf.nfuncs == 0) {
		warnx("no function given (-f)");
		usage(EXIT_USAGE);
	}
	conf.argv = argc > 0 ? argv : NULL;
	check_modes(framed);

	if (id == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			strlcpy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		snprintf(client_id, sizeof(client_id), "%s:%ld", host,
		    (long)getpid());
	} else if (strlcpy(client_id, id, sizeof(client_id)) >=
	    sizeof(client_id)) {
		warnx("--id: too long");
		usage(EXIT_USAGE);
	}

	tls_ctx = tls_tool_ctx(&tls, EXIT_USAGE);
	reserve_fds();
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		errx(EXIT_ERROR, "event_base_new failed");
	/* -h wins over GEARMAN_SERVER (gearman lets the variable win). */
	add_servers(hosts, nhosts, port);
	free(hosts);

	if (pidfile != NULL) {
		if ((f = fopen(pidfile, "w")) == NULL)
			err(EXIT_ERROR, "%s", pidfile);
		fprintf(f, "%ld\n", (long)getpid());
		if (fclose(f) == EOF)
			err(EXIT_ERROR, "%s", pidfile);
	}

	ev_term = evsignal_new(base, SIGTERM, on_signal, NULL);
	ev_int = evsignal_new(base, SIGINT, on_signal, NULL);
	ev_chld = evsignal_new(base, SIGCHLD, on_sigchld, NULL);
	if (ev_term == NULL || ev_int == NULL || ev_chld == NULL)
		errx(EXIT_ERROR, "evsignal_new failed");
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_chld, NULL);

	if (conf.mode == RUN_COPROC)
		coproc_init();
	else if (conf.mode == RUN_STREAM)
		stream_init();
	TAILQ_FOREACH(s, &servers, s_entry)
		server_connect(s);
	if (exiting == -1)
		event_base_dispatch(base);

	/* A forced stop waits for its children; reap what is left. */
	i = exiting == -1 ? EXIT_ERROR : exiting;
	if (forced)
		job_kill_all(SIGKILL);
	while ((s = TAILQ_FIRST(&servers)) != NULL) {
		TAILQ_REMOVE(&servers, s, s_entry);
		if (s->s_bev != NULL)
			bufferevent_free(s->s_bev);
		event_free(s->s_retry);
		free(s);
	}
	job_free_all();
	if (conf.mode == RUN_COPROC)
		coproc_free();
	else if (conf.mode == RUN_STREAM)
		stream_free();
	if (ev_kill != NULL)
		event_free(ev_kill);
	if (ev_flush != NULL)
		event_free(ev_flush);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_chld);
	event_base_free(base);
	free(conf.funcs);
	if (pidfile != NULL)
		unlink(pidfile);
	return i;
}
