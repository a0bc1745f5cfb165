/* Public domain. See README.md for the licence of this project. */
/*
 * gm-admin's tables (common/view.c): sorted by function with a total row
 * per function across servers, printed aligned for people (numbers to the
 * right) or as JSON for scripts.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <time.h>

#include "client.h"
#include "compat.h"
#include "net.h"
#include "proto.h"
#include "xmalloc.h"
#include "gm-admin.h"

/* A table cell of an 'E' column shows this much of an error at most. */
#define ERROR_CELL	60

static const char *ms_time(const char *, char *, size_t);
static void	table_cells(const struct table *);
static void	table_totals(struct table *);

/* Local time of ms since the epoch, for a table ("-" for 0). */
static const char *
ms_time(const char *v, char *buf, size_t len)
{
	long long	 ms = strtoll(v, NULL, 10);
	time_t		 t = (time_t)(ms / 1000);
	struct tm	*tm;

	if (ms <= 0 || (tm = localtime(&t)) == NULL)
		return "-";
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", tm);
	return buf;
}

/* Turn times into dates and cut long errors, for people. */
static void
table_cells(const struct table *t)
{
	char	 buf[64], *v;
	size_t	 i, k;

	for (k = 0; k < t->ncols; k++) {
		for (i = 0; i < t->nrows; i++) {
			v = t->rows[i][k + 1];
			if (t->cols[k].type == 't') {
				t->rows[i][k + 1] = xstrdup(ms_time(v, buf,
				    sizeof(buf)));
				free(v);
			} else if (t->cols[k].type == 'E' &&
			    strlen(v) > ERROR_CELL)
				memcpy(v + ERROR_CELL - 3, "...", 4);
		}
	}
}

/* Print a table aligned (numbers to the right), or as a JSON array. */
void
table_print(const struct table *t, FILE *f)
{
	size_t	*w, i, k, first = t->withserver ? 0 : 1, len, n;
	const struct column *col;
	char	*line;

	if (json) {
		table_json(t, f);
		return;
	}
	table_cells(t);
	w = xcalloc(t->ncols + 1, sizeof(*w));
	for (k = first; k <= t->ncols; k++) {
		col = k == 0 ? &view_server_column : &t->cols[k - 1];
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

			col = k == 0 ? &view_server_column : &t->cols[k - 1];
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

	table_sort(t);
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
				sum += view_number(t->rows[r][k + 1]);
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
