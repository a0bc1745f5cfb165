/* Public domain. See README.md for the licence of this project. */
/*
 * gmraw: drive a Gearman server with raw packets from a script and print
 * every reply in a stable, readable form, for the compatibility suites.
 *
 * usage: gmraw -p PORT [-h HOST] [-t MS] [-m MAX] [-n] [-P PREFIX] [FILE]
 *        gmraw -x ARG
 *
 * The script (FILE or stdin) has one command a line; a line may start with
 * "@N " to use connection N (1..16, opened on first use; default 1):
 *
 *   REQ TYPE ARG...	send a packet with \0REQ magic; TYPE is a name or a
 *			number, the body is the arguments joined by NULs
 *   RES TYPE ARG...	the same with \0RES magic
 *   RAW ARG...		send the bytes of the arguments, concatenated
 *   TEXT LINE		send LINE (escapes allowed) and a newline
 *   WAIT N		read and print N replies
 *   UNTIL TYPE		read and print replies up to one of TYPE
 *   SYNC		ECHO round trip: print whatever arrives before it
 *   ADMIN LINE		send an admin line, print its whole reply
 *   ADMINSORT LINE	the same with the rows of a list sorted
 *   POLL TYPE REQ ...	send the request until its reply is TYPE (at most
 *			the timeout, 20 ms apart); print only that reply
 *   CLOSED		read until the server closes, then print CLOSED
 *   CLOSE		close the connection
 *   ECHO TEXT		print TEXT
 *
 * Arguments are separated by spaces; "..." quotes one with spaces, "" is
 * empty.  Escapes: \0 \n \r \t \s (space) \\ \" \xHH, and \{N} repeats the
 * byte before it until it occurs N times in a row.  In arguments H:HOST: is
 * replaced with the server's handle prefix and %H with the last handle this
 * connection received in JOB_CREATED or JOB_ASSIGN*.
 *
 * Each wait (WAIT, UNTIL, SYNC, ADMIN, POLL, CLOSED) gives up after -t
 * milliseconds (30000): generous, since a reply that comes ends it early.
 *
 * A reply is printed as "[@N ]TYPE ARG..." with the same quoting; an
 * argument longer than MAX (-m, 256) is printed as <LEN bytes fnv1a=X>; an
 * admin text line is printed as "[@N ]| LINE".  Unless -n is given, the
 * server's handle prefix (learned from the first handle, or -P, or else
 * H:nodename) prints as H:HOST.  Exit status: 0, or 1 when a wait timed
 * out or a connection closed unexpectedly, 2 on usage or connection
 * errors.
 */

#include <sys/utsname.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "net.h"
#include "proto.h"
#include "view.h"

#define MAXCONN		16
#define MAXTOK		64

struct conn {
	int		 fd;	/* -1 until opened, or after close */
	int		 eof;	/* the server closed it */
	uint8_t		*in;	/* received, not yet printed */
	size_t		 inlen;
	size_t		 incap;
	char		 handle[256];	/* last handle received */
};

struct buf {
	uint8_t		*p;
	size_t		 len;
	size_t		 cap;
};

struct reply {
	int		 text;	/* an admin line, not a packet */
	int		 type;	/* packet type */
	struct buf	 line;	/* the line, or a copy of the body */
	struct gm_packet pkt;
};

static struct conn	 conns[MAXCONN + 1];
static const char	*host = "127.0.0.1";
static const char	*port;
static int		 timeout_ms = 30000;	/* -t: a loaded machine is slow */
static size_t		 maxprint = 256;
static int		 normalise = 1;
static char		 prefix[256];	/* handle prefix, no colon */
static int		 failed;
static unsigned		 syncs;

static void	usage(void) __dead;
static void	buf_add(struct buf *, const void *, size_t);
static void	unescape_arg(const char *, size_t, struct buf *);
static int	tokenize(char *, char **, int);
static void	subst(const char *, struct buf *, int);
static void	print_bytes(const uint8_t *, size_t, int);
static struct conn *conn_get(int);
static int	conn_fill(struct conn *, int);
static void	conn_write(struct conn *, const uint8_t *, size_t);
static int	reply_next(struct conn *, struct reply *, long long);
static void	reply_print(int, struct reply *);
static void	learn(const struct reply *, struct conn *);
static void	send_packet(int, int, int, char **, int);
static int	type_arg(const char *);
static long long now_ms(void);

