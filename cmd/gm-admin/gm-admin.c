/* Public domain. See README.md for the licence of this project. */
/*
 * gm-admin: ask Gearman job servers for their status and give them admin
 * commands, over the admin text protocol.  Prints tables for people,
 * --json for scripts, --raw for the server's own lines; gearadmin's
 * options still work and print what gearadmin printed.
 */

#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "compat.h"
#include "log.h"
#include "net.h"
#include "status.h"
#include "tool.h"
#include "xmalloc.h"
#include "gm-admin.h"

#define DEFAULT_TIMEOUT	5000

struct server		*servers;
size_t			 nservers;
static int		 timeout_ms = DEFAULT_TIMEOUT;
int			 json, raw;
static volatile sig_atomic_t interrupted;

/* The synopsis: usage(0) is help, else status is the exit status. */
static __dead void
usage(int status)
{
	status_usage(status,
	    "usage: %s [-HSV] [-c count] [-h host[:port]] [-p port] [-t ms] "
	    "[--json | --raw]\n\t%s\n"
	    "       %s [-h host] [-p port] --status | --workers | "
	    "--show-jobs |\n"
	    "\t--show-unique-jobs | --priority-status | --server-version |\n"
	    "\t--server-verbose | --getpid | --create-function function |\n"
	    "\t--drop-function function | --cancel-job handle\n"
	    "       %s --subcommands\n"
	    "TLS (-S) for both forms: " TLS_TOOL_USAGE "\n",
	    getprogname(), parse_keywords(), getprogname(), getprogname());
}

/* Stop watching at the next chance. */
static void
on_sigint(int sig __unused)
{
	interrupted = 1;
}

/* Release a reply. */
static void
reply_free(struct reply *r)
{
	size_t	 i;

	for (i = 0; i < r->nlines; i++)
		free(r->lines[i]);
	free(r->lines);
	free(r->raw);
	free(r->value);
	memset(r, 0, sizeof(*r));
}

/* Keep a line's bytes for --raw. */
static void
reply_raw(struct reply *r, const char *line, size_t len)
{
	r->raw = xreallocarray(r->raw, r->rawlen + len + 1, 1);
	memcpy(r->raw + r->rawlen, line, len);
	r->rawlen += len;
	r->raw[r->rawlen] = '\0';
}

/* A copy of a line without its "\n" or "\r\n". */
static char *
chomp(const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	return xmemdup(line, len);
}

/*
 * Send one admin command to a server and read its reply of the given
 * kind.  r->st says how it went; connection problems are reported here.
 */
static void
ask(struct server *s, const char *cmd, enum kind kind, struct reply *r)
{
	const char	*line;
	size_t		 len;
	int64_t		 deadline = client_now() + timeout_ms;
	char		*l;

	memset(r, 0, sizeof(*r));
	if (s->dead) {
		r->st = ST_NOSERVER;
		return;
	}
	if (s->c.fd == -1 && client_connect(&s->c, timeout_ms) ==
	    -1) {
		warnx("%s: %s", s->c.name, client_strerror(&s->c, errno));
		s->dead = 1;
		r->st = errno == ETIMEDOUT ? ST_TIMEOUT : ST_NOSERVER;
		status_set(r->st);
		return;
	}
	client_queue_line(&s->c, cmd);
	for (;;) {
		if (client_wait_line(&s->c, &line, &len, deadline) == -1) {
			if (errno == ETIMEDOUT) {
				warnx("%s: no answer to \"%s\" within %d ms",
				    s->c.name, cmd, timeout_ms);
				r->st = ST_TIMEOUT;
			} else {
				warnx("%s: %s", s->c.name, errno ==
				    ECONNRESET ? "connection closed" :
				    strerror(errno));
				r->st = ST_NOSERVER;
			}
			client_close(&s->c);
			s->dead = 1;
			status_set(r->st);
			return;
		}
		reply_raw(r, line, len);
		if (strncmp(line, "ERR", 3) == 0 && (len == 4 ||
		    line[3] == ' ' || line[3] == '\r') && r->nlines == 0 &&
		    memchr(line, '\t', len) == NULL) {
			l = chomp(line, len);
			r->value = xstrdup(l[3] == ' ' ? l + 4 : l + 3);
			free(l);
			r->st = ST_FAILED;
			return;
		}
		if (kind == K_LIST) {
			if (len == 2 && line[0] == '.')
				return;
			r->lines = xreallocarray(r->lines, r->nlines + 1,
			    sizeof(*r->lines));
			r->lines[r->nlines++] = chomp(line, len);
			continue;
		}
		l = chomp(line, len);
		if (strncmp(l, "OK ", 3) == 0)
			r->value = xstrdup(l + 3);
		else
			r->value = xstrdup(l);
		free(l);
		return;
	}
}

