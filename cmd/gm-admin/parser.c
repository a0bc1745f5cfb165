/* Public domain. See README.md for the licence of this project. */
/*
 * The gm-admin subcommand grammar: a table of {keyword, action, next}.
 * The table is the one list of subcommands: the usage message and the
 * words the shell completion offers are read from it.
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "gm-admin.h"

enum token_type {
	NOTOKEN,	/* the words may end here */
	ENDTOKEN,	/* end of a table */
	KEYWORD,
	ALIAS,		/* a keyword in gearadmin's spelling: not listed */
	FUNCNAME,
	HANDLE,
	NUMBER,
	SECONDS
};

struct token {
	enum token_type		 type;
	const char		*keyword;
	enum action		 action;
	const struct token	*next;
};

static const struct token t_main[];
static const struct token t_show[];
static const struct token t_show_unique[];
static const struct token t_maxqueue[];
static const struct token t_mq1[];
static const struct token t_mq2[];
static const struct token t_mq3[];
static const struct token t_handle[];
static const struct token t_func[];
static const struct token t_shutdown[];
static const struct token t_watch[];
static const struct token t_failed[];
static const struct token t_retry[];
static const struct token t_retries[];
static const struct token t_rt1[];
static const struct token t_opt_func[];

static const struct token t_main[] = {
	{ KEYWORD, "status", A_STATUS, NULL },
	{ KEYWORD, "workers", A_WORKERS, NULL },
	{ KEYWORD, "members", A_MEMBERS, t_opt_func },
	{ KEYWORD, "jobs", A_JOBS, NULL },
	{ KEYWORD, "unique-jobs", A_UNIQUE, NULL },
	{ KEYWORD, "priority-status", A_PRIO, NULL },
	{ ALIAS, "prioritystatus", A_PRIO, NULL },
	{ ALIAS, "show", A_NONE, t_show },
	{ KEYWORD, "version", A_VERSION, NULL },
	{ KEYWORD, "getpid", A_GETPID, NULL },
	{ KEYWORD, "verbose", A_VERBOSE, NULL },
	{ KEYWORD, "maxqueue", A_MAXQUEUE, t_maxqueue },
	{ KEYWORD, "cancel", A_CANCEL, t_handle },
	{ KEYWORD, "create", A_CREATE, t_func },
	{ KEYWORD, "drop", A_DROP, t_func },
	{ KEYWORD, "journal", A_JOURNAL, NULL },
	{ KEYWORD, "stats", A_STATS, NULL },
	{ KEYWORD, "shutdown", A_SHUTDOWN, t_shutdown },
	{ KEYWORD, "watch", A_WATCH, t_watch },
	{ KEYWORD, "failed", A_FAILED, t_failed },
	{ KEYWORD, "retry", A_RETRY, t_retry },
	{ KEYWORD, "purge", A_PURGE, t_retry },
	{ KEYWORD, "retries", A_RETRIES, t_retries },
	{ KEYWORD, "retrying", A_RETRYING, t_opt_func },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

/* failed [show HANDLE | payload HANDLE | stats | FUNCTION] */
static const struct token t_failed[] = {
	{ NOTOKEN, "", A_NONE, NULL },
	{ KEYWORD, "show", A_FAILED_SHOW, t_handle },
	{ KEYWORD, "payload", A_FAILED_PAYLOAD, t_handle },
	{ KEYWORD, "stats", A_FAILED_STATS, NULL },
	{ FUNCNAME, "", A_NONE, NULL },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

/* retry|purge all | function NAME | HANDLE */
static const struct token t_retry[] = {
	{ KEYWORD, "all", A_NONE, NULL },
	{ KEYWORD, "function", A_NONE, t_func },
	{ HANDLE, "", A_NONE, NULL },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

static const struct token t_retries[] = {
	{ NOTOKEN, "", A_NONE, NULL },
	{ FUNCNAME, "", A_NONE, t_rt1 },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

/* retries FUNCTION [default | N [BACKOFF_MS [MAX_MS]]] */
static const struct token t_rt1[] = {
	{ NOTOKEN, "", A_NONE, NULL },
	{ KEYWORD, "default", A_RETRIES_DEFAULT, NULL },
	{ NUMBER, "", A_NONE, t_mq2 },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

static const struct token t_opt_func[] = {
	{ NOTOKEN, "", A_NONE, NULL },
	{ FUNCNAME, "", A_NONE, NULL },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

static const struct token t_show[] = {
	{ KEYWORD, "jobs", A_JOBS, NULL },
	{ KEYWORD, "unique", A_NONE, t_show_unique },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

static const struct token t_show_unique[] = {
	{ KEYWORD, "jobs", A_UNIQUE, NULL },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

static const struct token t_maxqueue[] = {
	{ FUNCNAME, "", A_NONE, t_mq1 },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

static const struct token t_mq1[] = {
	{ NOTOKEN, "", A_NONE, NULL },
	{ NUMBER, "", A_NONE, t_mq2 },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

static const struct token t_mq2[] = {
	{ NOTOKEN, "", A_NONE, NULL },
	{ NUMBER, "", A_NONE, t_mq3 },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

static const struct token t_mq3[] = {
	{ NOTOKEN, "", A_NONE, NULL },
	{ NUMBER, "", A_NONE, NULL },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

static const struct token t_handle[] = {
	{ HANDLE, "", A_NONE, NULL },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

static const struct token t_func[] = {
	{ FUNCNAME, "", A_NONE, NULL },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

static const struct token t_shutdown[] = {
	{ NOTOKEN, "", A_NONE, NULL },
	{ KEYWORD, "graceful", A_SHUTDOWN_GRACEFUL, NULL },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

static const struct token t_watch[] = {
	{ NOTOKEN, "", A_NONE, NULL },
	{ SECONDS, "", A_NONE, NULL },
	{ ENDTOKEN, NULL, A_NONE, NULL }
};

/* A word that can travel in an admin line: no blanks, no line ends. */
static int
plain_word(const char *w)
{
	if (*w == '\0')
		return 0;
	for (; *w != '\0'; w++)
		if (isspace((unsigned char)*w))
			return 0;
	return 1;
}

/* Find the token of a table that matches word (NULL: no more words). */
static const struct token *
match_token(const char *word, const struct token *table,
    struct parse_result *res, const char **cause)
{
	const struct token	*t;
	const char		*errstr;
	char			*end;
	double			 d;

	*cause = NULL;
	for (t = table; t->type != ENDTOKEN; t++) {
		switch (t->type) {
		case NOTOKEN:
			if (word == NULL)
				return t;
			break;
		case KEYWORD:
		case ALIAS:
			if (word != NULL && strcmp(word, t->keyword) == 0) {
				if (t->action != A_NONE)
					res->action = t->action;
				return t;
			}
			break;
		case FUNCNAME:
		case HANDLE:
			if (word == NULL)
				break;
			if (!plain_word(word)) {
				*cause = "names cannot be empty or contain "
				    "blanks";
				return NULL;
			}
			if (t->type == FUNCNAME)
				res->func = word;
			else
				res->handle = word;
			return t;
		case NUMBER:
			if (word == NULL)
				break;
			strtonum(word, 0, 2147483647, &errstr);
			if (errstr != NULL) {
				*cause = "a limit is a number from 0 up";
				return NULL;
			}
			res->nums[res->nnums++] = word;
			return t;
		case SECONDS:
			if (word == NULL)
				break;
			d = strtod(word, &end);
			if (end == word || *end != '\0' || !(d >= 0.01) ||
			    d > 86400) {
				*cause = "the interval is seconds, "
				    "from 0.01 to 86400";
				return NULL;
			}
			res->interval = d;
			return t;
		case ENDTOKEN:
			break;
		}
	}
	if (word == NULL)
		*cause = "missing argument";
	else
		*cause = "unknown or extra argument";
	return NULL;
}

/*
 * Parse the subcommand words.  Returns 0, or -1 with *cause and in res->bad
 * the offending word (NULL when one is missing).
 */
int
parse(int argc, char *argv[], struct parse_result *res, const char **cause)
{
	const struct token	*table = t_main, *t;
	int			 i = 0;

	memset(res, 0, sizeof(*res));
	res->interval = 2;
	while (table != NULL) {
		res->bad = i < argc ? argv[i] : NULL;
		t = match_token(res->bad, table, res, cause);
		if (t == NULL)
			return -1;
		if (t->type == NOTOKEN)
			break;
		i++;
		table = t->next;
	}
	if (i < argc) {
		res->bad = argv[i];
		*cause = "unknown or extra argument";
		return -1;
	}
	res->bad = NULL;
	return 0;
}

/* How a token reads in the usage message. */
static const char *
token_word(const struct token *t)
{
	switch (t->type) {
	case KEYWORD:
	case ALIAS:
		return t->keyword;
	case FUNCNAME:
		return "function";
	case HANDLE:
		return "handle";
	case NUMBER:
		return "n";
	case SECONDS:
		return "seconds";
	case NOTOKEN:
	case ENDTOKEN:
		break;
	}
	return "";
}

/*
 * Append the words a table takes to buf, as a synopsis: "function [n]".
 * A table that may end (NOTOKEN) makes what follows optional; a choice of
 * several tokens reads "a | b".
 */
static void
synopsis(const struct token *table, char *buf, size_t len)
{
	const struct token	*t;
	int			 optional = 0, braced = 0, alts = 0, n = 0;

	if (table == NULL)
		return;
	for (t = table; t->type != ENDTOKEN; t++) {
		if (t->type == NOTOKEN)
			optional = 1;
		else if (t->type != ALIAS)
			alts++;
	}
	/* Several words of which one is needed: "{a | b}". */
	if (!optional && alts > 1)
		braced = 1;
	strlcat(buf, optional ? " [" : braced ? " {" : " ", len);
	for (t = table; t->type != ENDTOKEN; t++) {
		if (t->type == NOTOKEN || t->type == ALIAS)
			continue;
		if (n++ > 0)
			strlcat(buf, " | ", len);
		strlcat(buf, token_word(t), len);
		synopsis(t->next, buf, len);
	}
	if (optional)
		strlcat(buf, "]", len);
	else if (braced)
		strlcat(buf, "}", len);
}

/*
 * The subcommands with their arguments, for the usage message: "a | b",
 * wrapped before column 72 onto lines that start with a tab.
 */
const char *
parse_keywords(void)
{
	static char		 buf[1024];
	char			 one[128];
	const struct token	*t;
	size_t			 col = 8;

	if (buf[0] != '\0')
		return buf;
	for (t = t_main; t->type != ENDTOKEN; t++) {
		if (t->type == ALIAS)
			continue;
		strlcpy(one, t->keyword, sizeof(one));
		synopsis(t->next, one, sizeof(one));
		if (buf[0] != '\0') {
			strlcat(buf, " |", sizeof(buf));
			col += 2;
			if (col + 1 + strlen(one) + 2 > 72) {
				strlcat(buf, "\n\t", sizeof(buf));
				col = 8;
			} else {
				strlcat(buf, " ", sizeof(buf));
				col++;
			}
		}
		strlcat(buf, one, sizeof(buf));
		col += strlen(one);
	}
	return buf;
}

/* The i-th subcommand (from 0), or NULL past the last: for completion. */
const char *
parse_subcommand(size_t i)
{
	const struct token	*t;

	for (t = t_main; t->type != ENDTOKEN; t++)
		if (t->type == KEYWORD && i-- == 0)
			return t->keyword;
	return NULL;
}
