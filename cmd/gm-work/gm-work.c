/* Public domain. See README.md for the licence of this project. */
/*
 * gm-work: take jobs from Gearman servers and run a command for each.
 * This file owns the options, main, the count of jobs running and taken,
 * and stopping (draining on SIGTERM, a forced stop, leaving once the
 * results are sent); server.c owns the connections.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <time.h>

#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <openssl/ssl.h>

#include "compat.h"
#include "log.h"
#include "net.h"
#include "tool.h"
#include "xmalloc.h"
#include "gm-work.h"

/* Longest wait for results to reach the servers at exit (s). */
#define FLUSH_TIMEOUT	10
/* After a forced stop, children get this long before SIGKILL (s). */
#define KILL_GRACE	2

struct config		 conf;
struct event_base	*base;

/* What runs a job, by mode. */
static void (*const runners[])(struct task *, struct evbuffer *) = {
	[RUN_SPAWN] = spawn_run,
	[RUN_COPROC] = coproc_run,
	[RUN_STREAM] = stream_run
};

static char		 client_id[256];
static const char	*pidfile;
static long long	 running;	/* jobs with a child or pending */
static long long	 taken;		/* jobs received, for -c */
static int		 draining;	/* SIGTERM: no new jobs */
static int		 forced;	/* second signal: killing */
static int		 killed;	/* a forced stop killed jobs */
static int		 stopcode = -1;	/* worker_stop's status */
static int		 exiting = -1;	/* exit status, once leaving */
static struct event	*ev_kill, *ev_flush;

static __dead void	usage(int);
static void	leave(int);

#define OPT_STREAM	0x2000	/* --stream: long only, -S is --ssl */
#define OPT_PROBE	0x2001	/* --probe */

static const struct option longopts[] = {
	{ "coprocess",	no_argument,		NULL,	'C' },
	{ "count",	required_argument,	NULL,	'c' },
	{ "exceptions",	no_argument,		NULL,	'x' },
	{ "framing",	required_argument,	NULL,	'F' },
	{ "function",	required_argument,	NULL,	'f' },
	{ "help",	no_argument,		NULL,	'H' },
	{ "id",		required_argument,	NULL,	'I' },
	{ "jobs",	required_argument,	NULL,	'j' },
	{ "lines",	no_argument,		NULL,	'n' },
	{ "pidfile",	required_argument,	NULL,	'i' },
	{ "null",	no_argument,		NULL,	'0' },
	{ "probe",	required_argument,	NULL,	OPT_PROBE },
	{ "stream",	no_argument,		NULL,	OPT_STREAM },
	{ "timeout",	required_argument,	NULL,	't' },
	{ "verbose",	no_argument,		NULL,	'v' },
	TOOL_LONGOPTS,
	{ NULL,		0,			NULL,	0 }
};

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
	    "               [--id id] [--probe secs] [--stream]\n"
	    "               -f function [-f function ...]\n"
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
	    "  --probe SEC           send ECHO_REQ to a server silent for SEC;\n"
	    "                        no answer in SEC more: reconnect (a silent\n"
	    "                        server is left within 2 x SEC; default\n"
	    "                        10, 0: off)\n"
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

/* How many more jobs may be asked for now. */
long long
worker_free_slots(void)
{
	long long	 n;

	if (draining || forced || exiting != -1)
		return 0;
	n = conf.maxjobs - running - servers_grabs();
	if (conf.mode == RUN_COPROC)
		n -= coproc_down();
	if (conf.count > 0 && conf.count - taken - servers_grabs() < n)
		n = conf.count - taken - servers_grabs();
	return n;
}

/* A job has arrived from a server: count it and run it. */
void
worker_run(struct task *t, struct evbuffer *payload)
{
	taken++;
	running++;
	runners[conf.mode](t, payload);
}

/*
 * A job from connection gen of s has ended (its result, if any, is
 * queued).  Ask for more work; with -t, put a connection not asked again
 * to sleep (server_idle).
 */
void
worker_job_done(struct server *s, unsigned int gen)
{
	running--;
	servers_kick();
	server_idle(s, gen);
	worker_check_done();
}

/* Is a forced stop under way (results are no longer sent)? */
int
worker_forced(void)
{
	return forced;
}

/* Are we draining or leaving (no reconnects, no new jobs)? */
int
worker_stopping(void)
{
	return draining || exiting != -1;
}

/* Are we leaving (results are being flushed; read no more)? */
int
worker_leaving(void)
{
	return exiting != -1;
}

/* A server's output has drained: when leaving, see whether all is sent. */
void
worker_flushed(void)
{
	if (exiting != -1)
		leave(exiting);
}

/* A coprocess came back or went: ask for work, see whether to leave. */
void
worker_slots_changed(void)
{
	servers_kick();
	worker_check_done();
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
	worker_check_done();
}

/*
 * Leave when stopping (or -c reached) and no job is left; coprocesses are
 * first told to exit (their stdin is closed) and waited for.
 */
void
worker_check_done(void)
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
	struct timeval	 tv = { FLUSH_TIMEOUT, 0 };

	if (exiting == -1) {
		exiting = code;
		if ((ev_flush = evtimer_new(base, flush_timeout, NULL)) == NULL)
			fatalx("evtimer_new");
		evtimer_add(ev_flush, &tv);
	}
	if (!servers_quiesce())
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
	worker_check_done();
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
	worker_check_done();
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
	SSL_CTX		*tls_ctx;
	const char	*id = NULL, *errstr;
	char		 host[200];
	FILE		*f;
	struct tool_opts tool;
	int		 ch, i, framed = 0;

	tool_init(&tool, EXIT_USAGE);
	conf.maxjobs = 1;
	conf.probe = DEFAULT_PROBE;
	opterr = 0;
	/* "+": the command's own options are never taken for ours. */
	while ((ch = tool_getopt(&tool, argc, argv,
	    "+:0Cc:F:f:Hh:i:j:Nnp:St:Vvx", longopts)) != -1) {
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
		case OPT_PROBE:
			conf.probe = strtonum(optarg, 0, 3600, &errstr);
			if (errstr != NULL) {
				warnx("--probe %s: %s", optarg, errstr);
				usage(EXIT_USAGE);
			}
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
		case 't':
			conf.timeout = number(ch, optarg, 1, 31536000);
			break;
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

	tls_ctx = tool_tls(&tool);
	reserve_fds();
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		errx(EXIT_ERROR, "event_base_new failed");
	/* -h wins over GEARMAN_SERVER (gearman lets the variable win). */
	servers_add(&tool);

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
	servers_start(client_id, tls_ctx);
	if (exiting == -1)
		event_base_dispatch(base);

	/* A forced stop waits for its children; reap what is left. */
	i = exiting == -1 ? EXIT_ERROR : exiting;
	if (forced)
		job_kill_all(SIGKILL);
	servers_free();
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