/* Report an ERR answer. */
static void
report_err(const struct server *s, const struct reply *r)
{
	if (r->value != NULL && strncmp(r->value, "UNKNOWN_COMMAND", 15) == 0)
		warnx("%s: the server does not know this command (%s)",
		    s->c.name, r->value);
	else
		warnx("%s: %s", s->c.name, r->value != NULL ? r->value :
		    "error");
	status_set(ST_FAILED);
}

/*
 * Ask every server for a view's list (its own command, or cmd when not
 * NULL) and fill a table from its lines.
 */
static int
list_table(const struct view *v, const char *cmd, struct table *t)
{
	int		 answered = 0;
	struct reply	 r;
	size_t		 i, k;

	for (i = 0; i < nservers; i++) {
		ask(&servers[i], cmd != NULL ? cmd : v->cmd, K_LIST, &r);
		if (r.st == ST_FAILED)
			report_err(&servers[i], &r);
		if (r.st != ST_OK) {
			reply_free(&r);
			continue;
		}
		answered = 1;
		if (raw)
			fwrite(r.raw, 1, r.rawlen, stdout);
		for (k = 0; k < r.nlines && !raw; k++)
			view_add_line(v, t, servers[i].c.name, r.lines[k]);
		reply_free(&r);
	}
	return answered;
}

/*
 * status, priority-status, workers, members (of func, or all), jobs,
 * unique-jobs, journal, stats.
 */
static void
do_list(enum action a, const char *func)
{
	static const struct {
		enum action	 a;
		enum view_id	 v;
	} map[] = {
		{ A_STATUS, VIEW_STATUS }, { A_PRIO, VIEW_PRIO },
		{ A_WORKERS, VIEW_WORKERS }, { A_MEMBERS, VIEW_MEMBERS },
		{ A_JOBS, VIEW_JOBS },
		{ A_UNIQUE, VIEW_UNIQUE }, { A_JOURNAL, VIEW_JOURNAL },
		{ A_STATS, VIEW_STATS }
	};
	const struct view	*v;
	struct table		 t;
	char			*cmd = NULL;
	size_t			 i;
	int			 answered;

	for (i = 0; i < nitems(map) && map[i].a != a; i++)
		;
	if (i == nitems(map))
		return;
	v = &views[map[i].v];
	table_init(&t, v->cols, v->ncols, nservers > 1);
	if (v->takesfunc && func != NULL)
		xasprintf(&cmd, "%s %s", v->cmd, func);
	answered = list_table(v, cmd, &t);
	free(cmd);
	if (!raw && answered) {
		if (v->byfunc)
			table_print_functions(&t);
		else
			table_print(&t, stdout);
	}
	table_free(&t);
}

/* version, getpid, verbose: one value per server. */
static void
do_value(const char *cmd, const char *hdr, const char *key)
{
	struct column	 col[1];
	struct table	 t;
	struct reply	 r;
	char		*f[1];
	size_t		 i;

	col[0].hdr = hdr;
	col[0].key = key;
	col[0].type = strcmp(key, "pid") == 0 ? 'n' : 's';
	table_init(&t, col, 1, nservers > 1);
	for (i = 0; i < nservers; i++) {
		ask(&servers[i], cmd, K_VALUE, &r);
		if (r.st == ST_FAILED)
			report_err(&servers[i], &r);
		if (r.st == ST_OK) {
			if (raw)
				fwrite(r.raw, 1, r.rawlen, stdout);
			else if (nservers == 1 && !json)
				printf("%s\n", r.value);
			f[0] = r.value;
			table_add(&t, servers[i].c.name, f);
		}
		reply_free(&r);
	}
	if (!raw && (json || nservers > 1))
		table_print(&t, stdout);
	table_free(&t);
}

