/* Public domain. See README.md for the licence of this project. */
/* The gm-admin subcommand grammar: a table of {keyword, action, next}. */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "gm-admin.h"

enum token_type {
	NOTOKEN,	/* the words may end here */
	ENDTOKEN,	/* end of a table */
	KEYWORD,
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

static const struct token t_main[] = {
	{ KEYWORD, "status", A_STATUS, NULL },
	{ KEYWORD, "workers", A_WORKERS, NULL },
	{ KEYWORD, "jobs", A_JOBS, NULL },
	{ KEYWORD, "unique-jobs", A_UNIQUE, NULL },
	{ KEYWORD, "priority-status", A_PRIO, NULL },
	{ KEYWORD, "prioritystatus", A_PRIO, NULL },
	{ KEYWORD, "show", A_NONE, t_show },
	{ KEYWORD, "version", A_VERSION, NULL },
	{ KEYWORD, "getpid", A_GETPID, NULL },
	{ KEYWORD, "verbose", A_VERBOSE, NULL },
	{ KEYWORD, "maxqueue", A_MAXQUEUE, t_maxqueue },
	{ KEYWORD, "cancel", A_CANCEL, t_handle },
	{ KEYWORD, "create", A_CREATE, t_func },
	{ KEYWORD, "drop", A_DROP, t_func },
	{ KEYWORD, "journal", A_JOURNAL, NULL },
	{ KEYWORD, "shutdown", A_SHUTDOWN, t_shutdown },
	{ KEYWORD, "watch", A_WATCH, t_watch },
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
 * Parse the subcommand words.  Returns 0, or -1 with *cause and the
 * offending word in res->func (for the message).
 */
int
parse(int argc, char *argv[], struct parse_result *res, const char **cause)
{
	const struct token	*table = t_main, *t;
	int			 i = 0;

	memset(res, 0, sizeof(*res));
	res->interval = 2;
	while (table != NULL) {
		t = match_token(i < argc ? argv[i] : NULL, table, res, cause);
		if (t == NULL)
			return -1;
		if (t->type == NOTOKEN)
			break;
		i++;
		table = t->next;
	}
	if (i < argc) {
		*cause = "unknown or extra argument";
		return -1;
	}
	return 0;
}

/* The subcommands, for the usage message. */
const char *
parse_keywords(void)
{
	return "status | workers | jobs | unique-jobs | priority-status |\n"
	    "\tversion | getpid | verbose | maxqueue function [n [n [n]]] |\n"
	    "\tcancel handle | create function | drop function | journal |\n"
	    "\tshutdown [graceful] | watch [seconds]";
}
