/* Public domain. See README.md for the licence of this project. */
/* Unit tests of common/proto.c: the packet table, encode and decode. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "tap.h"

/* Build arguments "a0", "a1", ... with a NUL-rich last one for data types. */
static int
sample_args(const struct gm_ptype *pt, struct gm_arg *args, char bufs[][16])
{
	int	 i;

	for (i = 0; i < pt->nargs; i++) {
		snprintf(bufs[i], 16, "arg%d", i);
		args[i] = gm_str(bufs[i]);
	}
	if (pt->data && pt->nargs > 0) {
		memcpy(bufs[pt->nargs - 1], "d\0a\0t\0a", 7);
		args[pt->nargs - 1].len = 7;
	}
	return pt->nargs;
}

/* Every type encodes and decodes back to the same arguments. */
static void
test_round_trips(void)
{
	uint8_t			 buf[512];
	char			 bufs[GM_MAX_ARGS][16];
	struct gm_arg		 args[GM_MAX_ARGS];
	struct gm_packet	 pkt;
	const struct gm_ptype	*pt;
	size_t			 len, used;
	uint32_t		 t;
	int			 n, i, same, magic;

	for (t = 1; t < GM_TYPE_COUNT; t++) {
		pt = proto_type(t);
		n = sample_args(pt, args, bufs);
		magic = (pt->dir & GM_DIR_REQ) ? GM_REQ : GM_RES;
		is_int(proto_encode(buf, sizeof(buf), magic, t, args, n, &len),
		    PROTO_OK, "encode %s", pt->name);
		is_int(proto_decode(buf, len, 0, &pkt, &used), PROTO_OK,
		    "decode %s", pt->name);
		same = used == len && pkt.hdr.type == t && pkt.nargs == n &&
		    (int)pkt.hdr.magic == magic;
		for (i = 0; same && i < n; i++)
			same = pkt.arg[i].len == args[i].len &&
			    memcmp(pkt.arg[i].ptr, args[i].ptr,
			    args[i].len) == 0;
		ok(same, "round trip %s (%d args)", pt->name, n);
		/* Every strict prefix of the packet is "need more". */
		for (i = 0, same = 1; (size_t)i < len; i++)
			if (proto_decode(buf, (size_t)i, 0, &pkt, &used) !=
			    PROTO_NEED_MORE)
				same = 0;
		ok(same, "every prefix of %s needs more", pt->name);
	}
}

/* The exact bytes of the example in protocol.md section 2.1. */
static void
test_known_bytes(void)
{
	uint8_t		 buf[64];
	struct gm_arg	 a[3];
	size_t		 len;
	static const uint8_t submit[] = "\0REQ\0\0\0\x07\0\0\0\x0arev\0\0hello";
	static const uint8_t noop[] = "\0RES\0\0\0\x06\0\0\0\0";

	a[0] = gm_str("rev");
	a[1] = gm_str("");
	a[2] = gm_str("hello");
	proto_encode(buf, sizeof(buf), GM_REQ, GM_SUBMIT_JOB, a, 3, &len);
	is_mem(buf, len, submit, sizeof(submit) - 1, "SUBMIT_JOB bytes");
	proto_encode(buf, sizeof(buf), GM_RES, GM_NOOP, NULL, 0, &len);
	is_mem(buf, len, noop, sizeof(noop) - 1, "NOOP bytes");
	ok(strcmp(proto_type_name(GM_JOB_ASSIGN_UNIQ), "JOB_ASSIGN_UNIQ") == 0,
	    "type name");
	is_int(proto_type_lookup("grab_job_all"), GM_GRAB_JOB_ALL,
	    "lookup by name");
	is_int(proto_type_lookup("NOPE"), -1, "lookup of an unknown name");
}