/*
 * Why a server refused to drop func.  Its reason, gearmand's, speaks of
 * connected workers or executing clients even when the function only
 * holds queued jobs, so say what its status line shows.  NULL when the
 * function is not listed.
 */
static char *
drop_reason(struct server *s, const char *func)
{
	struct reply	 r;
	char		*f[4], *why = NULL;
	size_t		 i;

	ask(s, "status", K_LIST, &r);
	for (i = 0; r.st == ST_OK && i < r.nlines && why == NULL; i++)
		if (view_split(r.lines[i], '\t', f, 4) == 4 &&
		    strcasecmp(f[0], func) == 0)
			xasprintf(&why, "cannot drop %s while it has jobs or "
			    "workers (jobs %s, running %s, workers %s)", f[0],
			    f[1], f[2], f[3]);
	reply_free(&r);
	return why;
}

/*
 * Commands answered with OK: every server gets it.  For cancel (any), the
 * servers are asked in turn until one says OK: a handle lives on one
 * server, so the job is cancelled there only, and the ERR of the servers
 * asked before it are not errors.  drop names the function dropped (its
 * refusals are explained), else NULL.
 */
static void
do_ok(const char *cmd, int any, const char *drop)
{
	char		*why;
	struct reply	*r;
	size_t		 i, n, oks = 0;

	r = xcalloc(nservers, sizeof(*r));
	for (n = 0; n < nservers && !(any && oks > 0); n++) {
		ask(&servers[n], cmd, K_OK, &r[n]);
		if (r[n].st == ST_OK)
			oks++;
		if (raw && r[n].rawlen > 0)
			fwrite(r[n].raw, 1, r[n].rawlen, stdout);
	}
	for (i = 0; i < n; i++) {
		why = NULL;
		if (r[i].st == ST_FAILED && drop != NULL &&
		    strstr(r[i].value, "still connected workers") != NULL)
			why = drop_reason(&servers[i], drop);
		if (why != NULL) {
			warnx("%s: %s", servers[i].c.name, why);
			status_set(ST_FAILED);
			free(why);
		} else if (r[i].st == ST_FAILED && !(any && oks > 0))
			report_err(&servers[i], &r[i]);
		if (json && !raw && r[i].st <= ST_FAILED) {
			printf(i == 0 ? "[\n  {" : ",\n  {");
			json_str(stdout, "server");
			printf(": ");
			json_str(stdout, servers[i].c.name);
			printf(", \"ok\": %s", r[i].st == ST_OK ? "true" :
			    "false");
			if (r[i].st == ST_FAILED) {
				printf(", \"error\": ");
				json_str(stdout, r[i].value);
			}
			printf("}");
		}
		reply_free(&r[i]);
	}
	if (json && !raw)
		printf("%s]\n", n > 0 ? "\n" : "");
	free(r);
}

/* failed, retrying, retries, failed stats: gm-server's own lists. */
static void
do_gm_list(enum action a, const char *func)
{
	const struct view *v;
	struct table	 t;
	char		*cmd = NULL;
	size_t		 i, k;
	int		 answered;

	switch (a) {
	case A_FAILED:
		v = &views[VIEW_FAILED];
		if (func != NULL)
			xasprintf(&cmd, "failed list %s", func);
		break;
	case A_RETRYING:
		v = &views[VIEW_RETRYING];
		if (func != NULL)
			xasprintf(&cmd, "retrying %s", func);
		break;
	case A_RETRIES:
		v = &views[VIEW_RETRIES];
		break;
	default:
		v = &views[VIEW_FAILED_STATS];
		break;
	}
	table_init(&t, v->cols, v->ncols, nservers > 1);
	answered = list_table(v, cmd, &t);
	free(cmd);
	if (a == A_RETRIES && func != NULL) {
		/* Only that function's row (the server default if unknown). */
		for (i = k = 0; i < t.nrows; i++) {
			if (strcmp(t.rows[i][2], func) == 0)
				t.rows[k++] = t.rows[i];
			else {
				for (size_t c = 0; c <= t.ncols; c++)
					free(t.rows[i][c]);
				free(t.rows[i]);
			}
		}
		t.nrows = k;
	}
	if (!raw && answered)
		table_print(&t, stdout);
	table_free(&t);
}

