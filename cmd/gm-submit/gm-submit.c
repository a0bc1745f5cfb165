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
#include "tool.h"
#include "xmalloc.h"
#include "gm-submit.h"

struct options		 opt;
struct sconn		*conns;
size_t			 nconns;

static __dead void	usage(int);
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
	    "\t[--probe secs] [--unordered] [data ...]\n"
	    "       %s [-bs] -f function --all | --to name [--to name ...] "
	    "[-h host[:port]]\n"
	    "\t[-p port] [-t ms] [--json] [--no-label] [data]\n"
	    "\t" TLS_TOOL_USAGE "\n"
	    "       %s [-h host[:port]] [-p port] [-t ms] --status handle\n"
	    "--probe secs: a server silent for secs gets ECHO_REQ and is "
	    "left as dead\n"
	    "\twithout an answer in secs more: within 2 x secs (default "
	    "10; 0: off)\n",
	    getprogname(), getprogname(), getprogname());
}

/* A message on stderr, after wiping a live progress line. */
void
say(const char *fmt, ...)
{
	va_list	 ap;

	progress_clear();
	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
}

/* Write everything or give up with ST_LOCAL. */
void
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

/* Local time of ms since the epoch, for people. */
static const char *
ms_date(const char *ms, char *buf, size_t len)
{
	time_t		 t = (time_t)(strtoll(ms, NULL, 10) / 1000);
	struct tm	*tm;

	if ((tm = localtime(&t)) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", tm) == 0)
		snprintf(buf, len, "?");
	return buf;
}

/*
 * Ask gm-server how a job is or ended (admin `fate`): print it and set
 * *st; 1 when it answered, 0 when it does not know the job, -1 when the
 * server has no `fate` (gearmand) or did not answer.
 */
static int
query_fate(struct sconn *s, const char *handle, int64_t deadline, int *st)
{
	const char	*line;
	char		*l, *f[5], *p, d[64];
	size_t		 len, n, nw;

	xasprintf(&l, "fate %s", handle);
	client_queue_line(&s->s_c, l);
	free(l);
	if (client_wait_line(&s->s_c, &line, &len, deadline) == -1)
		return -1;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	l = xmemdup(line, len);
	if (strcmp(l, "ERR UNKNOWN_JOB") == 0) {
		free(l);
		return 0;
	}
	if (strncmp(l, "OK ", 3) != 0) {
		free(l);
		return -1;
	}
	/* The state, its words, then the error text (the rest). */
	p = l + 3;
	f[0] = strsep(&p, " ");
	nw = strcmp(f[0], "retrying") == 0 ? 3 : strcmp(f[0], "failed") == 0 ?
	    2 : 3;
	for (n = 1; n <= nw; n++)
		f[n] = p != NULL ? strsep(&p, " ") : "";
	f[4] = p != NULL ? p : "";
	if (strcmp(f[0], "failed") == 0) {
		f[3] = f[4];
		f[4] = "";
	}
	*st = ST_OK;
	if (strcmp(f[0], "queued") == 0)
		printf("%s: queued\n", handle);
	else if (strcmp(f[0], "scheduled") == 0)
		printf("%s: scheduled for %s\n", handle, ms_date(f[1], d,
		    sizeof(d)));
	else if (strcmp(f[0], "running") == 0)
		printf("%s: running %s/%s\n", handle, f[1], f[2]);
	else if (strcmp(f[0], "retrying") == 0)
		printf("%s: failed %s time%s, retry %s of %s at %s%s%s\n",
		    handle, f[1], strcmp(f[1], "1") ? "s" : "", f[1], f[2],
		    ms_date(f[3], d, sizeof(d)), *f[4] ? ": " : "", f[4]);
	else if (strcmp(f[0], "failed") == 0 && *f[2] != '\0') {
		printf("%s: failed at %s after %s tr%s%s%s (in the failed "
		    "list)\n", handle, ms_date(f[2], d, sizeof(d)), f[1],
		    strcmp(f[1], "1") ? "ies" : "y", *f[3] ? ": " : "", f[3]);
		*st = ST_FAILED;
	} else {
		/* Gone: done, failed, exception, cancelled, purged... */
		printf("%s: %s at %s\n", handle, f[0], ms_date(f[1], d,
		    sizeof(d)));
		if (strcmp(f[0], "done") != 0)
			*st = ST_FAILED;
	}
	free(l);
	return 1;
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
	int		 k, fate, st;

	for (i = 0; i < nconns; i++) {
		s = &conns[i];
		if (client_connect(&s->s_c, ms) == -1) {
			say("%s: %s", s->s_c.name,
			    client_strerror(&s->s_c, errno));
			continue;
		}
		deadline = client_now() + ms;
		/* gm-server knows how jobs end; gearmand only GET_STATUS. */
		fate = query_fate(s, handle, deadline, &st);
		if (fate == 1) {
			client_close(&s->s_c);
			return st;
		}
		if (fate == 0) {
			reached = 1;
			client_close(&s->s_c);
			continue;
		}
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
	OPT_ALL = 256,
	OPT_AT,
	OPT_JSON,
	OPT_NO_LABEL,
	OPT_PROBE,
	OPT_TO,
	OPT_STATUS,
	OPT_UNORDERED
};

static const struct option longopts[] = {
	{ "all",	no_argument,		NULL,	OPT_ALL },
	{ "at",		required_argument,	NULL,	OPT_AT },
	{ "background",	no_argument,		NULL,	'b' },
	{ "function",	required_argument,	NULL,	'f' },
	{ "help",	no_argument,		NULL,	'H' },
	{ "high",	no_argument,		NULL,	'I' },
	{ "jobs",	required_argument,	NULL,	'j' },
	{ "json",	no_argument,		NULL,	OPT_JSON },
	{ "low",	no_argument,		NULL,	'L' },
	{ "no-label",	no_argument,		NULL,	OPT_NO_LABEL },
	{ "pidfile",	required_argument,	NULL,	'i' },
	{ "prefix",	no_argument,		NULL,	'P' },
	{ "probe",	required_argument,	NULL,	OPT_PROBE },
	{ "status",	required_argument,	NULL,	OPT_STATUS },
	{ "timeout",	required_argument,	NULL,	't' },
	{ "to",		required_argument,	NULL,	OPT_TO },
	{ "unique",	required_argument,	NULL,	'u' },
	{ "unordered",	no_argument,		NULL,	OPT_UNORDERED },
	{ "verbose",	no_argument,		NULL,	'v' },
	TOOL_LONGOPTS,
	{ NULL,		0,			NULL,	0 }
};

/* Parse the options, read the payloads and run the jobs. */
int
main(int argc, char *argv[])
{
	char		 *status_handle = NULL;
	const char	 *errstr;
	size_t		  i, maxu;
	int		  ch, rv;
	FILE		 *f;
	struct gm_server *srvs = NULL;
	struct job	 *j;
	struct tool_opts  tool;

	tool_init(&tool, ST_USAGE);
	/* Running out of memory is a local error, not a failed job. */
	log_set_fatal_status(ST_LOCAL);
	if (argc == 2 && strcmp(argv[1], "-h") == 0)
		usage(0);
	opt.window = DEFAULT_WINDOW;
	opt.probe = DEFAULT_PROBE * 1000;
	while ((ch = tool_getopt(&tool, argc, argv,
	    "bf:Hh:Ii:j:LNnPp:Sst:u:Vv", longopts)) != -1) {
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
		case 'v':
			opt.verbose = 1;
			break;
		case OPT_ALL:
			opt.all = 1;
			break;
		case OPT_JSON:
			opt.json = 1;
			break;
		case OPT_NO_LABEL:
			opt.label = -1;
			break;
		case OPT_TO:
			opt.to = xreallocarray(opt.to, opt.nto + 1,
			    sizeof(*opt.to));
			opt.to[opt.nto++] = optarg;
			break;
		case OPT_AT:
			opt.at = parse_at(optarg);
			opt.at_set = 1;
			break;
		case OPT_PROBE:
			opt.probe = (int)strtonum(optarg, 0, 3600, &errstr) *
			    1000;
			if (errstr != NULL)
				errx(ST_USAGE, "--probe %s: %s", optarg, errstr);
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

	if (opt.all && opt.nto > 0)
		errx(ST_USAGE, "--all and --to exclude each other");
	if (opt.all || opt.nto > 0) {
		if (opt.nfuncs != 1 || status_handle != NULL)
			errx(ST_USAGE, "a broadcast (--all, --to) takes one "
			    "function (-f) and no --status");
		if (opt.at_set)
			errx(ST_USAGE, "--at with --all or --to is not "
			    "supported (-b is)");
		if (opt.lines || argc > 1 || opt.unique != NULL || opt.prio)
			errx(ST_USAGE, "a broadcast sends one payload: no "
			    "-n, -N, -u, -I, -L, and at most one data "
			    "argument");
		opt.label = opt.label == 0;
	} else if (opt.label || opt.json)
		errx(ST_USAGE, "--no-label and --json go with --all or --to");

	/* Servers: -h, else GEARMAN_SERVER, else localhost. */
	client_tool_servers(&tool, &srvs, &nconns);
	conns = xcalloc(nconns, sizeof(*conns));
	for (i = 0; i < nconns; i++) {
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

	if (opt.all || opt.nto > 0) {
		if (argc > 0)
			return broadcast(opt.funcs[0], opt.to, opt.nto,
			    argv[0], strlen(argv[0]));
		if (!opt.empty)
			read_stdin_all();
		j = TAILQ_FIRST(&alljobs);
		return broadcast(opt.funcs[0], opt.to, opt.nto,
		    j != NULL ? j->j_payload->p_buf : NULL,
		    j != NULL ? j->j_payload->p_len : 0);
	}

	/* The payloads. */
	if (opt.lines) {
		opt.multi = 1;
		in_eof = 0;
	} else if (argc > 0) {
		opt.multi = argc > 1;
		opt.from_args = 1;
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
