/* Public domain. See README.md for the licence of this project. */
/*
 * The admin text protocol (gearmand 1.1.20's commands, byte for byte,
 * plus shutdown, journal, stats, and the failed list and retries:
 * failed, retries, retrying).  It only reads state through accessors.
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
static void	a_members(struct conn *, char **, int);
static void	a_getpid(struct conn *, char **, int);
static void	a_verbose(struct conn *, char **, int);
static void	a_version(struct conn *, char **, int);
static void	a_shutdown(struct conn *, char **, int);
static void	a_journal(struct conn *, char **, int);
static void	a_counters(struct conn *, char **, int);
static void	a_stats(struct conn *, char **, int);
static void	a_failed(struct conn *, char **, int);
static void	a_retries(struct conn *, char **, int);
static void	a_retrying(struct conn *, char **, int);
static void	a_fate(struct conn *, char **, int);
static void	unknown(struct conn *, const char *);
static int	admin_trusted(struct conn *);
static int	trusted(struct conn *, const char *);

static const struct cmd cmds[] = {
	{ "cancel",		a_cancel,		1 },
	{ "counters",		a_counters,		0 },
	{ "create",		a_create,		1 },
	{ "drop",		a_drop,			1 },
	{ "failed",		a_failed,		0 },
	{ "fate",		a_fate,			0 },
	{ "getpid",		a_getpid,		0 },
	{ "journal",		a_journal,		0 },
	{ "maxqueue",		a_maxqueue,		1 },
	{ "members",		a_members,		0 },
	{ "prioritystatus",	a_prioritystatus,	0 },
	{ "retries",		a_retries,		0 },
	{ "retrying",		a_retrying,		0 },
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
		    !trusted(c, cmds[i].name))
			return;
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

/*
 * Whether c may run what (a command, or the part of one that changes
 * state); if not, refuse it with a log line and NOT_PERMITTED.
 */
static int
trusted(struct conn *c, const char *what)
{
	if (admin_trusted(c))
		return 1;
	log_rate(NULL, "fd %d (%s): admin %s refused: not a trusted peer",
	    c->c_fd, c->c_peer, what);
	conn_printf(c, "ERR NOT_PERMITTED %s+needs+a+trusted+peer\r\n", what);
	return 0;
}

/*
 * Write bytes escaped (printable ASCII as it is, the rest and backslash
 * as \xNN): lossless, and never a line end or a tab.
 */
static void
put_escaped(struct conn *c, const void *p, size_t len)
{
	const char	*s = p;
	char		 buf[512 * 4 + 16];
	size_t		 n;

	while (len > 0) {
		n = len > 512 ? 512 : len;
		conn_printf(c, "%s", log_escape(s, n, buf, sizeof(buf)));
		s += n;
		len -= n;
	}
}

static const char *const prio_names[] = { "high", "normal", "low" };

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
	/* A broadcast job names its member in a fifth field (gm). */
	conn_printf(c, "%s\t%u\t0\t%d%s%s\n", h, j->j_attempts,
	    (j->j_flags & JOB_JOURNAL) ? 1 : 0, j->j_target != NULL ? "\t" : "",
	    j->j_target != NULL ? j->j_target : "");
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