/*
 * failed show HANDLE (key, value; the payload escaped) or failed payload
 * HANDLE (the payload's bytes on stdout): from the first server that has
 * the job.
 */
static void
do_failed_show(const char *handle, int payload)
{
	struct reply	 r;
	char		*cmd, *f[2], *buf, *copy;
	size_t		 i, k, n;
	int		 found = 0;

	xasprintf(&cmd, "failed show %s", handle);
	for (i = 0; i < nservers && !found; i++) {
		ask(&servers[i], cmd, K_LIST, &r);
		if (r.st != ST_OK) {
			reply_free(&r);
			continue;
		}
		found = 1;
		if (raw && !payload)
			fwrite(r.raw, 1, r.rawlen, stdout);
		if (json && !payload)
			printf("{");
		for (k = 0; k < r.nlines && !(raw && !payload); k++) {
			copy = xstrdup(r.lines[k]);
			if (view_split(copy, '\t', f, 2) != 2) {
				free(copy);
				continue;
			}
			if (payload) {
				if (strcmp(f[0], "data") == 0) {
					buf = xmalloc(strlen(f[1]) + 1);
					n = unescape(f[1], buf);
					fwrite(buf, 1, n, stdout);
					free(buf);
				}
			} else if (json) {
				printf(k == 0 ? "\n  " : ",\n  ");
				json_str(stdout, k == 0 ? "server" : f[0]);
				printf(": ");
				if (k == 0) {
					json_str(stdout, servers[i].c.name);
					printf(",\n  ");
					json_str(stdout, f[0]);
					printf(": ");
				}
				if (strcmp(f[0], "tries") == 0 ||
				    strcmp(f[0], "bytes") == 0 ||
				    strstr(f[0], "_failure") != NULL)
					printf("%lld", view_number(f[1]));
				else
					json_escaped(stdout, f[1]);
			} else
				printf("%-14s %s\n", f[0], f[1]);
			free(copy);
		}
		if (json && !payload)
			printf("\n}\n");
		reply_free(&r);
	}
	if (!found) {
		warnx("%s: no server has this job in its failed list", handle);
		status_set(ST_FAILED);
	}
	free(cmd);
}

/*
 * retry, purge, retries FUNCTION ...: commands answered "OK" or "OK n"
 * (jobs retried or purged).  A handle lives on one server: one answer is
 * enough.
 */
static void
do_count(const char *cmd, const char *key, int any)
{
	struct reply	*r;
	size_t		 i, oks = 0;
	long long	 total = 0;

	r = xcalloc(nservers, sizeof(*r));
	for (i = 0; i < nservers; i++) {
		ask(&servers[i], cmd, K_VALUE, &r[i]);
		if (r[i].st == ST_OK) {
			oks++;
			total += view_number(r[i].value);
		}
		if (raw && r[i].rawlen > 0)
			fwrite(r[i].raw, 1, r[i].rawlen, stdout);
	}
	for (i = 0; i < nservers; i++) {
		if (r[i].st == ST_FAILED && !(any && oks > 0))
			report_err(&servers[i], &r[i]);
		if (json && !raw && r[i].st == ST_OK) {
			printf(i == 0 ? "[\n  {" : ",\n  {");
			json_str(stdout, "server");
			printf(": ");
			json_str(stdout, servers[i].c.name);
			if (key != NULL)
				printf(", \"%s\": %lld", key,
				    view_number(r[i].value));
			else
				printf(", \"ok\": true");
			printf("}");
		}
		reply_free(&r[i]);
	}
	if (json && !raw)
		printf("%s]\n", nservers > 0 ? "\n" : "");
	else if (!raw && key != NULL && oks > 0)
		printf("%s %lld\n", key, total);
	free(r);
}

