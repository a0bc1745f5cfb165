/* Public domain. See README.md for the licence of this project. */
/*
 * The views of a server's state shared by gm-admin and gm-server's HTTP
 * JSON: admin list lines to table rows, and a table to JSON.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "proto.h"
#include "view.h"
#include "xmalloc.h"

static const struct column c_status[] = {
	{ "FUNCTION", "function", 's' }, { "TOTAL", "total", 'n' },
	{ "QUEUED", "queued", 'n' }, { "RUNNING", "running", 'n' },
	{ "WORKERS", "workers", 'n' }
};
static const struct column c_prio[] = {
	{ "FUNCTION", "function", 's' }, { "HIGH", "high", 'n' },
	{ "NORMAL", "normal", 'n' }, { "LOW", "low", 'n' },
	{ "WORKERS", "workers", 'n' }
};
static const struct column c_workers[] = {
	{ "FD", "fd", 'n' }, { "ADDRESS", "address", 's' },
	{ "CLIENT-ID", "client_id", 's' }, { "FUNCTIONS", "functions", 'l' }
};
static const struct column c_members[] = {
	{ "MEMBER", "member", 's' }, { "FD", "fd", 'n' },
	{ "ADDRESS", "address", 's' }, { "FUNCTION", "function", 's' }
};
static const struct column c_jobs[] = {
	{ "HANDLE", "handle", 's' }, { "RETRIES", "retries", 'n' },
	{ "IGNORED", "ignored", 'n' }, { "PERSISTED", "persisted", 'n' },
	{ "TARGET", "target", 'o' }
};
static const struct column c_unique[] = {
	{ "UNIQUE", "unique", 's' }
};
static const struct column c_journal[] = {
	{ "KEY", "key", 's' }, { "VALUE", "value", 'v' }
};
static const struct column c_stats[] = {
	{ "FUNCTION", "function", 's' }, { "SUBMITTED", "submitted", 'n' },
	{ "COMPLETED", "completed", 'n' }, { "FAILED", "failed", 'n' },
	{ "EXCEPTIONS", "exceptions", 'n' }, { "RETRIED", "retried", 'n' },
	{ "CANCELLED", "cancelled", 'n' }
};

static const struct column c_failed[] = {
	{ "HANDLE", "handle", 's' }, { "FUNCTION", "function", 's' },
	{ "UNIQUE", "unique", 'e' }, { "PRIORITY", "priority", 's' },
	{ "TRIES", "tries", 'n' }, { "FIRST-FAILURE", "first_failure_ms", 't' },
	{ "LAST-FAILURE", "last_failure_ms", 't' }, { "BYTES", "bytes", 'n' },
	{ "ERROR", "error", 'E' }
};
static const struct column c_retrying[] = {
	{ "HANDLE", "handle", 's' }, { "FUNCTION", "function", 's' },
	{ "TRIES", "tries", 'n' }, { "RETRIES", "retries", 'n' },
	{ "NEXT-TRY", "next_try_ms", 't' }, { "LAST-ERROR", "error", 'E' }
};
static const struct column c_retries[] = {
	{ "POLICY", "policy", 's' }, { "FUNCTION", "function", 's' },
	{ "RETRIES", "retries", 'n' }, { "BACKOFF-MS", "backoff_ms", 'n' },
	{ "MAX-DELAY-MS", "max_delay_ms", 'n' }
};

const struct column view_server_column = { "SERVER", "server", 's' };

const struct view views[VIEW_COUNT] = {
	[VIEW_STATUS] =	 { "status", "status", c_status, nitems(c_status), 1 },
	[VIEW_PRIO] =	 { "priority-status", "prioritystatus", c_prio,
			   nitems(c_prio), 1 },
	[VIEW_WORKERS] = { "workers", "workers", c_workers,
			   nitems(c_workers) },
	[VIEW_MEMBERS] = { "members", "members", c_members,
			   nitems(c_members), 0, 1 },
	[VIEW_JOBS] =	 { "jobs", "show jobs", c_jobs, nitems(c_jobs) },
	[VIEW_UNIQUE] =	 { "unique-jobs", "show unique jobs", c_unique,
			   nitems(c_unique) },
	[VIEW_JOURNAL] = { "journal", "journal", c_journal,
			   nitems(c_journal) },
	[VIEW_STATS] =	 { "stats", "stats", c_stats, nitems(c_stats), 1 },
	[VIEW_FAILED] =	 { "failed", "failed", c_failed, nitems(c_failed) },
	[VIEW_RETRYING] = { "retrying", "retrying", c_retrying,
			   nitems(c_retrying) },
	[VIEW_RETRIES] = { "retries", "retries", c_retries,
			   nitems(c_retries) },
	[VIEW_FAILED_STATS] = { "failed-stats", "failed stats", c_journal,
			   nitems(c_journal) },
};

/* The view of a gm-admin word (or HTTP path), or NULL. */
const struct view *
view_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < VIEW_COUNT; i++)
		if (strcmp(views[i].name, name) == 0)
			return &views[i];
	return NULL;
}