/* members [FUNC]: broadcast members, of FUNC or of all (bcast.c). */
static void
a_members(struct conn *c, char **tok, int n)
{
	if (n > 2) {
		conn_printf(c, "ERR INVALID_ARGUMENTS An+incomplete+set+of+"
		    "arguments+was+sent+to+this+command+members\r\n");
		return;
	}
	bcast_members(c, n == 2 ? tok[1] : NULL);
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

/*
 * One failed job: handle, function, unique, priority, tries, first and
 * last failure (ms since the epoch), payload bytes, error (escaped).
 */
static void
failed_line(const struct failed_info *fi, void *arg)
{
	struct conn	*c = arg;
	char		 h[GM_HANDLE_SIZE];

	queue_handle_num(fi->num, h, sizeof(h));
	conn_printf(c, "%s\t%.*s\t", h, (int)fi->job.func_len, fi->job.func);
	put_escaped(c, fi->job.unique, fi->job.unique_len);
	conn_printf(c, "\t%s\t%u\t%" PRId64 "\t%" PRId64 "\t%zu\t",
	    prio_names[fi->job.prio], fi->tries, fi->first, fi->last,
	    fi->job.data_len);
	put_escaped(c, fi->error, fi->error_len);
	conn_printf(c, "\n");
}

/* failed show HANDLE: one failed job, key TAB value, its payload last. */
static void
failed_show(struct conn *c, const char *handle)
{
	struct failed_info	 fi;
	uint64_t		 num;

	if (queue_handle_parse(handle, strlen(handle), &num) == -1 ||
	    failed_get(num, &fi) == -1) {
		conn_printf(c, "ERR UNKNOWN_JOB\r\n");
		return;
	}
	conn_printf(c, "handle\t%s\n", handle);
	conn_printf(c, "function\t%.*s\n", (int)fi.job.func_len, fi.job.func);
	conn_printf(c, "unique\t");
	put_escaped(c, fi.job.unique, fi.job.unique_len);
	conn_printf(c, "\npriority\t%s\n", prio_names[fi.job.prio]);
	conn_printf(c, "tries\t%u\n", fi.tries);
	conn_printf(c, "first_failure\t%" PRId64 "\n", fi.first);
	conn_printf(c, "last_failure\t%" PRId64 "\n", fi.last);
	conn_printf(c, "error\t");
	put_escaped(c, fi.error, fi.error_len);
	conn_printf(c, "\nbytes\t%zu\n", fi.job.data_len);
	conn_printf(c, "data\t");
	put_escaped(c, fi.job.data, fi.job.data_len);
	conn_printf(c, "\n.\n");
}

/* A key and its count, one line of a key TAB value list. */
struct figure {
	const char	*key;
	uint64_t	 value;
};

/* Print key TAB value lines and the list's closing dot. */
static void
put_figures(struct conn *c, const struct figure *fg, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		conn_printf(c, "%s\t%" PRIu64 "\n", fg[i].key, fg[i].value);
	conn_printf(c, ".\n");
}

/* failed stats: the list's figures, key TAB value. */
static void
failed_figures(struct conn *c)
{
	struct failed_stats	 st;

	failed_stats(&st);
	const struct figure fg[] = {
		{ "count", st.count }, { "bytes", st.bytes },
		{ "max", st.max }, { "max_bytes", st.max_bytes },
		{ "added", st.added }, { "evicted", st.evicted },
		{ "retried", st.retried }, { "purged", st.purged },
		{ "retrying", st.retrying },
	};
	put_figures(c, fg, nitems(fg));
}

/*
 * failed retry|purge job HANDLE | function NAME | all: "OK n" with the
 * number of jobs retried or purged, or ERR UNKNOWN_JOB for a handle.
 */
static void
failed_act(struct conn *c, char **tok, int n)
{
	int		 retry = strcasecmp(tok[1], "retry") == 0;
	uint64_t	 num, done;

	if (!trusted(c, retry ? "retry" : "purge"))
		return;
	/* A retry also runs jobs that wait for their next try now. */
	if (n == 4 && strcasecmp(tok[2], "job") == 0) {
		if (queue_handle_parse(tok[3], strlen(tok[3]), &num) == -1 ||
		    ((retry ? failed_retry(num) : failed_purge(num)) == -1 &&
		    (!retry || queue_retry_now(tok[3], strlen(tok[3])) == -1))) {
			conn_printf(c, "ERR UNKNOWN_JOB\r\n");
			return;
		}
		done = 1;
	} else if (n == 4 && strcasecmp(tok[2], "function") == 0)
		done = retry ? failed_retry_func(tok[3], strlen(tok[3])) +
		    queue_retry_now_func(tok[3], strlen(tok[3])) :
		    failed_purge_func(tok[3], strlen(tok[3]));
	else if (n == 3 && strcasecmp(tok[2], "all") == 0)
		done = retry ? failed_retry_func(NULL, 0) +
		    queue_retry_now_func(NULL, 0) :
		    failed_purge_func(NULL, 0);
	else {
		conn_printf(c, "ERR INVALID_ARGUMENTS usage:+failed+%s+"
		    "job+HANDLE+|+function+NAME+|+all\r\n", tok[1]);
		return;
	}
	conn_printf(c, "OK %" PRIu64 "\n", done);
}

/*
 * failed [list [FUNCTION]] | show HANDLE | stats | retry ... | purge ...
 * (gm extension): the failed list.
 */
static void
a_failed(struct conn *c, char **tok, int n)
{
	if (n == 1 || (strcasecmp(tok[1], "list") == 0 && n <= 3)) {
		failed_foreach(n == 3 ? tok[2] : NULL, n == 3 ?
		    strlen(tok[2]) : 0, failed_line, c);
		conn_printf(c, ".\n");
	} else if (n == 3 && strcasecmp(tok[1], "show") == 0)
		failed_show(c, tok[2]);
	else if (n == 2 && strcasecmp(tok[1], "stats") == 0)
		failed_figures(c);
	else if (strcasecmp(tok[1], "retry") == 0 ||
	    strcasecmp(tok[1], "purge") == 0)
		failed_act(c, tok, n);
	else
		conn_printf(c, "ERR INVALID_ARGUMENTS usage:+failed+[list+"
		    "[FUNCTION]+|+show+HANDLE+|+stats+|+retry+...+|+"
		    "purge+...]\r\n");
}

/* A retry policy line: scope, function, retries, backoff and max ms. */
static void
policy_line(struct conn *c, const char *scope, const struct func *f,
    const struct retry_policy *rp)
{
	conn_printf(c, "%s\t", scope);
	if (f != NULL)
		put_name(c, f);
	conn_printf(c, "\t%u\t%u\t%u\n", rp->rp_retries, rp->rp_backoff,
	    rp->rp_max);
}

static void
policy_one(struct func *f, void *arg)
{
	struct retry_policy	 rp;

	func_retry(f, &rp);
	policy_line(arg, f->f_retry_set ? "function" : "default", f, &rp);
}

/* A retry number or delay: 0 and *v set, or -1. */
static int
policy_num(const char *s, uint32_t min, uint32_t max, uint32_t *v)
{
	const char	*errstr;

	*v = (uint32_t)strtonum(s, min, max, &errstr);
	return errstr == NULL ? 0 : -1;
}

/*
 * retries: the server default then every function's policy;
 * retries FUNCTION N [BACKOFF_MS [MAX_MS]]: give a function its own;
 * retries FUNCTION default: back to the server's (gm extension).
 */
static void
a_retries(struct conn *c, char **tok, int n)
{
	struct retry_policy	 rp;
	struct func		*f;

	if (n == 1) {
		policy_line(c, "server", NULL, &conf.retry);
		func_foreach(policy_one, c);
		conn_printf(c, ".\n");
		return;
	}
	if (n == 2) {
		conn_printf(c, "ERR INVALID_ARGUMENTS usage:+retries+FUNCTION+"
		    "N+[BACKOFF_MS+[MAX_MS]]+|+retries+FUNCTION+default\r\n");
		return;
	}
	if (!trusted(c, "retries"))
		return;
	if (n == 3 && strcasecmp(tok[2], "default") == 0) {
		if ((f = func_get(tok[1], strlen(tok[1]), 0)) != NULL)
			func_set_retry(f, NULL);
		conn_printf(c, "OK\r\n");
		return;
	}
	rp = conf.retry;
	if (policy_num(tok[2], 0, 65535, &rp.rp_retries) == -1 ||
	    (n > 3 && policy_num(tok[3], 1, 86400000, &rp.rp_backoff) == -1) ||
	    (n > 4 && policy_num(tok[4], 1, 86400000, &rp.rp_max) == -1)) {
		conn_printf(c, "ERR INVALID_ARGUMENTS retries+0-65535,+"
		    "delays+1-86400000+ms\r\n");
		return;
	}
	if (n == 4 && rp.rp_max < rp.rp_backoff)
		rp.rp_max = rp.rp_backoff;
	if (rp.rp_max < rp.rp_backoff) {
		conn_printf(c, "ERR INVALID_ARGUMENTS the+maximum+delay+is+"
		    "below+the+backoff\r\n");
		return;
	}
	func_set_retry(func_get(tok[1], strlen(tok[1]), 1), &rp);
	conn_printf(c, "OK\r\n");
}

struct retrying_arg {
	struct conn	*c;
	const char	*func;
};

/* handle, function, tries, retries, due (ms since the epoch), error. */
static void
retrying_line(struct job *j, void *arg)
{
	struct retrying_arg	*ra = arg;
	struct retry_policy	 rp;
	const char		*err = "";
	size_t			 elen = 0;
	int64_t			 first;
	char			 h[GM_HANDLE_SIZE];

	if (!(j->j_flags & JOB_RETRY) || (ra->func != NULL &&
	    strcmp(ra->func, j->j_func->f_name) != 0))
		return;
	func_retry(j->j_func, &rp);
	failed_note_get(j->j_num, &first, &err, &elen);
	queue_handle(j, h, sizeof(h));
	conn_printf(ra->c, "%s\t", h);
	put_name(ra->c, j->j_func);
	conn_printf(ra->c, "\t%u\t%u\t%" PRId64 "\t", j->j_tries,
	    rp.rp_retries, j->j_key);
	put_escaped(ra->c, err, elen);
	conn_printf(ra->c, "\n");
}

/* retrying [FUNCTION] (gm extension): jobs waiting for a retry. */
static void
a_retrying(struct conn *c, char **tok, int n)
{
	struct retrying_arg	 ra = { c, n > 1 ? tok[1] : NULL };

	queue_foreach_job(retrying_line, &ra);
	conn_printf(c, ".\n");
}

/*
 * fate HANDLE (gm extension): where a job is, or how it ended, on one
 * line: "OK queued", "OK scheduled DUE", "OK running N D", "OK retrying
 * TRIES RETRIES DUE ERROR", "OK failed TRIES LAST ERROR" (in the failed
 * list), or "OK done|failed|exception|cancelled|purged|evicted MS" for a
 * job that is gone (times: ms since the epoch; errors escaped).
 */
static void
a_fate(struct conn *c, char **tok, int n)
{
	static const char *const hows[] = {
		"done", "failed", "exception", "cancelled", "purged", "evicted"
	};
	struct retry_policy	 rp;
	struct failed_info	 fi;
	struct job		*j;
	const char		*err = "";
	size_t			 elen = 0;
	uint64_t		 num;
	int64_t			 ms;
	int			 how;

	if (n != 2) {
		conn_printf(c, "ERR INVALID_ARGUMENTS usage:+fate+HANDLE\r\n");
		return;
	}
	if (queue_handle_parse(tok[1], strlen(tok[1]), &num) == -1) {
		conn_printf(c, "ERR UNKNOWN_JOB\r\n");
		return;
	}
	if ((j = queue_find_handle(tok[1], strlen(tok[1]))) != NULL &&
	    !(j->j_flags & JOB_CANCELLED)) {
		if (j->j_state == JOB_RUNNING)
			conn_printf(c, "OK running %u %u\n", j->j_numerator,
			    j->j_denominator);
		else if (j->j_state == JOB_WAITING &&
		    (j->j_flags & JOB_RETRY)) {
			func_retry(j->j_func, &rp);
			failed_note_get(j->j_num, &ms, &err, &elen);
			conn_printf(c, "OK retrying %u %u %" PRId64 " ",
			    j->j_tries, rp.rp_retries, j->j_key);
			put_escaped(c, err, elen);
			conn_printf(c, "\n");
		} else if (j->j_state == JOB_WAITING)
			conn_printf(c, "OK scheduled %" PRId64 "\n", j->j_key);
		else
			conn_printf(c, "OK queued\n");
		return;
	}
	if (failed_get(num, &fi) == 0) {
		conn_printf(c, "OK failed %u %" PRId64 " ", fi.tries, fi.last);
		put_escaped(c, fi.error, fi.error_len);
		conn_printf(c, "\n");
		return;
	}
	if (ended_find(num, &how, &ms) == 0 && how >= 0 &&
	    (size_t)how < nitems(hows)) {
		conn_printf(c, "OK %s %" PRId64 "\n", hows[how], ms);
		return;
	}
	conn_printf(c, "ERR UNKNOWN_JOB\r\n");
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
	const struct figure fg[] = {
		{ "bytes", st.bytes }, { "live", st.live },
		{ "dead", st.dead }, { "flushes", st.flushes },
		{ "last_flush_us", st.last_flush_us },
		{ "peak_flush_us", st.peak_flush_us },
		{ "compactions", st.compactions },
		{ "write_errors", st.write_errors },
	};
	put_figures(c, fg, nitems(fg));
}

/*
 * counters (gm extension): how often a limit on peers applied, key TAB
 * value.
 */
static void
a_counters(struct conn *c, char **tok __unused, int n __unused)
{
	const struct figure fg[] = {
		{ "args_refused", counters.args_refused },
		{ "input_paused", counters.input_paused },
		{ "request_timeouts", counters.request_timeouts },
		{ "held_capped", counters.held_capped },
	};

	put_figures(c, fg, nitems(fg));
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