/* gm-admin watch: redraw the status table every interval seconds. */
static void
do_watch(double interval, long long count)
{
	struct sigaction sa;
	char		 tbuf[64];
	time_t		 now;
	int		 tty = isatty(STDOUT_FILENO);
	long long	 n;
	size_t		 i;
	int64_t		 until;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (n = 0; !interrupted && (count == 0 || n < count); n++) {
		if (n > 0) {
			until = client_now() + (int64_t)(interval * 1000);
			while (!interrupted && client_remaining(until) > 0)
				poll(NULL, 0, client_remaining(until));
			if (interrupted)
				break;
			/* A server that went away is tried again. */
			for (i = 0; i < nservers; i++)
				servers[i].dead = 0;
		}
		if (tty) {
			now = time(NULL);
			strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M:%S",
			    localtime(&now));
			printf("\033[H\033[2J");
			printf("every %gs: gm-admin status%*s\n\n", interval,
			    30, tbuf);
		} else if (n > 0)
			printf("\n");
		status_reset();
		do_list(A_STATUS, NULL);
		fflush(stdout);
	}
}

enum {
	OPT_JSON = 256,
	OPT_RAW,
	OPT_SUBCOMMANDS,
	OPT_G_STATUS,
	OPT_G_WORKERS,
	OPT_G_JOBS,
	OPT_G_UNIQUE,
	OPT_G_PRIO,
	OPT_G_VERSION,
	OPT_G_VERBOSE,
	OPT_G_GETPID,
	OPT_G_CREATE,
	OPT_G_DROP,
	OPT_G_CANCEL
};

static const struct option longopts[] = {
	{ "count",		required_argument,	NULL,	'c' },
	{ "help",		no_argument,		NULL,	'H' },
	{ "json",		no_argument,		NULL,	OPT_JSON },
	{ "raw",		no_argument,		NULL,	OPT_RAW },
	{ "subcommands",	no_argument,		NULL,	OPT_SUBCOMMANDS },
	{ "timeout",		required_argument,	NULL,	't' },
	/* gearadmin's options. */
	{ "status",		no_argument,		NULL,	OPT_G_STATUS },
	{ "workers",		no_argument,		NULL,	OPT_G_WORKERS },
	{ "show-jobs",		no_argument,		NULL,	OPT_G_JOBS },
	{ "show-unique-jobs",	no_argument,		NULL,	OPT_G_UNIQUE },
	{ "priority-status",	no_argument,		NULL,	OPT_G_PRIO },
	{ "server-version",	no_argument,		NULL,	OPT_G_VERSION },
	{ "server-verbose",	no_argument,		NULL,	OPT_G_VERBOSE },
	{ "getpid",		no_argument,		NULL,	OPT_G_GETPID },
	{ "create-function",	required_argument,	NULL,	OPT_G_CREATE },
	{ "drop-function",	required_argument,	NULL,	OPT_G_DROP },
	{ "cancel-job",		required_argument,	NULL,	OPT_G_CANCEL },
	TOOL_LONGOPTS,
	{ NULL,			0,			NULL,	0 }
};

/* One gearadmin option, run the way gearadmin printed it. */
struct gop {
	int		 opt;
	const char	*arg;
};