/* Split a line on a separator into at most max fields. */
size_t
view_split(char *line, int sep, char **f, size_t max)
{
	size_t	 n = 0;
	char	*p;

	while (n < max - 1 && (p = strchr(line, sep)) != NULL) {
		*p = '\0';
		f[n++] = line;
		line = p + 1;
	}
	f[n++] = line;
	return n;
}

/*
 * Add the row of one admin list line (without its line end) from the
 * named server.  status gains a QUEUED column: total less running.
 */
void
view_add_line(const struct view *v, struct table *t, const char *server,
    const char *line)
{
	char		*f[16], *copy, *colon, buf[32];
	long long	 tot, run;
	size_t		 n;

	copy = xstrdup(line);
	memset(f, 0, sizeof(f));
	if (v == &views[VIEW_WORKERS]) {
		/* FD IP CLIENT-ID :[ FUNC]* (the id may hold blanks) */
		colon = strstr(copy, " :");
		n = view_split(copy, ' ', f, 3);
		if (colon != NULL && n == 3) {
			*colon = '\0';
			f[3] = colon + 2;
			while (*f[3] == ' ')
				f[3]++;
		}
	} else if (v == &views[VIEW_STATUS]) {
		n = view_split(copy, '\t', f, 4);
		if (n == 4) {
			f[4] = f[3];
			f[3] = f[2];
			tot = view_number(f[1]);
			run = view_number(f[2]);
			snprintf(buf, sizeof(buf), "%lld",
			    tot > run ? tot - run : 0);
			f[2] = buf;
		}
	} else if (v == &views[VIEW_UNIQUE])
		f[0] = copy;
	else
		view_split(copy, '\t', f, v->ncols < nitems(f) ? v->ncols :
		    nitems(f));
	table_add(t, server, f);
	free(copy);
}

/*
 * A count in a server's reply, as the wire's other numbers are read
 * (proto_number): junk or < 0 is 0, and sums of them cannot overflow.
 */
long long
view_number(const char *s)
{
	struct gm_arg	 a = gm_str(s);
	int64_t		 n = proto_number(&a, UINT32_MAX);

	return n < 0 ? 0 : n;
}

/* Start an empty table with the given columns. */
void
table_init(struct table *t, const struct column *cols, size_t ncols,
    int withserver)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->ncols = ncols;
	t->withserver = withserver;
}

/* Add a row: the server's name (or NULL) and ncols fields, copied. */
void
table_add(struct table *t, const char *server, char **f)
{
	char	**row;
	size_t	 i;

	row = xcalloc(t->ncols + 1, sizeof(*row));
	row[0] = xstrdup(server != NULL ? server : "");
	for (i = 0; i < t->ncols; i++)
		row[i + 1] = xstrdup(f[i] != NULL ? f[i] : "");
	t->rows = xreallocarray(t->rows, t->nrows + 1, sizeof(*t->rows));
	t->rows[t->nrows++] = row;
}

/* Release the rows of a table. */
void
table_free(struct table *t)
{
	size_t	 i, k;

	for (i = 0; i < t->nrows; i++) {
		for (k = 0; k <= t->ncols; k++)
			free(t->rows[i][k]);
		free(t->rows[i]);
	}
	free(t->rows);
	t->rows = NULL;
	t->nrows = 0;
}