/* Print the usage and exit 2. */
static void
usage(void)
{
	fprintf(stderr, "usage: gmraw -p port [-h host] [-t ms] [-m max] "
	    "[-n] [-P prefix] [file]\n       gmraw -x arg\n");
	exit(2);
}

/* Milliseconds of the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append len bytes to a growing buffer. */
static void
buf_add(struct buf *b, const void *p, size_t len)
{
	size_t	 ncap;

	if (b->len + len + 1 > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + len + 1)
			ncap *= 2;
		if ((b->p = realloc(b->p, ncap)) == NULL)
			err(2, "realloc");
		b->cap = ncap;
	}
	if (len > 0)
		memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
}

/* Decode the escapes of s (len bytes) and append the bytes to out. */
static void
unescape_arg(const char *s, size_t len, struct buf *out)
{
	const char	*errstr;
	char		 num[32];
	size_t		 i, j, start = out->len;
	long long	 n;
	uint8_t		 c;

	for (i = 0; i < len; i++) {
		if (s[i] != '\\' || i + 1 == len) {
			buf_add(out, &s[i], 1);
			continue;
		}
		switch (s[++i]) {
		case '0':
			c = '\0';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 's':
			c = ' ';
			break;
		case 'x':
			if (i + 2 >= len || hexval(s[i + 1]) < 0 ||
			    hexval(s[i + 2]) < 0)
				errx(2, "bad \\x escape in %.*s", (int)len, s);
			c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
			i += 2;
			break;
		case '{':
			for (j = 0; i + 1 + j < len && s[i + 1 + j] != '}' &&
			    j < sizeof(num) - 1; j++)
				num[j] = s[i + 1 + j];
			num[j] = '\0';
			if (i + 1 + j >= len || s[i + 1 + j] != '}')
				errx(2, "bad \\{N} escape");
			n = strtonum(num, 1, 1LL << 31, &errstr);
			if (errstr != NULL || out->len == start)
				errx(2, "bad \\{N} escape: %s", num);
			c = out->p[out->len - 1];
			for (; n > 1; n--)
				buf_add(out, &c, 1);
			i += j + 1;
			continue;
		default:
			c = s[i];
			break;
		}
		buf_add(out, &c, 1);
	}
}

/*
 * Split line into at most max tokens in place.  A token in double quotes
 * keeps its spaces; escapes stay for unescape_arg().  Returns the count.
 */
static int
tokenize(char *line, char **tok, int max)
{
	char	*p = line, *w;
	int	 n = 0, q;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (n == max)
			errx(2, "too many arguments");
		tok[n++] = w = p;
		q = 0;
		while (*p != '\0' && (q || (*p != ' ' && *p != '\t'))) {
			if (*p == '"') {
				q = !q;
				p++;
				continue;
			}
			if (*p == '\\' && p[1] != '\0')
				*w++ = *p++;
			*w++ = *p++;
		}
		if (*p != '\0')
			p++;
		*w = '\0';
	}
	return n;
}

/* The learned handle prefix, or else our guess: H:nodename. */
static const char *
prefix_get(void)
{
	static char	 guess[sizeof(prefix)];
	struct utsname	 u;

	if (prefix[0] != '\0')
		return prefix;
	if (guess[0] == '\0') {
		if (uname(&u) == -1)
			err(2, "uname");
		snprintf(guess, sizeof(guess), "H:%s", u.nodename);
	}
	return guess;
}

/* Substitute H:HOST: and %H in token s, unescape it, append to out. */
static void
subst(const char *s, struct buf *out, int cid)
{
	struct buf	 t = { NULL, 0, 0 };
	const char	*p;

	while (*s != '\0') {
		if (strncmp(s, "H:HOST:", 7) == 0) {
			buf_add(&t, prefix_get(), strlen(prefix_get()));
			buf_add(&t, ":", 1);
			s += 7;
		} else if (strncmp(s, "%H", 2) == 0) {
			p = conns[cid].handle;
			buf_add(&t, p, strlen(p));
			s += 2;
		} else
			buf_add(&t, s++, 1);
	}
	unescape_arg((char *)t.p, t.len, out);
	free(t.p);
}

