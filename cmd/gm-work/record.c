/* Public domain. See README.md for the licence of this project. */
/*
 * Records on a pipe, for coprocesses (-C) and stream mode: a line, a
 * NUL-terminated string, or a decimal length and a newline followed by
 * that many bytes (binary-safe, and read in a few lines in any language).
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "compat.h"
#include "gm-work.h"

/* Longest length prefix: the digits of a 64-bit number. */
#define LENGTH_DIGITS	20
/* Largest record accepted from a coprocess (a Gearman packet is smaller). */
#define RECORD_MAX	(1LL << 32)

static const char *const framings[] = {
	[FRAME_LINE] = "line",
	[FRAME_NUL] = "nul",
	[FRAME_LENGTH] = "length"
};

/* Parse a --framing word; -1 when it is none of them. */
int
framing_parse(const char *s, enum framing *f)
{
	size_t	 i;

	for (i = 0; i < sizeof(framings) / sizeof(framings[0]); i++)
		if (strcmp(s, framings[i]) == 0) {
			*f = (enum framing)i;
			return 0;
		}
	return -1;
}

/*
 * Turn buf into a record in place.  Returns -1 with why set when the
 * framing cannot carry it (a delimiter inside the payload).
 */
int
record_frame(enum framing f, struct evbuffer *buf, const char **why)
{
	char	 len[LENGTH_DIGITS + 2];

	const char	*delim;

	if (f == FRAME_LENGTH) {
		snprintf(len, sizeof(len), "%zu\n", evbuffer_get_length(buf));
		evbuffer_prepend(buf, len, strlen(len));
		return 0;
	}
	delim = f == FRAME_LINE ? "\n" : "";
	if (evbuffer_search(buf, delim, 1, NULL).pos != -1) {
		*why = f == FRAME_LINE ? "the payload holds a newline: line "
		    "records cannot carry it (use -0 or --framing length)" :
		    "the payload holds a NUL byte: nul records cannot carry "
		    "it (use --framing length)";
		return -1;
	}
	evbuffer_add(buf, delim, 1);
	return 0;
}

/* Move the bytes before the first delim of in, if any, to rec. */
static int
record_take_delim(struct evbuffer *in, struct evbuffer *rec, char delim)
{
	struct evbuffer_ptr	 p;

	p = evbuffer_search(in, &delim, 1, NULL);
	if (p.pos == -1)
		return 0;
	evbuffer_remove_buffer(in, rec, (size_t)p.pos);
	evbuffer_drain(in, 1);
	return 1;
}

/*
 * Move the first complete record of in, without its framing, to rec.
 * Returns 1 when one was moved, 0 when in holds none yet, -1 with why set
 * when in does not start with a valid length prefix.
 */
int
record_take(enum framing f, struct evbuffer *in, struct evbuffer *rec,
    const char **why)
{
	struct evbuffer_ptr	 p;
	char			 num[LENGTH_DIGITS + 1];
	const char		*errstr;
	long long		 n;
	size_t			 have;

	if (f == FRAME_LINE)
		return record_take_delim(in, rec, '\n');
	if (f == FRAME_NUL)
		return record_take_delim(in, rec, '\0');
	have = evbuffer_get_length(in);
	p = evbuffer_search(in, "\n", 1, NULL);
	if (p.pos == -1 || p.pos > LENGTH_DIGITS) {
		if (have <= LENGTH_DIGITS && p.pos == -1)
			return 0;
		*why = "a record does not start with a length and a newline";
		return -1;
	}
	evbuffer_copyout(in, num, (size_t)p.pos);
	num[p.pos] = '\0';
	n = strtonum(num, 0, RECORD_MAX, &errstr);
	if (errstr != NULL || num[0] < '0' || num[0] > '9') {
		*why = "a record does not start with a length and a newline";
		return -1;
	}
	if (have - (size_t)p.pos - 1 < (size_t)n)
		return 0;
	evbuffer_drain(in, (size_t)p.pos + 1);
	evbuffer_remove_buffer(in, rec, (size_t)n);
	return 1;
}
