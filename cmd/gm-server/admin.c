/* Public domain. See README.md for the licence of this project. */
/*
 * The admin text protocol (gearmand 1.1.20's commands, byte for byte,
 * plus shutdown, journal and stats).  It only reads state through accessors.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"
#include "lograte.h"
#include "journal.h"
#include "gm-server.h"

#define MAX_TOKENS	5

struct cmd {
	const char	*name;
	void		(*fn)(struct conn *, char **, int);
	int		 changes;	/* changes state: trusted peers only */
};

static void	a_status(struct conn *, char **, int);
static void	a_prioritystatus(struct conn *, char **, int);
static void	a_workers(struct conn *, char **, int);
static void	a_show(struct conn *, char **, int);
static void	a_cancel(struct conn *, char **, int);
static void	a_create(struct conn *, char **, int);
static void	a_drop(struct conn *, char **, int);
static void	a_maxqueue(struct conn *, char **, int);
static void	a_getpid(struct conn *, char **, int);
static void	a_verbose(struct conn *, char **, int);
static void	a_version(struct conn *, char **, int);
static void	a_shutdown(struct conn *, char **, int);
static void	a_journal(struct conn *, char **, int);
static void	a_counters(struct conn *, char **, int);
static void	a_stats(struct conn *, char **, int);
static void	unknown(struct conn *, const char *);
static int	admin_trusted(struct conn *);

static const struct cmd cmds[] = {
	{ "cancel",		a_cancel,		1 },
	{ "counters",		a_counters,		0 },
	{ "create",		a_create,		1 },
	{ "drop",		a_drop,			1 },
	{ "getpid",		a_getpid,		0 },
	{ "journal",		a_journal,		0 },
	{ "maxqueue",		a_maxqueue,		1 },
	{ "prioritystatus",	a_prioritystatus,	0 },
	{ "show",		a_show,			0 },
	{ "shutdown",		a_shutdown,		1 },
	{ "stats",		a_stats,		0 },
	{ "status",		a_status,		0 },
	{ "verbose",		a_verbose,		0 },
	{ "version",		a_version,		0 },
	{ "workers",		a_workers,		0 },
};

/*
 * Handle one line (without its line ending).  Words are separated by
 * spaces, runs collapse, a leading space makes an empty first word; more
 * than five words close the connection, as in gearmand.
 */