/* FNV-1a hash of len bytes, to name a long argument in the output. */
static uint32_t
fnv1a(const uint8_t *p, size_t len)
{
	uint32_t	 h = 2166136261U;

	while (len-- > 0) {
		h ^= *p++;
		h *= 16777619U;
	}
	return h;
}

/* Print bytes escaped; quote them when quote is set and they need it. */
static void
print_bytes(const uint8_t *p, size_t len, int quote)
{
	const char	*pfx = prefix_get();
	size_t		 i, plen = 0;
	int		 q = 0;

	if (len > maxprint) {
		printf("<%zu bytes fnv1a=%08x>", len, fnv1a(p, len));
		return;
	}
	if (normalise)
		plen = strlen(pfx);
	if (quote) {
		q = len == 0;
		for (i = 0; i < len; i++)
			if (p[i] == ' ')
				q = 1;
	}
	if (q)
		putchar('"');
	for (i = 0; i < len; i++) {
		if (plen > 0 && len - i > plen &&
		    memcmp(p + i, pfx, plen) == 0 && p[i + plen] == ':') {
			fputs("H:HOST", stdout);
			i += plen - 1;
			continue;
		}
		switch (p[i]) {
		case '\0':
			fputs("\\0", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '"':
			fputs("\\\"", stdout);
			break;
		case ' ':
			/* Literal in lines, but a trailing space shows. */
			if (!quote && i == len - 1)
				fputs("\\s", stdout);
			else
				putchar(' ');
			break;
		default:
			if (p[i] < 0x20 || p[i] >= 0x7f)
				printf("\\x%02x", p[i]);
			else
				putchar(p[i]);
		}
	}
	if (q)
		putchar('"');
}

/* Return connection id, connecting on first use. */
static struct conn *
conn_get(int id)
{
	struct conn	*c = &conns[id];

	if (c->fd == -1 && !c->eof) {
		if ((c->fd = net_connect(host, port, timeout_ms)) == -1)
			err(2, "connect %s:%s", host, port);
	}
	return c;
}

/*
 * Wait up to ms (-1: forever) for bytes and read them into c's buffer.
 * Returns 1 if bytes came, 0 on timeout, -1 at end of stream.
 */
static int
conn_fill(struct conn *c, int ms)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 rv;

	if (c->fd == -1)
		return -1;
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	if ((rv = poll(&pfd, 1, ms)) == -1) {
		if (errno == EINTR)
			return 0;
		err(2, "poll");
	}
	if (rv == 0)
		return 0;
	if (c->incap - c->inlen < 65536) {
		c->incap = c->incap ? c->incap * 2 : 131072;
		if ((c->in = realloc(c->in, c->incap)) == NULL)
			err(2, "realloc");
	}
	n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		c->eof = 1;
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->inlen += n;
	return 1;
}

/* Write all of p, reading meanwhile so that the server never blocks. */
static void
conn_write(struct conn *c, const uint8_t *p, size_t len)
{
	struct pollfd	 pfd;
	ssize_t		 n;

	while (len > 0 && c->fd != -1) {
		pfd.fd = c->fd;
		pfd.events = POLLIN | POLLOUT;
		if (poll(&pfd, 1, timeout_ms) <= 0) {
			printf("TIMEOUT writing\n");
			failed = 1;
			return;
		}
		if (pfd.revents & POLLIN) {
			if (conn_fill(c, 0) == -1)
				return;
			continue;
		}
		n = write(c->fd, p, len);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			/* A close by the server shows up when reading. */
			return;
		}
		p += n;
		len -= n;
	}
}

/*
 * Take the next reply from c, waiting until the deadline (ms since the
 * monotonic epoch).  Returns 1 with *r filled, 0 on timeout, -1 when the
 * connection is closed with nothing left.
 */