/* Run one gearadmin option and print its answer as gearadmin did. */
static void
gearadmin_op(const struct gop *g)
{
	static const struct {
		int		 opt;
		const char	*cmd;
		enum kind	 kind;
	} map[] = {
		{ OPT_G_STATUS,		"status",		K_LIST },
		{ OPT_G_WORKERS,	"workers",		K_LIST },
		{ OPT_G_JOBS,		"show jobs",		K_LIST },
		{ OPT_G_UNIQUE,		"show unique jobs",	K_LIST },
		{ OPT_G_PRIO,		"prioritystatus",	K_LIST },
		{ OPT_G_VERSION,	"version",		K_VALUE },
		{ OPT_G_VERBOSE,	"verbose",		K_VALUE },
		{ OPT_G_GETPID,		"getpid",		K_VALUE },
		{ OPT_G_CREATE,		"create function",	K_OK },
		{ OPT_G_DROP,		"drop function",	K_OK },
		{ OPT_G_CANCEL,		"cancel job",		K_OK },
	};
	struct reply	 r;
	char		*cmd;
	size_t		 i, k;

	for (k = 0; k < nitems(map) && map[k].opt != g->opt; k++)
		;
	if (g->arg != NULL)
		xasprintf(&cmd, "%s %s", map[k].cmd, g->arg);
	else
		cmd = xstrdup(map[k].cmd);
	for (i = 0; i < nservers; i++) {
		ask(&servers[i], cmd, map[k].kind, &r);
		if (r.st == ST_FAILED)
			report_err(&servers[i], &r);
		else if (r.st == ST_OK) {
			if (map[k].kind == K_LIST || raw)
				fwrite(r.raw, 1, r.rawlen, stdout);
			else
				printf("%s\n", r.value);
		}
		reply_free(&r);
	}
	free(cmd);
}

