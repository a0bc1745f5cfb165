/* Public domain. See README.md for the licence of this project. */
/*
 * struct obuf: a connection's output bytes in one growable block, for
 * conn.c (c_out) and ack.c (c_held, the output behind journal acks).
 * Bytes are appended at the end and taken from the front; the block is
 * kept while the connection lives, so a packet costs a memcpy and no
 * allocation, and is written with one write(2).  A block that grew past
 * OBUF_KEEP is given back once it empties, so a burst to a slow peer does
 * not hold its memory for the connection's life.
 */

#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "gm-server.h"

/*
 * The first block: small, since an idle connection keeps it (thousands
 * of them may each have answered one ECHO); it doubles as a peer's
 * passes need more, once.
 */
#define OBUF_MIN	256
/* A block larger than this is freed when it empties. */
#define OBUF_KEEP	65536
/* Room asked for before formatting text of unknown length. */
#define OBUF_TEXT	256

/*
 * Make room for n more bytes after the held ones and return where they
 * go; *avail, when not NULL, says how many bytes of room there are (at
 * least n).  Held bytes move to the front only when they are no more
 * than the bytes taken before them, so a move costs no more than what
 * was written; otherwise the block at least doubles.
 */
void *
obuf_room(struct obuf *b, size_t n, size_t *avail)
{
	uint8_t	*p;
	size_t	 cap;

	if (b->o_cap - b->o_off - b->o_len < n || b->o_buf == NULL) {
		if (n > SIZE_MAX / 4 - b->o_len)
			fatalx("%s: %zu bytes", __func__, n);
		if (b->o_off > 0 && b->o_len <= b->o_off &&
		    b->o_len + n <= b->o_cap) {
			memcpy(b->o_buf, b->o_buf + b->o_off, b->o_len);
			b->o_off = 0;
		} else {
			cap = b->o_cap > 0 ? b->o_cap : OBUF_MIN;
			while (cap < b->o_len + n)
				cap *= 2;
			if (cap == b->o_cap)
				cap *= 2;
			if (b->o_off == 0)
				b->o_buf = xreallocarray(b->o_buf, cap, 1);
			else {
				p = xmalloc(cap);
				memcpy(p, b->o_buf + b->o_off, b->o_len);
				free(b->o_buf);
				b->o_buf = p;
				b->o_off = 0;
			}
			b->o_cap = cap;
		}
	}
	if (avail != NULL)
		*avail = b->o_cap - b->o_off - b->o_len;
	return b->o_buf + b->o_off + b->o_len;
}

/* The n bytes written into the room obuf_room gave are now held. */
void
obuf_added(struct obuf *b, size_t n)
{
	b->o_len += n;
}

/* Append len bytes. */
void
obuf_add(struct obuf *b, const void *p, size_t len)
{
	if (len == 0)
		return;
	memcpy(obuf_room(b, len, NULL), p, len);
	b->o_len += len;
}

/* Append text formatted as by vprintf. */
void
obuf_vprintf(struct obuf *b, const char *fmt, va_list ap)
{
	va_list	 aq;
	char	*p;
	size_t	 avail;
	int	 n;

	p = obuf_room(b, OBUF_TEXT, &avail);
	va_copy(aq, ap);
	n = vsnprintf(p, avail, fmt, aq);
	va_end(aq);
	if (n < 0) {
		log_warn("%s", __func__);
		return;
	}
	if ((size_t)n >= avail) {
		p = obuf_room(b, (size_t)n + 1, NULL);
		(void)vsnprintf(p, (size_t)n + 1, fmt, ap);
	}
	b->o_len += (size_t)n;
}

/* Take n held bytes (no more than are held) from the front. */
void
obuf_drain(struct obuf *b, size_t n)
{
	b->o_off += n;
	b->o_len -= n;
	if (b->o_len > 0)
		return;
	b->o_off = 0;
	if (b->o_cap > OBUF_KEEP)
		obuf_free(b);
}

/*
 * Move the first n bytes held in src (no more than it holds) to the end
 * of dst.  All of src into an empty dst swaps the blocks.
 */
void
obuf_move(struct obuf *dst, struct obuf *src, size_t n)
{
	struct obuf	 t;

	if (n == 0)
		return;
	if (dst->o_len == 0 && n == src->o_len) {
		t = *dst;
		*dst = *src;
		*src = t;
		src->o_off = 0;
		return;
	}
	obuf_add(dst, obuf_data(src), n);
	obuf_drain(src, n);
}

/*
 * Write at most max held bytes to fd with one write(2) and take what it
 * took: the count, or -1 with errno.
 */
ssize_t
obuf_write(struct obuf *b, int fd, size_t max)
{
	ssize_t	 n;

	if (b->o_len == 0)
		return 0;
	if ((n = write(fd, obuf_data(b), b->o_len < max ? b->o_len : max)) > 0)
		obuf_drain(b, (size_t)n);
	return n;
}

/* Give the block back; the buffer stays usable (empty). */
void
obuf_free(struct obuf *b)
{
	free(b->o_buf);
	memset(b, 0, sizeof(*b));
}