static int
reply_next(struct conn *c, struct reply *r, long long deadline)
{
	struct gm_header hdr;
	uint8_t		*nl;
	size_t		 used;
	long long	 left;
	int		 rv;

	for (;;) {
		r->line.len = 0;
		if (c->inlen > 0 && c->in[0] != '\0') {
			nl = memchr(c->in, '\n', c->inlen);
			if (nl != NULL || c->eof) {
				used = nl ? (size_t)(nl - c->in) + 1 :
				    c->inlen;
				r->text = 1;
				buf_add(&r->line, c->in, used - (nl != NULL));
				goto consumed;
			}
		} else if (c->inlen > 0) {
			rv = proto_decode_header(c->in, c->inlen, 0, &hdr);
			if (rv == PROTO_OK && c->inlen - GM_HEADER_SIZE >=
			    hdr.size) {
				r->text = 0;
				r->type = hdr.type;
				buf_add(&r->line, c->in + GM_HEADER_SIZE,
				    hdr.size);
				used = GM_HEADER_SIZE + hdr.size;
				rv = proto_split(&hdr, r->line.p, hdr.size,
				    &r->pkt);
				if (rv != PROTO_OK) {
					r->pkt.nargs = 1;
					r->pkt.arg[0].ptr = r->line.p;
					r->pkt.arg[0].len = r->line.len;
					r->type = -r->type - 1;
				} else if (hdr.magic != GM_RES)
					r->type = -r->type - 1;
				goto consumed;
			}
			if (rv != PROTO_OK && rv != PROTO_NEED_MORE) {
				/* Not a packet: show the rest as bytes. */
				r->text = 0;
				r->type = -1000;
				buf_add(&r->line, c->in, c->inlen);
				r->pkt.nargs = 1;
				r->pkt.arg[0].ptr = r->line.p;
				r->pkt.arg[0].len = r->line.len;
				used = c->inlen;
				goto consumed;
			}
		}
		if (c->eof)
			return -1;
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		if (conn_fill(c, (int)left) == -1 && c->inlen == 0)
			return -1;
	}
consumed:
	memmove(c->in, c->in + used, c->inlen - used);
	c->inlen -= used;
	return 1;
}

/* Remember the handle prefix and the connection's last handle. */
static void
learn(const struct reply *r, struct conn *c)
{
	const struct gm_arg	*a = &r->pkt.arg[0];
	const uint8_t		*colon;
	size_t			 len;

	if (r->text || (r->type != GM_JOB_CREATED &&
	    r->type != GM_JOB_ASSIGN && r->type != GM_JOB_ASSIGN_UNIQ &&
	    r->type != GM_JOB_ASSIGN_ALL))
		return;
	len = a->len < sizeof(c->handle) - 1 ? a->len :
	    sizeof(c->handle) - 1;
	memcpy(c->handle, a->ptr, len);
	c->handle[len] = '\0';
	if (prefix[0] != '\0' || (colon = memrchr(a->ptr, ':', len)) == NULL)
		return;
	memcpy(prefix, a->ptr, colon - a->ptr);
	prefix[colon - a->ptr] = '\0';
}

/* Print one reply received on connection id. */
static void
reply_print(int id, struct reply *r)
{
	int	 i, type;

	if (id != 1)
		printf("@%d ", id);
	if (r->text) {
		fputs(r->line.len > 0 ? "| " : "|", stdout);
		print_bytes(r->line.p, r->line.len, 0);
		putchar('\n');
		return;
	}
	type = r->type;
	if (type == -1000) {
		fputs("GARBAGE ", stdout);
		print_bytes(r->line.p, r->line.len, 1);
		putchar('\n');
		return;
	}
	if (type < 0) {
		/* Wrong magic, or a body that does not split. */
		type = -type - 1;
		printf("BAD ");
	}
	fputs(proto_type_name(type), stdout);
	for (i = 0; i < r->pkt.nargs; i++) {
		putchar(' ');
		print_bytes(r->pkt.arg[i].ptr, r->pkt.arg[i].len, 1);
	}
	putchar('\n');
}

/* Parse a packet type name or number. */
static int
type_arg(const char *s)
{
	const char	*errstr;
	int		 t;

	if ((t = proto_type_lookup(s)) != -1)
		return t;
	t = strtonum(s, 0, INT32_MAX, &errstr);
	if (errstr != NULL)
		errx(2, "unknown packet type %s", s);
	return t;
}

/* Send a packet of type with the given argument tokens. */
static void
send_packet(int id, int magic, int type, char **tok, int ntok)
{
	struct buf	 body = { NULL, 0, 0 };
	uint8_t		 hdr[GM_HEADER_SIZE];
	int		 i;

	for (i = 0; i < ntok; i++) {
		if (i > 0)
			buf_add(&body, "", 1);
		subst(tok[i], &body, id);
	}
	if (proto_encode_header(hdr, magic, type, body.len) != PROTO_OK)
		errx(2, "body too large");
	conn_write(conn_get(id), hdr, sizeof(hdr));
	if (body.len > 0)
		conn_write(conn_get(id), body.p, body.len);
	free(body.p);
}