/* Parse the options and the subcommand, then ask the servers. */
int
main(int argc, char *argv[])
{
	struct parse_result	 res;
	struct gop		*gops = NULL;
	struct gm_server	*srvs = NULL;
	const char		*errstr, *cause;
	char			*cmd;
	size_t			 ngops = 0, i;
	struct tool_opts	 tool;
	long long		 count = 0;
	int			 ch;

	tool_init(&tool, ST_USAGE);
	/* Running out of memory is a local error, not a server's answer. */
	log_set_fatal_status(ST_LOCAL);

	if (argc == 2 && strcmp(argv[1], "-h") == 0)
		usage(0);
	while ((ch = tool_getopt(&tool, argc, argv, "c:Hh:p:St:V",
	    longopts)) != -1) {
		switch (ch) {
		case 'c':
			count = strtonum(optarg, 1, 1000000000, &errstr);
			if (errstr != NULL)
				errx(ST_USAGE, "-c %s: %s", optarg, errstr);
			break;
		case 'H':
			usage(0);
		case 't':
			timeout_ms = strtonum(optarg, 1, 86400000, &errstr);
			if (errstr != NULL)
				errx(ST_USAGE, "-t %s: %s", optarg, errstr);
			break;
		case OPT_SUBCOMMANDS:
			for (i = 0; parse_subcommand(i) != NULL; i++)
				printf("%s\n", parse_subcommand(i));
			exit(0);
		case OPT_JSON:
			json = 1;
			break;
		case OPT_RAW:
			raw = 1;
			break;
		case OPT_G_STATUS:
		case OPT_G_WORKERS:
		case OPT_G_JOBS:
		case OPT_G_UNIQUE:
		case OPT_G_PRIO:
		case OPT_G_VERSION:
		case OPT_G_VERBOSE:
		case OPT_G_GETPID:
		case OPT_G_CREATE:
		case OPT_G_DROP:
		case OPT_G_CANCEL:
			if (optarg != NULL && (*optarg == '\0' ||
			    strpbrk(optarg, " \t\r\n") != NULL))
				errx(ST_USAGE, "%s: names cannot be empty or "
				    "contain blanks", optarg);
			gops = xreallocarray(gops, ngops + 1, sizeof(*gops));
			gops[ngops].opt = ch;
			gops[ngops++].arg = optarg;
			break;
		default:
			usage(ST_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (json && raw)
		errx(ST_USAGE, "--json and --raw cannot be used together");
	if (ngops > 0 && argc > 0)
		errx(ST_USAGE, "gearadmin options and subcommands cannot be "
		    "mixed");
	if (ngops == 0) {
		if (argc == 0) {
			warnx("no subcommand given");
			usage(ST_USAGE);
		}
		if (parse(argc, argv, &res, &cause) == -1) {
			if (res.bad != NULL)
				warnx("%s: %s", cause, res.bad);
			else
				warnx("%s", cause);
			usage(ST_USAGE);
		}
		if (count > 0 && res.action != A_WATCH)
			errx(ST_USAGE, "-c applies to watch only");
	}

	/* Servers: -h, else GEARMAN_SERVER, else localhost. */
	client_tool_servers(&tool, &srvs, &nservers);
	servers = xcalloc(nservers, sizeof(*servers));
	for (i = 0; i < nservers; i++) {
		client_init(&servers[i].c, &srvs[i]);
	}
	free(srvs);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < ngops; i++)
		gearadmin_op(&gops[i]);
	free(gops);
	if (ngops > 0)
		goto done;

	switch (res.action) {
	case A_STATUS:
	case A_PRIO:
	case A_WORKERS:
	case A_MEMBERS:
	case A_JOBS:
	case A_UNIQUE:
	case A_JOURNAL:
	case A_STATS:
		do_list(res.action, res.func);
		break;
	case A_VERSION:
		do_value("version", "VERSION", "version");
		break;
	case A_GETPID:
		do_value("getpid", "PID", "pid");
		break;
	case A_VERBOSE:
		do_value("verbose", "VERBOSE", "verbose");
		break;
	case A_MAXQUEUE:
		xasprintf(&cmd, "maxqueue %s%s%s%s%s%s%s", res.func,
		    res.nnums > 0 ? " " : "", res.nnums > 0 ? res.nums[0] : "",
		    res.nnums > 1 ? " " : "", res.nnums > 1 ? res.nums[1] : "",
		    res.nnums > 2 ? " " : "", res.nnums > 2 ? res.nums[2] : "");
		do_ok(cmd, 0, NULL);
		free(cmd);
		break;
	case A_CANCEL:
		xasprintf(&cmd, "cancel job %s", res.handle);
		do_ok(cmd, 1, NULL);
		free(cmd);
		break;
	case A_CREATE:
	case A_DROP:
		xasprintf(&cmd, "%s function %s", res.action == A_CREATE ?
		    "create" : "drop", res.func);
		do_ok(cmd, 0, res.action == A_DROP ? res.func : NULL);
		free(cmd);
		break;
	case A_SHUTDOWN:
		do_ok("shutdown", 0, NULL);
		break;
	case A_SHUTDOWN_GRACEFUL:
		do_ok("shutdown graceful", 0, NULL);
		break;
	case A_WATCH:
		do_watch(res.interval, count);
		break;
	case A_FAILED:
	case A_FAILED_STATS:
	case A_RETRYING:
		do_gm_list(res.action, res.func);
		break;
	case A_RETRIES:
		if (res.nnums == 0) {
			do_gm_list(res.action, res.func);
			break;
		}
		xasprintf(&cmd, "retries %s %s%s%s%s%s", res.func, res.nums[0],
		    res.nnums > 1 ? " " : "", res.nnums > 1 ? res.nums[1] : "",
		    res.nnums > 2 ? " " : "", res.nnums > 2 ? res.nums[2] : "");
		do_count(cmd, NULL, 0);
		free(cmd);
		break;
	case A_RETRIES_DEFAULT:
		xasprintf(&cmd, "retries %s default", res.func);
		do_count(cmd, NULL, 0);
		free(cmd);
		break;
	case A_FAILED_SHOW:
	case A_FAILED_PAYLOAD:
		do_failed_show(res.handle, res.action == A_FAILED_PAYLOAD);
		break;
	case A_RETRY:
	case A_PURGE:
		if (res.handle != NULL)
			xasprintf(&cmd, "failed %s job %s", res.action ==
			    A_RETRY ? "retry" : "purge", res.handle);
		else if (res.func != NULL)
			xasprintf(&cmd, "failed %s function %s", res.action ==
			    A_RETRY ? "retry" : "purge", res.func);
		else
			xasprintf(&cmd, "failed %s all", res.action ==
			    A_RETRY ? "retry" : "purge");
		do_count(cmd, res.action == A_RETRY ? "retried" : "purged",
		    res.handle != NULL);
		free(cmd);
		break;
	case A_NONE:
		usage(ST_USAGE);
	}
done:
	fflush(stdout);
	if (ferror(stdout))
		errx(ST_LOCAL, "cannot write the output");
	for (i = 0; i < nservers; i++)
		client_free(&servers[i].c);
	free(servers);
	return status_worst();
}
