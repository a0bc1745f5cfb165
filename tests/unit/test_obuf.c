/* Public domain. See README.md for the licence of this project. */
/* Unit tests of cmd/gm-server/obuf.c: a connection's output buffer. */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../cmd/gm-server/gm-server.h"
#include "tap.h"

/* Append text through obuf_vprintf. */
static void
add_text(struct obuf *b, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	obuf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* Bytes come out in the order they went in, across compaction and growth. */
static void
test_order(void)
{
	struct obuf	 b = { 0 };
	uint8_t		 in[300000], out[300000];
	size_t		 i, put = 0, got = 0, n;
	int		 same = 1;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + i / 251);
	/* Take a little less than is put, in uneven steps. */
	while (got < sizeof(in)) {
		n = put % 97 + 1;
		if (put < sizeof(in)) {
			if (n > sizeof(in) - put)
				n = sizeof(in) - put;
			obuf_add(&b, in + put, n);
			put += n;
		}
		n = obuf_len(&b) < 60 ? obuf_len(&b) : 60;
		if (put == sizeof(in))
			n = obuf_len(&b);
		memcpy(out + got, obuf_data(&b), n);
		obuf_drain(&b, n);
		got += n;
		if (b.o_cap > 4096 && put < sizeof(in))
			same = 0;
	}
	ok(same, "a buffer taken as fast as it is filled stays small");
	is_mem(out, got, in, sizeof(in), "300,000 bytes come out in order");
	is_int(obuf_len(&b), 0, "empty at the end");
	obuf_free(&b);
}

/* A block above 64 KiB is given back once empty; a small one is kept. */
static void
test_shrink(void)
{
	struct obuf	 b = { 0 };
	static uint8_t	 big[100000];
	uint8_t		*kept;

	obuf_add(&b, "abc", 3);
	kept = b.o_buf;
	obuf_drain(&b, 3);
	ok(b.o_buf == kept && b.o_cap > 0, "a small block is kept when empty");
	obuf_add(&b, big, sizeof(big));
	ok(b.o_cap >= sizeof(big), "the block grows to hold 100,000 bytes");
	obuf_drain(&b, sizeof(big) - 1);
	ok(b.o_buf != NULL, "not given back while a byte is held");
	obuf_drain(&b, 1);
	ok(b.o_buf == NULL && b.o_cap == 0, "given back once empty");
	obuf_add(&b, "x", 1);
	is_mem(obuf_data(&b), obuf_len(&b), "x", 1, "usable after");
	obuf_free(&b);
}

/* Moves: a prefix is copied, all into an empty buffer swaps. */
static void
test_move(void)
{
	struct obuf	 a = { 0 }, b = { 0 };
	uint8_t		*blk;

	obuf_add(&a, "held-one|held-two", 17);
	obuf_add(&b, "out:", 4);
	obuf_move(&b, &a, 9);
	is_mem(obuf_data(&b), obuf_len(&b), "out:held-one|", 13,
	    "a prefix is appended");
	is_mem(obuf_data(&a), obuf_len(&a), "held-two", 8, "and taken");
	obuf_drain(&b, obuf_len(&b));
	blk = a.o_buf;
	obuf_move(&b, &a, obuf_len(&a));
	ok(b.o_buf == blk, "all into an empty buffer takes the block");
	is_mem(obuf_data(&b), obuf_len(&b), "held-two", 8, "with the bytes");
	is_int(obuf_len(&a), 0, "the source is empty");
	obuf_add(&a, "z", 1);
	is_mem(obuf_data(&a), obuf_len(&a), "z", 1, "and still usable");
	obuf_free(&a);
	obuf_free(&b);
}

/* Text longer than the first guess is formatted whole. */
static void
test_printf(void)
{
	struct obuf	 b = { 0 };
	char		 want[2100];

	memset(want, 'q', 2000);
	snprintf(want + 2000, sizeof(want) - 2000, "|%d\n", 42);
	add_text(&b, "OK %s\n", "fine");
	obuf_drain(&b, 8);
	add_text(&b, "%.*s|%d\n", 2000, want, 42);
	is_mem(obuf_data(&b), obuf_len(&b), want, strlen(want),
	    "2,004 bytes of text");
	obuf_free(&b);
}

/* obuf_write takes what the socket took, no more than max. */
static void
test_write(void)
{
	struct obuf	 b = { 0 };
	char		 got[16];
	int		 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
		ok(0, "socketpair");
		return;
	}
	is_int(obuf_write(&b, sv[0], 100), 0, "nothing to write: 0");
	obuf_add(&b, "0123456789", 10);
	is_int(obuf_write(&b, sv[0], 4), 4, "at most max");
	is_mem(obuf_data(&b), obuf_len(&b), "456789", 6, "the rest held");
	is_int(obuf_write(&b, sv[0], 100), 6, "the rest written");
	is_int(read(sv[1], got, sizeof(got)), 10, "the peer reads 10 bytes");
	is_mem(got, 10, "0123456789", 10, "in order");
	close(sv[0]);
	close(sv[1]);
	obuf_free(&b);
}

int
main(void)
{
	test_order();
	test_shrink();
	test_move();
	test_printf();
	test_write();
	return tap_done();
}