/* Read and print one reply; record a failure on timeout or close. */
static int
wait_one(int id, struct reply *r, long long deadline)
{
	struct conn	*c = conn_get(id);
	int		 rv;

	rv = reply_next(c, r, deadline);
	if (rv == 1) {
		learn(r, c);
		return 1;
	}
	if (id != 1)
		printf("@%d ", id);
	printf(rv == 0 ? "TIMEOUT\n" : "CLOSED\n");
	failed = 1;
	return 0;
}

/* Read an admin reply and print it, its list rows sorted if asked. */
static void
admin_reply(int id, int sort)
{
	struct reply	 r = { 0 };
	struct buf	*rows = NULL, t;
	long long	 deadline = now_ms() + timeout_ms;
	size_t		 n = 0, i, j;
	int		 list = 0;

	while (wait_one(id, &r, deadline)) {
		if (!r.text) {
			reply_print(id, &r);
			continue;
		}
		if (n == 0 && (strncmp((char *)r.line.p, "OK", 2) == 0 ||
		    strncmp((char *)r.line.p, "ERR", 3) == 0)) {
			reply_print(id, &r);
			break;
		}
		if (r.line.len == 1 && r.line.p[0] == '.') {
			list = 1;
			break;
		}
		if ((rows = reallocarray(rows, n + 1, sizeof(*rows))) == NULL)
			err(2, "reallocarray");
		memset(&rows[n], 0, sizeof(rows[n]));
		buf_add(&rows[n++], r.line.p, r.line.len);
	}
	for (i = 0; sort && i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strverscmp((char *)rows[j].p,
			    (char *)rows[i].p) < 0) {
				t = rows[i];
				rows[i] = rows[j];
				rows[j] = t;
			}
	for (i = 0; i < n; i++) {
		r.text = 1;
		r.line.len = 0;
		buf_add(&r.line, rows[i].p, rows[i].len);
		reply_print(id, &r);
		free(rows[i].p);
	}
	if (list) {
		if (id != 1)
			printf("@%d ", id);
		printf("| .\n");
	}
	free(rows);
	free(r.line.p);
}

