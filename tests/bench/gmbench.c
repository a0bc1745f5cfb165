/* Public domain. See README.md for the licence of this project. */
/*
 * Load generator for Gearman servers: raw protocol, pipelined, one epoll
 * loop driving every client and worker connection, so that the server is
 * what limits the numbers.  Prints one "result key=value ..." line.
 * With -S every connection speaks TLS (the server's certificate is not
 * checked: this measures the cost of the encryption).
 *
 * This file holds the scenarios (what the clients and workers send and
 * how they count), the options and the result line; the connections are
 * in gen/conn.c, the process figures (CPU, RSS) in gen/proc.c.
 */

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "compat.h"
#include "net.h"
#include "proto.h"
#include "tls.h"
#include "xmalloc.h"

#include "gen/conn.h"
#include "gen/proc.h"

#define ID_DIGITS	10		/* job id at the start of each payload */
#define MAX_EVENTS	256

enum mode {
	M_BG,		/* background end to end: clients and workers */
	M_SUBMIT,	/* background submissions only */
	M_DRAIN,	/* workers drain a pre-filled queue */
	M_FG,		/* foreground throughput */
	M_LAT,		/* foreground latency, one job at a time */
	M_CONNS,	/* idle connections: RSS per connection, ECHO latency */
	M_WORKER,	/* echo worker for tool scenarios */
	M_PORT		/* print a free port */
};

static enum mode	 mode;
static const char	*func = "bench";
static const char	*uprefix;	/* unique ids: prefix + job id */
static long long	 srvpid;
static long long	 njobs = 1000;
static int		 nclients = 1, nworkers = 1, window = 64, grabwin = 1;
static size_t		 psize = 100;
static int		 timeout_s = 300;
static int		 cap_s;		/* stop submitting after this long */
static uint64_t		 cap_ns;
static int		 verbose;

static uint64_t		 deadline_ns;

static long long	 next_id;	/* next job to submit */
static long long	 created;	/* JOB_CREATED received */
static long long	 finished;	/* completions seen (by client or worker) */
static long long	 assigned;	/* JOB_ASSIGNs received */
static long long	 dups, failures;
static uint8_t		*seen;		/* bitmap of finished job ids */
static uint64_t		*lat;		/* latency samples, ns */
static long long	 nlat;
static uint8_t		*payload;
static volatile sig_atomic_t terminated;	/* worker mode: SIGTERM */

static __dead void	 usage(void);
static void		 send_submit(struct conn *, long long);
static void		 client_refill(struct conn *);
static void		 on_client(struct conn *, const struct gm_packet *);
static void		 on_worker(struct conn *, const struct gm_packet *);
static long long	 payload_id(const struct gm_arg *);
static void		 mark_done(long long);
static void		 loop_until(int (*)(void));
static int		 no_echoes(void);
static void		 sync_echo(enum role);
static int		 workers_asleep(void);
static int		 all_created(void);
static int		 all_assigned(void);
static int		 all_finished(void);
static void		 on_term(int);
static int		 got_term(void);
static void		 workers_start(int);
static void		 check_exact(void);
static int		 cmp_u64(const void *, const void *);
static void		 report_lat(const char *, uint64_t *, long long);
static void		 run_jobs(void);
static void		 run_conns(void);
static void		 print_port(void);

static __dead void
usage(void)
{
	fprintf(stderr, "usage: gmbench [-Sv] [-c clients] [-D seconds] "
	    "[-f function] "
	    "[-g grabs] [-H host] [-n count]\n"
	    "\t[-P server-pid] [-p port] [-s size] [-t seconds] "
	    "[-U unique-prefix]\n"
	    "\t[-W window] [-w workers] "
	    "bg|submit|drain|fg|lat|conns|worker|port\n");
	exit(1);
}