struct sortrow {
	char	**row;
	size_t	  pos;
};

static int
sortrow_cmp(const void *a, const void *b)
{
	const struct sortrow	*ra = a, *rb = b;
	int			 c;

	if ((c = strcmp(ra->row[1], rb->row[1])) != 0)
		return c;
	return ra->pos < rb->pos ? -1 : ra->pos > rb->pos;
}

/*
 * Order rows by their first column; rows that tie keep their order (the
 * servers' order, as they were added).
 */
void
table_sort(struct table *t)
{
	struct sortrow	*s;
	size_t		 i;

	if (t->nrows < 2)
		return;
	s = xcalloc(t->nrows, sizeof(*s));
	for (i = 0; i < t->nrows; i++) {
		s[i].row = t->rows[i];
		s[i].pos = i;
	}
	qsort(s, t->nrows, sizeof(*s), sortrow_cmp);
	for (i = 0; i < t->nrows; i++)
		t->rows[i] = s[i].row;
	free(s);
}

/* Print a JSON string. */
void
json_str(FILE *f, const char *s)
{
	const unsigned char	*p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* Print n bytes as a JSON string (controls and quotes escaped). */
void
json_strn(FILE *f, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(f, "\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			fprintf(f, "\\u%04x", p[i]);
		else
			fputc(p[i], f);
	}
	fputc('"', f);
}

/* The value of a hex digit, or -1. */
int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Undo gm-server's escaping (\xNN for a byte, other bytes as they are)
 * into buf, which holds at least strlen(s) bytes; returns the length.
 */
size_t
unescape(const char *s, char *buf)
{
	size_t	 n = 0;
	int	 hi, lo;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] == 'x' && (hi = hexval(s[2])) >= 0 &&
		    (lo = hexval(s[3])) >= 0) {
			buf[n++] = (char)(hi * 16 + lo);
			s += 4;
		} else
			buf[n++] = *s++;
	}
	return n;
}

/* Print escaped bytes as a JSON string of the bytes themselves. */
void
json_escaped(FILE *f, const char *s)
{
	char	*buf = xmalloc(strlen(s) + 1);

	json_strn(f, buf, unescape(s, buf));
	free(buf);
}

/* Whether a string is a plain decimal number. */
static int
is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '\0' || strlen(s) > 18)
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Print a field as a JSON number, array of words, or string. */
static void
json_value(FILE *f, int type, const char *v)
{
	char	*copy, *p, *w;
	int	 first = 1;

	if ((type == 'n' || type == 'v' || type == 't') && is_number(v))
		fputs(v, f);
	else if (type == 'o' && *v == '\0')
		fputs("null", f);
	else if (type == 'e' || type == 'E')
		json_escaped(f, v);
	else if (type == 'l') {
		fputc('[', f);
		copy = p = xstrdup(v);
		while ((w = strsep(&p, " ")) != NULL) {
			if (*w == '\0')
				continue;
			if (!first)
				fputs(", ", f);
			json_str(f, w);
			first = 0;
		}
		free(copy);
		fputc(']', f);
	} else
		json_str(f, v);
}

/*
 * Print a table as a JSON array of objects, "server" first; with several
 * servers the rows of totals (an empty server name) are left out.
 */
void
table_json(const struct table *t, FILE *f)
{
	size_t	 i, k;
	int	 first = 1;

	fputc('[', f);
	for (i = 0; i < t->nrows; i++) {
		if (t->rows[i][0][0] == '\0' && t->withserver)
			continue;	/* totals */
		fputs(first ? "\n  {" : ",\n  {", f);
		first = 0;
		json_str(f, "server");
		fputs(": ", f);
		json_str(f, t->rows[i][0]);
		for (k = 0; k < t->ncols; k++) {
			fputs(", ", f);
			json_str(f, t->cols[k].key);
			fputs(": ", f);
			json_value(f, t->cols[k].type, t->rows[i][k + 1]);
		}
		fputc('}', f);
	}
	fputs(first ? "]\n" : "\n]\n", f);
}