/* Run one script line. */
static void
run_line(char *line)
{
	struct reply	 r = { 0 };
	struct buf	 b = { NULL, 0, 0 };
	char		*tok[MAXTOK], *rest, *cmd;
	const char	*errstr;
	char		 marker[64];
	long long	 deadline;
	int		 id = 1, n, ntok, type, i, want;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '\0' || *line == '#')
		return;
	if (*line == '@') {
		id = strtol(line + 1, &rest, 10);
		if (id < 1 || id > MAXCONN || (*rest != ' ' && *rest != '\0'))
			errx(2, "bad connection in %s", line);
		line = rest;
		while (*line == ' ')
			line++;
	}
	cmd = line;
	rest = strchr(line, ' ');
	if (rest != NULL)
		*rest++ = '\0';
	else
		rest = line + strlen(line);
	deadline = now_ms() + timeout_ms;

	if (strcmp(cmd, "REQ") == 0 || strcmp(cmd, "RES") == 0) {
		ntok = tokenize(rest, tok, MAXTOK);
		if (ntok < 1)
			errx(2, "%s: no type", cmd);
		send_packet(id, cmd[2] == 'Q' ? GM_REQ : GM_RES,
		    type_arg(tok[0]), tok + 1, ntok - 1);
	} else if (strcmp(cmd, "RAW") == 0) {
		ntok = tokenize(rest, tok, MAXTOK);
		for (i = 0; i < ntok; i++)
			subst(tok[i], &b, id);
		conn_write(conn_get(id), b.p, b.len);
	} else if (strcmp(cmd, "TEXT") == 0 || strcmp(cmd, "ADMIN") == 0 ||
	    strcmp(cmd, "ADMINSORT") == 0) {
		subst(rest, &b, id);
		buf_add(&b, "\n", 1);
		conn_write(conn_get(id), b.p, b.len);
		if (cmd[0] == 'A')
			admin_reply(id, cmd[5] == 'S');
	} else if (strcmp(cmd, "WAIT") == 0) {
		want = strtonum(rest, 1, 1000000, &errstr);
		if (errstr != NULL)
			errx(2, "WAIT %s: %s", rest, errstr);
		for (n = 0; n < want && wait_one(id, &r, deadline); n++)
			reply_print(id, &r);
	} else if (strcmp(cmd, "UNTIL") == 0) {
		type = type_arg(rest);
		while (wait_one(id, &r, deadline)) {
			reply_print(id, &r);
			if (!r.text && r.type == type)
				break;
		}
	} else if (strcmp(cmd, "SYNC") == 0) {
		snprintf(marker, sizeof(marker), "gmraw-sync-%u", ++syncs);
		tok[0] = marker;
		send_packet(id, GM_REQ, GM_ECHO_REQ, tok, 1);
		while (wait_one(id, &r, deadline)) {
			if (!r.text && r.type == GM_ECHO_RES &&
			    r.pkt.arg[0].len == strlen(marker) &&
			    memcmp(r.pkt.arg[0].ptr, marker,
			    strlen(marker)) == 0)
				break;
			reply_print(id, &r);
		}
	} else if (strcmp(cmd, "POLL") == 0) {
		ntok = tokenize(rest, tok, MAXTOK);
		if (ntok < 3 || strcmp(tok[1], "REQ") != 0)
			errx(2, "usage: POLL TYPE REQ TYPE ARG...");
		want = type_arg(tok[0]);
		type = type_arg(tok[2]);
		for (;;) {
			send_packet(id, GM_REQ, type, tok + 3, ntok - 3);
			if (!wait_one(id, &r, deadline))
				break;
			if (!r.text && r.type == want) {
				reply_print(id, &r);
				break;
			}
			if (now_ms() >= deadline) {
				printf("TIMEOUT\n");
				failed = 1;
				break;
			}
			poll(NULL, 0, 20);
		}
	} else if (strcmp(cmd, "CLOSED") == 0) {
		for (;;) {
			n = reply_next(conn_get(id), &r, deadline);
			if (n == 1) {
				reply_print(id, &r);
				continue;
			}
			if (id != 1)
				printf("@%d ", id);
			if (n == 0) {
				printf("TIMEOUT waiting for close\n");
				failed = 1;
			} else
				printf("CLOSED\n");
			break;
		}
	} else if (strcmp(cmd, "CLOSE") == 0) {
		if (conns[id].fd != -1)
			close(conns[id].fd);
		conns[id].fd = -1;
		conns[id].eof = 0;
		conns[id].inlen = 0;
		conns[id].handle[0] = '\0';
	} else if (strcmp(cmd, "ECHO") == 0) {
		printf("%s\n", rest);
	} else
		errx(2, "unknown command %s", cmd);
	fflush(stdout);
	free(b.p);
	free(r.line.p);
}

/* Run the script of the file named on the command line, or of stdin. */
int
main(int argc, char *argv[])
{
	struct buf	 b = { NULL, 0, 0 };
	const char	*errstr;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 len;
	FILE		*f = stdin;
	int		 ch, i;

	while ((ch = getopt(argc, argv, "h:m:nP:p:t:x:")) != -1) {
		switch (ch) {
		case 'h':
			host = optarg;
			break;
		case 'm':
			maxprint = strtonum(optarg, 0, 1LL << 40, &errstr);
			if (errstr != NULL)
				errx(2, "-m %s: %s", optarg, errstr);
			break;
		case 'n':
			normalise = 0;
			break;
		case 'P':
			if (strlcpy(prefix, optarg, sizeof(prefix)) >=
			    sizeof(prefix))
				errx(2, "-P: too long");
			break;
		case 'p':
			port = optarg;
			break;
		case 't':
			timeout_ms = strtonum(optarg, 1, 3600000, &errstr);
			if (errstr != NULL)
				errx(2, "-t %s: %s", optarg, errstr);
			break;
		case 'x':
			subst(optarg, &b, 0);
			print_bytes(b.p, b.len, 1);
			putchar('\n');
			free(b.p);
			return 0;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (port == NULL || argc > 1)
		usage();
	if (argc == 1 && (f = fopen(argv[0], "r")) == NULL)
		err(2, "%s", argv[0]);
	for (i = 0; i <= MAXCONN; i++)
		conns[i].fd = -1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((len = getline(&line, &cap, f)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		run_line(line);
	}
	free(line);
	return failed;
}