/* Queue the submission of job id (its id leads the payload). */
static void
send_submit(struct conn *c, long long id)
{
	struct gm_arg	 a[2];
	char		 ubuf[GM_UNIQUE_SIZE], idbuf[24];
	uint32_t	 type;
	size_t		 need, len;
	uint8_t		*p;

	a[0] = gm_str(func);
	if (uprefix != NULL) {
		snprintf(ubuf, sizeof(ubuf), "%s%lld", uprefix, id);
		a[1] = gm_str(ubuf);
	} else
		a[1] = gm_str("");
	need = GM_HEADER_SIZE + a[0].len + a[1].len + 2 + psize;
	p = conn_reserve(c, need);
	type = (mode == M_FG || mode == M_LAT) ? GM_SUBMIT_JOB :
	    GM_SUBMIT_JOB_BG;
	if (proto_encode_prefix(p, need, GM_REQ, type, a, 2, psize, &len) !=
	    PROTO_OK)
		errx(1, "encode submit");
	snprintf(idbuf, sizeof(idbuf), "%0*lld", ID_DIGITS, id);
	memcpy(p + len, idbuf, ID_DIGITS);
	memcpy(p + len + ID_DIGITS, payload, psize - ID_DIGITS);
	c->outlen += len + psize;
	c->inflight++;
	if (mode == M_LAT)
		c->sent_ns = now_ns();
	conn_mark(c);
}

/*
 * Keep a client's window full while jobs remain.  Past the -D cap the
 * run shrinks to the jobs submitted so far.
 */
static void
client_refill(struct conn *c)
{
	int	 win = mode == M_LAT ? 1 : window;

	if (cap_ns != 0 && next_id < njobs && now_ns() >= cap_ns)
		njobs = next_id;
	while (c->inflight < win && next_id < njobs)
		send_submit(c, next_id++);
}

/* Dispatch one packet by the connection's role. */
void
handle(struct conn *c, const struct gm_packet *pkt)
{
	if (pkt->hdr.magic != GM_RES)
		errx(1, "server sent a request packet");
	switch (pkt->hdr.type) {
	case GM_ECHO_RES:
		c->echoes--;
		return;
	case GM_ERROR:
		errx(1, "server ERROR %.*s: %.*s", (int)pkt->arg[0].len,
		    pkt->arg[0].ptr, (int)pkt->arg[1].len, pkt->arg[1].ptr);
	}
	if (c->role == R_WORKER)
		on_worker(c, pkt);
	else if (c->role == R_CLIENT)
		on_client(c, pkt);
	else
		errx(1, "unexpected %s", proto_type_name(pkt->hdr.type));
}

/* A client's packets: JOB_CREATED and the final WORK_* of its jobs. */
static void
on_client(struct conn *c, const struct gm_packet *pkt)
{
	uint64_t	 t;

	switch (pkt->hdr.type) {
	case GM_JOB_CREATED:
		created++;
		if (mode == M_BG || mode == M_SUBMIT) {
			c->inflight--;
			client_refill(c);
		}
		return;
	case GM_WORK_COMPLETE:
		if (mode == M_LAT) {
			t = now_ns();
			lat[nlat++] = t - c->sent_ns;
		}
		if (payload_id(&pkt->arg[1]) < 0)
			errx(1, "result of %.*s is not a payload of ours: "
			    "%zu bytes \"%.*s\"", (int)pkt->arg[0].len,
			    pkt->arg[0].ptr, pkt->arg[1].len,
			    (int)(pkt->arg[1].len < 40 ? pkt->arg[1].len : 40),
			    pkt->arg[1].ptr);
		mark_done(payload_id(&pkt->arg[1]));
		break;
	case GM_WORK_FAIL:
	case GM_WORK_EXCEPTION:
		failures++;
		break;
	case GM_WORK_DATA:
	case GM_WORK_WARNING:
	case GM_WORK_STATUS:
		return;
	default:
		errx(1, "client got %s", proto_type_name(pkt->hdr.type));
	}
	c->inflight--;
	client_refill(c);
}

