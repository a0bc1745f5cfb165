/* Public domain. See README.md for the licence of this project. */
/*
 * gm-admin's tables: rows of fields under columns, sorted by function with
 * a total row per function across servers, printed aligned for people
 * (numbers to the right) or as a JSON array of objects for scripts.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "compat.h"
#include "net.h"
#include "proto.h"
#include "xmalloc.h"
#include "gm-admin.h"

static const struct column c_server = { "SERVER", "server", 's' };

static int	is_number(const char *);
static void	json_value(FILE *, int, const char *);
static int	row_cmp(const void *, const void *);
static void	table_totals(struct table *);

/* Start an empty table with the given columns. */
void
table_init(struct table *t, const struct column *cols, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->ncols = ncols;
	t->withserver = nservers > 1;
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

	if ((type == 'n' || type == 'v') && is_number(v))
		fputs(v, f);
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

/* Print a table aligned (numbers to the right), or as a JSON array. */
void
table_print(const struct table *t, FILE *f)
{
	size_t	*w, i, k, first = t->withserver ? 0 : 1, len, n;
	const struct column *col;
	char	*line;

	if (json) {
		fputc('[', f);
		for (i = 0; i < t->nrows; i++) {
			if (t->rows[i][0][0] == '\0' && t->withserver)
				continue;	/* totals */
			fputs(i == 0 ? "\n  {" : ",\n  {", f);
			json_str(f, "server");
			fputs(": ", f);
			json_str(f, t->rows[i][0]);
			for (k = 0; k < t->ncols; k++) {
				fputs(", ", f);
				json_str(f, t->cols[k].key);
				fputs(": ", f);
				json_value(f, t->cols[k].type,
				    t->rows[i][k + 1]);
			}
			fputc('}', f);
		}
		fputs(t->nrows > 0 ? "\n]\n" : "]\n", f);
		return;
	}
	w = xcalloc(t->ncols + 1, sizeof(*w));
	for (k = first; k <= t->ncols; k++) {
		col = k == 0 ? &c_server : &t->cols[k - 1];
		w[k] = strlen(col->hdr);
		for (i = 0; i < t->nrows; i++)
			if (strlen(t->rows[i][k]) > w[k])
				w[k] = strlen(t->rows[i][k]);
	}
	for (k = first, len = 0; k <= t->ncols; k++)
		len += w[k] + 2;
	line = xmalloc(len + 1);
	for (i = 0; i <= t->nrows; i++) {
		n = 0;
		for (k = first; k <= t->ncols; k++) {
			const char *v;

			col = k == 0 ? &c_server : &t->cols[k - 1];
			v = i == 0 ? col->hdr : t->rows[i - 1][k];
			n += (size_t)snprintf(line + n, len + 1 - n,
			    col->type == 'n' ? "%s%*s" : "%s%-*s",
			    k > first ? "  " : "", (int)w[k], v);
		}
		while (n > 0 && line[n - 1] == ' ')
			n--;
		line[n] = '\0';
		fprintf(f, "%s\n", line);
	}
	free(line);
	free(w);
}

/* Order rows by their first column, then by server as listed. */
static int
row_cmp(const void *a, const void *b)
{
	char *const	*ra = *(char **const *)a;
	char *const	*rb = *(char **const *)b;
	size_t		 ia, ib;
	int		 c;

	if ((c = strcmp(ra[1], rb[1])) != 0)
		return c;
	ia = server_index(ra[0]);
	ib = server_index(rb[0]);
	return ia < ib ? -1 : ia > ib;
}

/*
 * Sort function rows and, with several servers, follow each function's
 * rows with a row of totals (server column "total").
 */
static void
table_totals(struct table *t)
{
	struct table	 out;
	char		**f, num[32];
	size_t		 i, k, start;
	long long	 sum;

	qsort(t->rows, t->nrows, sizeof(*t->rows), row_cmp);
	if (!t->withserver)
		return;
	out = *t;
	out.rows = NULL;
	out.nrows = 0;
	f = xcalloc(t->ncols, sizeof(*f));
	for (start = 0; start < t->nrows; start = i) {
		for (i = start; i < t->nrows &&
		    strcmp(t->rows[i][1], t->rows[start][1]) == 0; i++)
			table_add(&out, t->rows[i][0], t->rows[i] + 1);
		f[0] = t->rows[start][1];
		for (k = 1; k < t->ncols; k++) {
			size_t r;

			sum = 0;
			for (r = start; r < i; r++)
				sum += reply_number(t->rows[r][k + 1]);
			snprintf(num, sizeof(num), "%lld", sum);
			f[k] = xstrdup(num);
		}
		table_add(&out, "total", f);
		for (k = 1; k < t->ncols; k++)
			free(f[k]);
	}
	free(f);
	table_free(t);
	*t = out;
}

/* Mark total rows so JSON leaves them out. */
void
table_print_functions(struct table *t)
{
	size_t	 i;

	table_totals(t);
	if (json)
		for (i = 0; i < t->nrows; i++)
			if (strcmp(t->rows[i][0], "total") == 0)
				t->rows[i][0][0] = '\0';
	table_print(t, stdout);
}

/*
 * A count in a server's reply, as the wire's other numbers are read
 * (proto_number): junk or < 0 is 0, and sums of them cannot overflow.
 */
long long
reply_number(const char *s)
{
	struct gm_arg	 a = gm_str(s);
	int64_t		 n = proto_number(&a, UINT32_MAX);

	return n < 0 ? 0 : n;
}