/* Malformed input gives a specific error, never a crash. */
static void
test_malformed(void)
{
	struct gm_packet	 pkt;
	struct gm_header	 hdr;
	size_t			 used;
	uint8_t			 big[12 + GM_ARG_MAX + 16];

	is_int(proto_decode((const uint8_t *)"\0REX\0\0\0\x01\0\0\0\0", 12, 0,
	    &pkt, &used), PROTO_BAD_MAGIC, "bad magic");
	is_int(proto_decode((const uint8_t *)"GET ", 4, 0, &pkt, &used),
	    PROTO_BAD_MAGIC, "text is not a packet");
	is_int(proto_decode((const uint8_t *)"\0X", 2, 0, &pkt, &used),
	    PROTO_BAD_MAGIC, "bad magic seen early");
	is_int(proto_decode((const uint8_t *)"\0REQ\0\0\0\0\0\0\0\0", 12, 0,
	    &pkt, &used), PROTO_UNKNOWN_TYPE, "type 0");
	is_int(proto_decode((const uint8_t *)"\0REQ\0\0\0\x2b\0\0\0\0", 12, 0,
	    &pkt, &used), PROTO_UNKNOWN_TYPE, "type 43");
	is_int(proto_decode((const uint8_t *)"\0REQ\xff\0\0\x01\0\0\0\0", 12, 0,
	    &pkt, &used), PROTO_UNKNOWN_TYPE, "huge type");
	is_int(proto_decode((const uint8_t *)"\0REQ\0\0\0\x10\x7f\0\0\0", 12,
	    1024, &pkt, &used), PROTO_TOO_LARGE, "oversize length");
	is_int(proto_decode((const uint8_t *)"\0REQ\0\0\0\x10\0\0\0\x05", 12,
	    1024, &pkt, &used), PROTO_NEED_MORE, "truncated body");
	is_int(proto_decode((const uint8_t *)"\0REQ\0\0\0\x07\0\0\0\x06" "fnonly",
	    18, 0, &pkt, &used), PROTO_MISSING_NUL, "missing NULs");
	is_int(proto_decode((const uint8_t *)"\0REQ\0\0\0\x07\0\0\0\x04" "fn\0u",
	    16, 0, &pkt, &used), PROTO_MISSING_NUL, "one NUL of two");
	is_int(proto_decode((const uint8_t *)"\0REQ\0\0\0\x07\0\0\0\x03" "f\0\0",
	    15, 0, &pkt, &used), PROTO_OK, "empty unique and data");
	is_int(pkt.arg[2].len, 0, "empty data");

	/* A terminated argument may be at most GM_ARG_MAX - 1 bytes. */
	memcpy(big, "\0REQ\0\0\0\x07", 8);
	memset(big + 12, 'f', sizeof(big) - 12);
	big[8] = 0, big[9] = 0, big[10] = (GM_ARG_MAX + 8) >> 8;
	big[11] = (GM_ARG_MAX + 8) & 0xff;
	big[12 + GM_ARG_MAX - 1] = '\0';
	big[12 + GM_ARG_MAX] = '\0';
	is_int(proto_decode(big, 12 + GM_ARG_MAX + 8, 0, &pkt, &used),
	    PROTO_OK, "function of GM_ARG_MAX - 1 bytes");
	big[12 + GM_ARG_MAX - 1] = 'f';
	is_int(proto_decode(big, 12 + GM_ARG_MAX + 8, 0, &pkt, &used),
	    PROTO_ARG_TOO_LONG, "function of GM_ARG_MAX bytes");
	is_int(proto_decode(big, 12 + GM_ARG_MAX + 1, 0, &pkt, &used),
	    PROTO_NEED_MORE, "truncated long packet needs more");

	/* A body held back: the terminated args are enough to split. */
	is_int(proto_decode_header((const uint8_t *)
	    "\0REQ\0\0\0\x12\0\x10\0\0", 12, 0, &hdr), PROTO_OK, "header");
	is_int(proto_split(&hdr, (const uint8_t *)"fn\0uq\0da", 8, &pkt),
	    PROTO_OK, "split with the payload still unread");
	is_int(pkt.arg[2].len, 0x100000 - 6, "payload length from header");
	is_int(proto_split(&hdr, (const uint8_t *)"fn\0u", 4, &pkt),
	    PROTO_NEED_MORE, "split needs the terminated args");
	/* Zero-argument types ignore a body, as gearmand does. */
	is_int(proto_decode((const uint8_t *)"\0REQ\0\0\0\x09\0\0\0\x04junk",
	    16, 0, &pkt, &used), PROTO_OK, "GRAB_JOB with a body");
	is_int(used, 16, "the body is consumed");
}

/* Encoding refuses what cannot be framed. */
static void
test_encode_errors(void)
{
	uint8_t		 buf[64];
	struct gm_arg	 a[3];
	size_t		 len;

	a[0] = gm_str("f");
	a[1] = gm_str("u");
	a[2] = gm_str("data");
	is_int(proto_encode(buf, sizeof(buf), GM_REQ, GM_SUBMIT_JOB, a, 2,
	    &len), PROTO_BAD_ARGS, "wrong argument count");
	a[0].ptr = (const uint8_t *)"a\0b";
	a[0].len = 3;
	is_int(proto_encode(buf, sizeof(buf), GM_REQ, GM_SUBMIT_JOB, a, 3,
	    &len), PROTO_BAD_ARGS, "NUL inside a terminated argument");
	a[0] = gm_str("f");
	is_int(proto_encode(buf, 10, GM_REQ, GM_SUBMIT_JOB, a, 3, &len),
	    PROTO_NEED_MORE, "buffer too small");
	is_int(len, 12 + 8, "size needed");
	is_int(proto_encode(buf, sizeof(buf), GM_REQ, 99, a, 3, &len),
	    PROTO_BAD_ARGS, "unknown type");
	is_int(proto_encode_prefix(buf, sizeof(buf), GM_RES, GM_JOB_ASSIGN, a,
	    2, 1000, &len), PROTO_OK, "prefix");
	is_int(len, 12 + 4, "prefix length");
	ok(buf[10] == 0x03 && buf[11] == 0xec, "size covers the data");
	ok(strcmp(proto_strerror(PROTO_BAD_MAGIC), "bad magic") == 0,
	    "strerror");
}

/* proto_number: one number of an argument, read as strtoll would. */
static void
test_numbers(void)
{
	static const struct {
		const char	*text;
		int64_t		 max;
		int64_t		 want;
	} t[] = {
		{ "42", 100, 42 },
		{ " \t+7", 100, 7 },
		{ "-13", 100, -13 },
		{ "12abc", 100, 12 },
		{ "abc", 100, 0 },
		{ "", 100, 0 },
		{ "-", 100, 0 },
		{ "100", 100, 100 },
		{ "101", 100, 100 },
		{ "99999999999999999999999", 100, 100 },
		{ "-99999999999999999999999", 100, -100 },
		{ "4294967296", UINT32_MAX, UINT32_MAX },
		{ "9223372036854775807", INT64_MAX, INT64_MAX },
		{ "9223372036854775808", INT64_MAX, INT64_MAX }
	};
	struct gm_arg	 a;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		a = gm_str(t[i].text);
		is_int(proto_number(&a, t[i].max), t[i].want,
		    "number \"%s\" up to %lld", t[i].text,
		    (long long)t[i].max);
	}
	a.ptr = (const uint8_t *)"12345";
	a.len = 2;
	is_int(proto_number(&a, 100), 12, "only the argument's bytes");
}

int
main(void)
{
	test_round_trips();
	test_known_bytes();
	test_malformed();
	test_encode_errors();
	test_numbers();
	return tap_done();
}