/* A worker's packets: NOOP, NO_JOB, JOB_ASSIGN. */
static void
on_worker(struct conn *c, const struct gm_packet *pkt)
{
	struct gm_arg	 a;
	size_t		 need, len, rlen;
	uint8_t		*p;
	int		 i;

	switch (pkt->hdr.type) {
	case GM_NOOP:
		if (c->sleeping) {
			c->sleeping = 0;
			for (i = 0; i < grabwin; i++)
				send_simple(c, GM_GRAB_JOB);
			c->grabs += grabwin;
		}
		return;
	case GM_NO_JOB:
		c->grabs--;
		if (c->grabs == 0 && !c->sleeping &&
		    assigned < njobs) {
			send_simple(c, GM_PRE_SLEEP);
			c->sleeping = 1;
		}
		return;
	case GM_JOB_ASSIGN:
		break;
	default:
		errx(1, "worker got %s", proto_type_name(pkt->hdr.type));
	}
	c->grabs--;
	assigned++;
	/* Foreground jobs get their payload back; background ones nothing. */
	rlen = (mode == M_FG || mode == M_LAT || mode == M_WORKER) ?
	    pkt->arg[2].len : 0;
	if (rlen == 0)
		mark_done(payload_id(&pkt->arg[2]));
	a.ptr = pkt->arg[0].ptr;
	a.len = pkt->arg[0].len;
	need = GM_HEADER_SIZE + a.len + 1 + rlen;
	p = conn_reserve(c, need);
	if (proto_encode_prefix(p, need, GM_REQ, GM_WORK_COMPLETE, &a, 1,
	    rlen, &len) != PROTO_OK)
		errx(1, "encode WORK_COMPLETE");
	if (rlen > 0)
		memcpy(p + len, pkt->arg[2].ptr, rlen);
	c->outlen += len + rlen;
	conn_mark(c);
	if (assigned < njobs) {
		send_simple(c, GM_GRAB_JOB);
		c->grabs++;
	}
}

/* The job id at the start of a payload or result, or -1. */
static long long
payload_id(const struct gm_arg *a)
{
	long long	 id = 0;
	size_t		 i;

	if (a->len < ID_DIGITS)
		return -1;
	for (i = 0; i < ID_DIGITS; i++) {
		if (a->ptr[i] < '0' || a->ptr[i] > '9')
			return -1;
		id = id * 10 + (a->ptr[i] - '0');
	}
	return id;
}

/* Count a finished job once, and a second sighting as a duplicate. */
static void
mark_done(long long id)
{
	if (id < 0 || id >= njobs) {
		if (mode == M_WORKER || mode == M_DRAIN)
			finished++;	/* foreign payload */
		else
			errx(1, "result with a foreign payload");
		return;
	}
	if (seen[id / 8] & (1U << (id % 8))) {
		dups++;
		return;
	}
	seen[id / 8] |= 1U << (id % 8);
	finished++;
}

/* Run the event loop until done() holds or the deadline passes. */
static void
loop_until(int (*done)(void))
{
	struct epoll_event	 evs[MAX_EVENTS];
	struct conn		*c;
	uint64_t		 t;
	int			 i, n, ms;

	for (;;) {
		flush_all();
		if (done())
			return;
		t = now_ns();
		if (t >= deadline_ns)
			errx(1, "timed out: %lld submitted, %lld created, "
			    "%lld assigned, %lld finished of %lld", next_id,
			    created, assigned, finished, njobs);
		ms = (int)((deadline_ns - t) / 1000000) + 1;
		if ((n = epoll_wait(ep, evs, MAX_EVENTS, ms)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "epoll_wait");
		}
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_read(c);
			if (evs[i].events & EPOLLOUT)
				conn_flush(c);
		}
	}
}

static int
no_echoes(void)
{
	int	 i;

	for (i = 0; i < nconns; i++)
		if (conns[i]->echoes > 0)
			return 0;
	return 1;
}