void
admin_line(struct conn *c, char *line, size_t len __unused)
{
	char	*tok[MAX_TOKENS + 1], *p = line;
	size_t	 i;
	int	 n = 0;

	for (;;) {
		if (n == MAX_TOKENS) {
			conn_fail(c, "admin command with more than %d words",
			    MAX_TOKENS);
			return;
		}
		tok[n++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		*p++ = '\0';
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
	}
	tok[n] = NULL;
	log_debug("%s: fd %d: %s", __func__, c->c_fd, tok[0]);
	for (i = 0; i < nitems(cmds); i++) {
		if (strcasecmp(tok[0], cmds[i].name) != 0)
			continue;
		if ((cmds[i].changes || conf.admin_reads) &&
		    !admin_trusted(c)) {
			log_rate(NULL, "fd %d (%s): admin %s refused: not a "
			    "trusted peer", c->c_fd, c->c_peer, cmds[i].name);
			conn_printf(c, "ERR NOT_PERMITTED %s+needs+a+trusted+"
			    "peer\r\n", cmds[i].name);
			return;
		}
		cmds[i].fn(c, tok, n);
		return;
	}
	unknown(c, tok[0]);
}

/*
 * Whether c may change state: loopback, the unix socket, a verified TLS
 * client certificate, an --admin-allow network; anyone with --admin-open.
 */
static int
admin_trusted(struct conn *c)
{
	return conf.admin_open || (c->c_flags & CONN_TRUSTED);
}

/* The reply to an unknown command: the word is glued on, as gearmand. */
static void
unknown(struct conn *c, const char *word)
{
	conn_printf(c, "ERR UNKNOWN_COMMAND Unknown+server+command%s\r\n",
	    word);
}

/* Write a function name (it may hold any byte). */
static void
put_name(struct conn *c, const struct func *f)
{
	conn_printf(c, "%.*s", (int)f->f_len, f->f_name);
}

static void
status_one(struct func *f, void *arg)
{
	struct conn	*c = arg;

	put_name(c, f);
	conn_printf(c, "\t%u\t%u\t%u\n", f->f_total, f->f_running,
	    f->f_nregs);
}

/* status: name TOTAL RUNNING WORKERS per function. */
static void
a_status(struct conn *c, char **tok __unused, int n __unused)
{
	func_foreach(status_one, c);
	conn_printf(c, ".\n");
}

static void
prio_one(struct func *f, void *arg)
{
	struct conn	*c = arg;

	put_name(c, f);
	conn_printf(c, "\t%u\t%u\t%u\t%u\n", f->f_queued[PRIO_HIGH],
	    f->f_queued[PRIO_NORMAL], f->f_queued[PRIO_LOW], f->f_nregs);
}

/* prioritystatus: queued jobs per priority, and workers. */
static void
a_prioritystatus(struct conn *c, char **tok __unused, int n __unused)
{
	func_foreach(prio_one, c);
	conn_printf(c, ".\n");
}

static void
worker_one(struct conn *w, void *arg)
{
	struct conn	*c = arg;
	struct reg	*r;

	conn_printf(c, "%d %s %s :", w->c_fd, w->c_peer, conn_client_id(w));
	TAILQ_FOREACH(r, &w->c_regs, r_wentry) {
		conn_printf(c, " ");
		put_name(c, r->r_func);
	}
	conn_printf(c, "\n");
}

/* workers: every connection, its client id and functions. */
static void
a_workers(struct conn *c, char **tok __unused, int n __unused)
{
	conn_foreach(worker_one, c);
	conn_printf(c, ".\n");
}

static void
job_line(struct job *j, void *arg)
{
	struct conn	*c = arg;
	char		 h[GM_HANDLE_SIZE];

	queue_handle(j, h, sizeof(h));
	conn_printf(c, "%s\t%u\t0\t%d\n", h, j->j_attempts,
	    (j->j_flags & JOB_JOURNAL) ? 1 : 0);
}

static void
unique_line(struct job *j, void *arg)
{
	struct conn	*c = arg;

	conn_printf(c, "%.*s\n", (int)j->j_ulen, job_unique(j));
}

/* show jobs, show unique jobs. */
static void
a_show(struct conn *c, char **tok, int n)
{
	if (n == 1) {
		unknown(c, tok[0]);
		return;
	}
	if (n == 2 && strcasecmp(tok[1], "jobs") == 0) {
		queue_foreach_job(job_line, c);
		conn_printf(c, ".\n");
	} else if (n == 3 && strcasecmp(tok[1], "unique") == 0 &&
	    strcasecmp(tok[2], "jobs") == 0) {
		queue_foreach_job(unique_line, c);
		conn_printf(c, ".\n");
	} else
		conn_printf(c, "ERR UNKNOWN_SHOW_ARGUMENTS\r\n");
}

/* cancel job HANDLE. */
static void
a_cancel(struct conn *c, char **tok, int n)
{
	if (n < 3) {
		unknown(c, tok[0]);
		return;
	}
	if (n > 3 || strcasecmp(tok[1], "job") != 0) {
		conn_printf(c, "ERR UNKNOWN_ERROR\r\n");
		return;
	}
	if (queue_cancel(tok[2], strlen(tok[2])) == -1)
		conn_printf(c, "ERR UNKNOWN_JOB\r\n");
	else
		conn_printf(c, "OK\r\n");
}

/* create function NAME (the whole name, whatever the line ending). */
static void
a_create(struct conn *c, char **tok, int n)
{
	if (n != 3 || strcasecmp(tok[1], "function") != 0) {
		conn_printf(c, "ERR INVALID_ARGUMENTS An+incomplete+set+of+"
		    "arguments+was+sent+to+this+command+create\r\n");
		return;
	}
	func_get(tok[2], strlen(tok[2]), 1);
	conn_printf(c, "OK\r\n");
}

/* drop function NAME: refused while it has workers or jobs. */
static void
a_drop(struct conn *c, char **tok, int n)
{
	struct func	*f;

	if (n != 3 || strcasecmp(tok[1], "function") != 0) {
		conn_printf(c, "ERR INVALID_ARGUMENTS An+incomplete+set+of+"
		    "arguments+was+sent+to+this+command+drop\r\n");
		return;
	}
	if ((f = func_find_ci(tok[2], strlen(tok[2]))) == NULL)
		conn_printf(c, "ERR function not found\r\n");
	else if (func_drop(f) == -1)
		conn_printf(c, "ERR there are still connected workers or "
		    "executing clients\r\n");
	else
		conn_printf(c, "OK\r\n");
}

/* A maxqueue number, read as gearmand's atoi does: junk or < 0 is 0. */
static uint32_t
queue_limit(const char *s)
{
	struct gm_arg	 a = gm_str(s);
	int64_t		 v = proto_number(&a, UINT32_MAX);

	return v < 0 ? 0 : (uint32_t)v;
}

/* maxqueue FUNC [N | HIGH NORMAL [LOW]]. */
static void
a_maxqueue(struct conn *c, char **tok, int n)
{
	struct func	*f;
	uint32_t	 v[PRIO_COUNT] = { 0, 0, 0 };
	int		 i;

	if (n < 2) {
		conn_printf(c, "ERR INVALID_ARGUMENTS An+incomplete+set+of+"
		    "arguments+was+sent+to+this+command+maxqueue\r\n");
		return;
	}
	if (n == 3)
		v[0] = v[1] = v[2] = queue_limit(tok[2]);
	else
		for (i = 2; i < n && i - 2 < PRIO_COUNT; i++)
			v[i - 2] = queue_limit(tok[i]);
	if ((f = func_get(tok[1], strlen(tok[1]), 0)) != NULL)
		func_set_maxq(f, v);
	conn_printf(c, "OK\r\n");
}

static void
a_getpid(struct conn *c, char **tok __unused, int n __unused)
{
	conn_printf(c, "OK %ld\n", (long)getpid());
}

static void
a_verbose(struct conn *c, char **tok __unused, int n __unused)
{
	conn_printf(c, "OK %s\n", server_verbose_name());
}

static void
a_version(struct conn *c, char **tok __unused, int n __unused)
{
	conn_printf(c, "OK %s\n", GM_VERSION);
}

/* shutdown [graceful] (gm extension, gearmand 0.x's); trusted peers only. */
static void
a_shutdown(struct conn *c, char **tok, int n)
{
	int	 graceful = 0;

	if (n > 2 || (n == 2 && strcasecmp(tok[1], "graceful") != 0)) {
		unknown(c, tok[0]);
		return;
	}
	graceful = n == 2;
	log_info("shutdown%s requested by %s", graceful ? " graceful" : "",
	    c->c_peer);
	conn_printf(c, "OK\r\n");
	server_shutdown(graceful);
}

/* journal (gm extension): the journal's figures, key TAB value. */
static void
a_journal(struct conn *c, char **tok __unused, int n __unused)
{
	struct journal_stats	 st;

	journal_stats(jnl, &st);
	conn_printf(c, "enabled\t%d\n", st.enabled);
	conn_printf(c, "dir\t%s\n", st.dir != NULL ? st.dir : "-");
	conn_printf(c, "sync\t%s\n", st.sync != NULL ? st.sync : "none");
	conn_printf(c, "bytes\t%" PRIu64 "\n", st.bytes);
	conn_printf(c, "live\t%" PRIu64 "\n", st.live);
	conn_printf(c, "dead\t%" PRIu64 "\n", st.dead);
	conn_printf(c, "flushes\t%" PRIu64 "\n", st.flushes);
	conn_printf(c, "last_flush_us\t%" PRIu64 "\n", st.last_flush_us);
	conn_printf(c, "peak_flush_us\t%" PRIu64 "\n", st.peak_flush_us);
	conn_printf(c, "compactions\t%" PRIu64 "\n", st.compactions);
	conn_printf(c, "write_errors\t%" PRIu64 "\n", st.write_errors);
	conn_printf(c, ".\n");
}

/*
 * counters (gm extension): how often a limit on peers applied, key TAB
 * value.
 */
static void
a_counters(struct conn *c, char **tok __unused, int n __unused)
{
	conn_printf(c, "args_refused\t%" PRIu64 "\n", counters.args_refused);
	conn_printf(c, "input_paused\t%" PRIu64 "\n", counters.input_paused);
	conn_printf(c, "request_timeouts\t%" PRIu64 "\n",
	    counters.request_timeouts);
	conn_printf(c, "held_capped\t%" PRIu64 "\n", counters.held_capped);
	conn_printf(c, ".\n");
}

static void
stats_one(struct func *f, void *arg)
{
	struct conn		*c = arg;
	const struct func_stats	*st = func_stats(f);
	int			 i;

	put_name(c, f);
	for (i = 0; i < FE_COUNT; i++)
		conn_printf(c, "\t%" PRIu64, st->fs_n[i]);
	conn_printf(c, "\n");
}

/*
 * stats (gm extension): per function the jobs submitted, completed,
 * failed, ended by an exception, retried and cancelled since start.
 */
static void
a_stats(struct conn *c, char **tok __unused, int n __unused)
{
	func_foreach(stats_one, c);
	conn_printf(c, ".\n");
}
