/* Public domain. See README.md for the licence of this project. */
/*
 * The views of a server's state that gm-admin prints and gm-server's HTTP
 * JSON serves: for each admin list command its columns (header, JSON key,
 * type) and how its lines split into fields, a table of rows, and the one
 * JSON rendering of a table.  Both programs build their output here, so
 * `gm-admin --json status` and GET /api/status give the same document.
 */
#ifndef GM_VIEW_H
#define GM_VIEW_H

#include <stddef.h>
#include <stdio.h>

/* A column of a table: header, JSON key, and how JSON shows it. */
struct column {
	const char	*hdr;
	const char	*key;
	int		 type;		/* 's' string, 'n' number, 'l' list,
					   'v' number if it reads as one,
					   't' ms since the epoch, 'e' escaped
					   bytes (\xNN), 'E' the same, cut
					   in tables, 'o' a string, JSON
					   null when empty */
};

enum view_id {
	VIEW_STATUS,
	VIEW_PRIO,
	VIEW_WORKERS,
	VIEW_MEMBERS,
	VIEW_JOBS,
	VIEW_UNIQUE,
	VIEW_JOURNAL,
	VIEW_STATS,
	VIEW_FAILED,
	VIEW_RETRYING,
	VIEW_RETRIES,
	VIEW_FAILED_STATS,
	VIEW_COUNT
};

/* One admin list command and the table it fills. */
struct view {
	const char		*name;	/* gm-admin word, HTTP path */
	const char		*cmd;	/* admin text command */
	const struct column	*cols;
	size_t			 ncols;
	int			 byfunc;	/* rows sorted by function */
	int			 takesfunc;	/* cmd may be followed by a
						   function name */
};

/* Rows of strings: row[0] is the server's name, then one per column. */
struct table {
	const struct column	*cols;
	size_t			 ncols;
	char			***rows;
	size_t			 nrows;
	int			 withserver;
};

extern const struct view	 views[VIEW_COUNT];
extern const struct column	 view_server_column;

const struct view *view_find(const char *);
size_t	 view_split(char *, int, char **, size_t);
long long view_number(const char *);
void	 view_add_line(const struct view *, struct table *, const char *,
	    const char *);
void	 table_init(struct table *, const struct column *, size_t, int);
void	 table_add(struct table *, const char *, char **);
void	 table_free(struct table *);
void	 table_sort(struct table *);
void	 table_json(const struct table *, FILE *);
void	 json_str(FILE *, const char *);
void	 json_strn(FILE *, const char *, size_t);
int	 hexval(int);
size_t	 unescape(const char *, char *);
void	 json_escaped(FILE *, const char *);

#endif /* GM_VIEW_H */