/* Echo on every connection of a role and wait for the answers. */
static void
sync_echo(enum role role)
{
	int	 i;

	for (i = 0; i < nconns; i++)
		if (conns[i]->role == role)
			send_echo(conns[i]);
	loop_until(no_echoes);
}

static int
workers_asleep(void)
{
	int	 i;

	for (i = 0; i < nconns; i++)
		if (conns[i]->role == R_WORKER && !conns[i]->sleeping)
			return 0;
	return 1;
}

static int
all_created(void)
{
	return created >= njobs;
}

static int
all_assigned(void)
{
	return assigned >= njobs;
}

static int
all_finished(void)
{
	return finished + dups + failures >= njobs;
}

static void
on_term(int sig __unused)
{
	terminated = 1;
}

static int
got_term(void)
{
	return terminated;
}

/* Register every worker and send its first grabs. */
static void
workers_start(int grab)
{
	int	 i;

	for (i = 0; i < nconns; i++) {
		if (conns[i]->role != R_WORKER)
			continue;
		send_str(conns[i], GM_CAN_DO, func);
		if (grab) {
			for (int j = 0; j < grabwin; j++)
				send_simple(conns[i], GM_GRAB_JOB);
			conns[i]->grabs += grabwin;
		}
	}
}

/* Fail unless every job finished exactly once. */
static void
check_exact(void)
{
	if (dups > 0 || failures > 0 || finished != njobs)
		errx(1, "not exact: %lld of %lld finished, %lld duplicates, "
		    "%lld failures", finished, njobs, dups, failures);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Print p50, p99 and max of n samples (ns) as microseconds. */
static void
report_lat(const char *pfx, uint64_t *v, long long n)
{
	if (n == 0)
		return;
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	printf(" %sp50_us=%.1f %sp99_us=%.1f %smax_us=%.1f", pfx,
	    v[n / 2] / 1e3, pfx, v[(n * 99) / 100] / 1e3, pfx,
	    v[n - 1] / 1e3);
}

/* The job scenarios: bg, submit, drain, fg, lat, worker. */
static void
run_jobs(void)
{
	uint64_t	 t0, t1;
	double		 g0, g1, s0, s1, secs;
	long		 r0, r1;
	int		 i, nc = 0, nw = 0;

	switch (mode) {
	case M_BG:
	case M_FG:
		nc = nclients;
		nw = nworkers;
		break;
	case M_LAT:
		nc = 1;
		nw = nworkers > 0 ? 1 : 0;
		lat = xreallocarray(NULL, njobs, sizeof(*lat));
		break;
	case M_SUBMIT:
		nc = nclients;
		break;
	case M_DRAIN:
	case M_WORKER:
		nw = nworkers;
		break;
	default:
		abort();
	}
	if (mode != M_WORKER)
		seen = xcalloc((size_t)njobs / 8 + 1, 1);
	raise_nofile(nc + nw + 64);
	for (i = 0; i < nw; i++)
		conn_open(R_WORKER);
	for (i = 0; i < nc; i++)
		conn_open(R_CLIENT);

	/* Workers register and go to sleep before the clock starts. */
	if (nw > 0 && mode != M_DRAIN) {
		workers_start(1);
		loop_until(workers_asleep);
		sync_echo(R_WORKER);
	} else if (nw > 0) {
		workers_start(0);
		sync_echo(R_WORKER);
	}

	r0 = rss_server(srvpid);
	g0 = cpu_self();
	s0 = cpu_server(srvpid);
	t0 = now_ns();
	if (cap_s > 0)
		cap_ns = t0 + (uint64_t)cap_s * 1000000000ULL;
	if (mode == M_DRAIN) {
		for (i = 0; i < nconns; i++) {
			for (int j = 0; j < grabwin; j++)
				send_simple(conns[i], GM_GRAB_JOB);
			conns[i]->grabs += grabwin;
		}
	}
	for (i = 0; i < nconns; i++)
		if (conns[i]->role == R_CLIENT)
			client_refill(conns[i]);
	switch (mode) {
	case M_SUBMIT:
		loop_until(all_created);
		break;
	case M_BG:
	case M_DRAIN:
		loop_until(all_assigned);
		sync_echo(R_WORKER);
		break;
	case M_WORKER:
		/*
		 * Serve until SIGTERM: an exit after the last assignment
		 * could race with a threaded server still forwarding the
		 * last results.
		 */
		loop_until(got_term);
		printf("result assigned=%lld\n", assigned);
		return;
	default:
		loop_until(all_finished);
		break;
	}
	t1 = now_ns();
	g1 = cpu_self();
	s1 = cpu_server(srvpid);
	r1 = rss_server(srvpid);
	secs = (t1 - t0) / 1e9;

	if (mode != M_SUBMIT && mode != M_WORKER)
		check_exact();
	if (mode == M_SUBMIT && created != njobs)
		errx(1, "%lld of %lld submissions acknowledged", created,
		    njobs);
	printf("result jobs=%lld secs=%.4f rate=%.0f us_per_job=%.3f "
	    "gen_cpu=%.2f srv_cpu=%.2f gen_pct=%.0f srv_pct=%.0f "
	    "gen_us_per_job=%.2f srv_us_per_job=%.2f "
	    "rss_before_kb=%ld rss_after_kb=%ld", njobs, secs, njobs / secs,
	    secs * 1e6 / (double)njobs, g1 - g0,
	    s0 < 0 ? -1.0 : s1 - s0, 100 * (g1 - g0) / secs,
	    s0 < 0 ? -1.0 : 100 * (s1 - s0) / secs,
	    (g1 - g0) * 1e6 / (double)njobs,
	    s0 < 0 ? -1.0 : (s1 - s0) * 1e6 / (double)njobs, r0, r1);
	if (mode == M_LAT)
		report_lat("", lat, nlat);
	printf(" finished=%lld dups=%lld\n", finished, dups);
}

/* Idle connections: RSS per connection, then ECHO latency with them open. */
static void
run_conns(void)
{
	struct conn	*c;
	uint64_t	*v, t0, t;
	long		 r0, r1;
	long long	 i, nsamp = 2000, k;
	int		 batch = 8;	/* below any listen backlog */

	raise_nofile(njobs + 64);
	r0 = rss_server(srvpid);
	t0 = now_ns();
	for (i = 0; i < njobs; i++) {
		c = conn_open(R_IDLE);
		send_echo(c);
		if ((i + 1) % batch == 0)
			loop_until(no_echoes);
	}
	loop_until(no_echoes);
	t = now_ns();
	r1 = rss_server(srvpid);
	printf("result conns=%lld connect_secs=%.3f rss_before_kb=%ld "
	    "rss_after_kb=%ld bytes_per_conn=%.0f", njobs, (t - t0) / 1e9,
	    r0, r1, r0 < 0 ? -1.0 : (r1 - r0) * 1024.0 / (double)njobs);

	/* One ECHO at a time on a connection opened first, then on a new one. */
	v = xreallocarray(NULL, nsamp, sizeof(*v));
	c = conns[0];
	for (k = 0; k < nsamp; k++) {
		t = now_ns();
		send_echo(c);
		loop_until(no_echoes);
		v[k] = now_ns() - t;
	}
	report_lat("echo_", v, nsamp);
	/* A new connection: the server accepts it and answers its ECHO. */
	c = conn_open(R_IDLE);
	t = now_ns();
	send_echo(c);
	loop_until(no_echoes);
	printf(" new_conn_echo_us=%.1f\n", (now_ns() - t) / 1e3);
	free(v);
}

/* Print a TCP port on 127.0.0.1 that is free right now. */
static void
print_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		err(1, "bind");
	printf("%d\n", ntohs(sin.sin_port));
	close(fd);
}

int
main(int argc, char *argv[])
{
	static const struct {
		const char	*name;
		enum mode	 mode;
	} modes[] = {
		{ "bg", M_BG }, { "submit", M_SUBMIT }, { "drain", M_DRAIN },
		{ "fg", M_FG }, { "lat", M_LAT }, { "conns", M_CONNS },
		{ "worker", M_WORKER }, { "port", M_PORT },
	};
	struct tls_opts	 to;
	const char	*errstr;
	char		 why[256];
	size_t		 i;
	int		 ch, found = 0;

	while ((ch = getopt(argc, argv, "c:D:f:g:H:n:P:p:Ss:t:U:vW:w:")) !=
	    -1) {
		switch (ch) {
		case 'S':
			memset(&to, 0, sizeof(to));
			if ((tls = tls_ctx_client(&to, why, sizeof(why))) ==
			    NULL)
				errx(1, "TLS: %s", why);
			break;
		case 'c':
			nclients = strtonum(optarg, 1, 100000, &errstr);
			if (errstr != NULL)
				errx(1, "-c %s: %s", optarg, errstr);
			break;
		case 'D':
			cap_s = strtonum(optarg, 1, 86400, &errstr);
			if (errstr != NULL)
				errx(1, "-D %s: %s", optarg, errstr);
			break;
		case 'f':
			func = optarg;
			break;
		case 'g':
			grabwin = strtonum(optarg, 1, 1000, &errstr);
			if (errstr != NULL)
				errx(1, "-g %s: %s", optarg, errstr);
			break;
		case 'H':
			host = optarg;
			break;
		case 'n':
			njobs = strtonum(optarg, 0, 1000000000, &errstr);
			if (errstr != NULL)
				errx(1, "-n %s: %s", optarg, errstr);
			break;
		case 'P':
			srvpid = strtonum(optarg, 1, INT32_MAX, &errstr);
			if (errstr != NULL)
				errx(1, "-P %s: %s", optarg, errstr);
			break;
		case 'p':
			port = optarg;
			break;
		case 's':
			psize = strtonum(optarg, ID_DIGITS, 100000000,
			    &errstr);
			if (errstr != NULL)
				errx(1, "-s %s: %s", optarg, errstr);
			break;
		case 't':
			timeout_s = strtonum(optarg, 1, 86400, &errstr);
			if (errstr != NULL)
				errx(1, "-t %s: %s", optarg, errstr);
			break;
		case 'U':
			uprefix = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'W':
			window = strtonum(optarg, 1, 1000000, &errstr);
			if (errstr != NULL)
				errx(1, "-W %s: %s", optarg, errstr);
			break;
		case 'w':
			nworkers = strtonum(optarg, 0, 100000, &errstr);
			if (errstr != NULL)
				errx(1, "-w %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	for (i = 0; i < nitems(modes); i++)
		if (strcmp(argv[0], modes[i].name) == 0) {
			mode = modes[i].mode;
			found = 1;
		}
	if (!found)
		usage();
	if (mode == M_PORT) {
		print_port();
		return 0;
	}
	if (port == NULL)
		errx(1, "no port (-p)");
	if (mode == M_WORKER) {
		struct sigaction	 sa;

		njobs = INT64_MAX / 2;	/* until SIGTERM */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_term;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGTERM, &sa, NULL) == -1)
			err(1, "sigaction");
	} else if (njobs == 0)
		errx(1, "-n must be positive");
	if (uprefix != NULL && strlen(uprefix) + ID_DIGITS >= GM_UNIQUE_SIZE)
		errx(1, "unique prefix too long");
	payload = xmalloc(psize);
	memset(payload, 'x', psize);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(1, "epoll_create1");
	deadline_ns = now_ns() + (uint64_t)timeout_s * 1000000000ULL;
	if (mode == M_CONNS)
		run_conns();
	else
		run_jobs();
	if (verbose)
		fprintf(stderr, "gmbench: %d connections\n", nconns);
	return 0;
}
