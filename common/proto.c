/* Public domain. See README.md for the licence of this project. */
/* The Gearman packet table and pure encode/decode functions. */

#include <string.h>
#include <strings.h>

#include "proto.h"

#define REQ	GM_DIR_REQ
#define RES	GM_DIR_RES

/*
 * Argument counts are the total number of arguments in the body; all but the
 * last are NUL-terminated.  `data` marks a last argument that is opaque.
 */
static const struct gm_ptype ptypes[GM_TYPE_COUNT] = {
	[GM_TEXT] =			{ "TEXT", 0, 0, 0 },
	[GM_CAN_DO] =			{ "CAN_DO", 1, 0, REQ },
	[GM_CANT_DO] =			{ "CANT_DO", 1, 0, REQ },
	[GM_RESET_ABILITIES] =		{ "RESET_ABILITIES", 0, 0, REQ },
	[GM_PRE_SLEEP] =		{ "PRE_SLEEP", 0, 0, REQ },
	[GM_UNUSED] =			{ "UNUSED", 0, 0, 0 },
	[GM_NOOP] =			{ "NOOP", 0, 0, RES },
	[GM_SUBMIT_JOB] =		{ "SUBMIT_JOB", 3, 1, REQ },
	[GM_JOB_CREATED] =		{ "JOB_CREATED", 1, 0, RES },
	[GM_GRAB_JOB] =			{ "GRAB_JOB", 0, 0, REQ },
	[GM_NO_JOB] =			{ "NO_JOB", 0, 0, RES },
	[GM_JOB_ASSIGN] =		{ "JOB_ASSIGN", 3, 1, RES },
	[GM_WORK_STATUS] =		{ "WORK_STATUS", 3, 0, REQ | RES },
	[GM_WORK_COMPLETE] =		{ "WORK_COMPLETE", 2, 1, REQ | RES },
	[GM_WORK_FAIL] =		{ "WORK_FAIL", 1, 0, REQ | RES },
	[GM_GET_STATUS] =		{ "GET_STATUS", 1, 0, REQ },
	[GM_ECHO_REQ] =			{ "ECHO_REQ", 1, 1, REQ },
	[GM_ECHO_RES] =			{ "ECHO_RES", 1, 1, RES },
	[GM_SUBMIT_JOB_BG] =		{ "SUBMIT_JOB_BG", 3, 1, REQ },
	[GM_ERROR] =			{ "ERROR", 2, 0, RES },
	[GM_STATUS_RES] =		{ "STATUS_RES", 5, 0, RES },
	[GM_SUBMIT_JOB_HIGH] =		{ "SUBMIT_JOB_HIGH", 3, 1, REQ },
	[GM_SET_CLIENT_ID] =		{ "SET_CLIENT_ID", 1, 0, REQ },
	[GM_CAN_DO_TIMEOUT] =		{ "CAN_DO_TIMEOUT", 2, 0, REQ },
	[GM_ALL_YOURS] =		{ "ALL_YOURS", 0, 0, REQ },
	[GM_WORK_EXCEPTION] =		{ "WORK_EXCEPTION", 2, 1, REQ | RES },
	[GM_OPTION_REQ] =		{ "OPTION_REQ", 1, 0, REQ },
	[GM_OPTION_RES] =		{ "OPTION_RES", 1, 0, RES },
	[GM_WORK_DATA] =		{ "WORK_DATA", 2, 1, REQ | RES },
	[GM_WORK_WARNING] =		{ "WORK_WARNING", 2, 1, REQ | RES },
	[GM_GRAB_JOB_UNIQ] =		{ "GRAB_JOB_UNIQ", 0, 0, REQ },
	[GM_JOB_ASSIGN_UNIQ] =		{ "JOB_ASSIGN_UNIQ", 4, 1, RES },
	[GM_SUBMIT_JOB_HIGH_BG] =	{ "SUBMIT_JOB_HIGH_BG", 3, 1, REQ },
	[GM_SUBMIT_JOB_LOW] =		{ "SUBMIT_JOB_LOW", 3, 1, REQ },
	[GM_SUBMIT_JOB_LOW_BG] =	{ "SUBMIT_JOB_LOW_BG", 3, 1, REQ },
	[GM_SUBMIT_JOB_SCHED] =		{ "SUBMIT_JOB_SCHED", 8, 1, REQ },
	[GM_SUBMIT_JOB_EPOCH] =		{ "SUBMIT_JOB_EPOCH", 4, 1, REQ },
	[GM_SUBMIT_REDUCE_JOB] =	{ "SUBMIT_REDUCE_JOB", 5, 1, REQ },
	[GM_SUBMIT_REDUCE_JOB_BACKGROUND] =
				{ "SUBMIT_REDUCE_JOB_BACKGROUND", 5, 1, REQ },
	[GM_GRAB_JOB_ALL] =		{ "GRAB_JOB_ALL", 0, 0, REQ },
	[GM_JOB_ASSIGN_ALL] =		{ "JOB_ASSIGN_ALL", 5, 1, RES },
	[GM_GET_STATUS_UNIQUE] =	{ "GET_STATUS_UNIQUE", 1, 0, REQ },
	[GM_STATUS_RES_UNIQUE] =	{ "STATUS_RES_UNIQUE", 6, 0, RES },
};

static const char *const proto_errors[] = {
	[PROTO_OK] = "ok",
	[PROTO_NEED_MORE] = "incomplete packet",
	[PROTO_BAD_MAGIC] = "bad magic",
	[PROTO_UNKNOWN_TYPE] = "unknown packet type",
	[PROTO_TOO_LARGE] = "packet too large",
	[PROTO_MISSING_NUL] = "argument without NUL terminator",
	[PROTO_ARG_TOO_LONG] = "argument too long",
	[PROTO_BAD_ARGS] = "bad arguments",
};

/* Return the table entry of a type, or NULL for 0 and unknown types. */
const struct gm_ptype *
proto_type(uint32_t type)
{
	if (type == GM_TEXT || type >= GM_TYPE_COUNT)
		return NULL;
	return &ptypes[type];
}

/* Return a type's name, or "UNKNOWN". */
const char *
proto_type_name(uint32_t type)
{
	if (type >= GM_TYPE_COUNT)
		return "UNKNOWN";
	return ptypes[type].name;
}

/* Find a type by name, case-insensitively; -1 if there is none. */
int
proto_type_lookup(const char *name)
{
	int	 i;

	for (i = 1; i < GM_TYPE_COUNT; i++)
		if (strcasecmp(ptypes[i].name, name) == 0)
			return i;
	return -1;
}

/* Describe a proto_status value. */
const char *
proto_strerror(int status)
{
	if (status < 0 || (size_t)status >= sizeof(proto_errors) /
	    sizeof(proto_errors[0]))
		return "unknown error";
	return proto_errors[status];
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/*
 * Decode the 12-byte header at buf.  A body larger than limit (0: no limit)
 * is PROTO_TOO_LARGE.  Both magics decode; the caller decides which one it
 * expects.
 */
int
proto_decode_header(const uint8_t *buf, size_t len, size_t limit,
    struct gm_header *hdr)
{
	if (len < GM_HEADER_SIZE) {
		/* Fail early on a prefix that can never become a magic. */
		if (len == 0)
			return PROTO_NEED_MORE;
		if (memcmp(buf, "\0RE", len < 3 ? len : 3) != 0 ||
		    (len > 3 && buf[3] != 'Q' && buf[3] != 'S'))
			return PROTO_BAD_MAGIC;
		return PROTO_NEED_MORE;
	}
	if (memcmp(buf, "\0REQ", 4) == 0)
		hdr->magic = GM_REQ;
	else if (memcmp(buf, "\0RES", 4) == 0)
		hdr->magic = GM_RES;
	else
		return PROTO_BAD_MAGIC;
	hdr->type = get32(buf + 4);
	hdr->size = get32(buf + 8);
	if (proto_type(hdr->type) == NULL)
		return PROTO_UNKNOWN_TYPE;
	if (limit != 0 && hdr->size > limit)
		return PROTO_TOO_LARGE;
	return PROTO_OK;
}

/*
 * Split a body into arguments, the way gearmand does: every argument but the
 * last ends at the first NUL, and the last is the rest of the body.  Types
 * without arguments ignore their body.
 *
 * avail may be less than hdr->size, so that a large payload need not be in
 * memory: PROTO_OK then means every terminated argument is complete, and the
 * last argument starts at arg[nargs - 1].ptr with arg[nargs - 1].len bytes in
 * the whole packet, of which only the first avail - offset are in body.
 */
int
proto_split(const struct gm_header *hdr, const uint8_t *body, size_t avail,
    struct gm_packet *pkt)
{
	const struct gm_ptype	*pt;
	const uint8_t		*nul;
	size_t			 off = 0, left;
	int			 i;

	if ((pt = proto_type(hdr->type)) == NULL)
		return PROTO_UNKNOWN_TYPE;
	if (avail > hdr->size)
		avail = hdr->size;
	pkt->hdr = *hdr;
	pkt->nargs = pt->nargs;
	if (pt->nargs == 0)
		return PROTO_OK;
	for (i = 0; i < pt->nargs - 1; i++) {
		left = avail - off;
		if (left > GM_ARG_MAX)
			left = GM_ARG_MAX;
		nul = memchr(body + off, '\0', left);
		if (nul == NULL) {
			if (left == GM_ARG_MAX)
				return PROTO_ARG_TOO_LONG;
			return avail < hdr->size ? PROTO_NEED_MORE :
			    PROTO_MISSING_NUL;
		}
		pkt->arg[i].ptr = body + off;
		pkt->arg[i].len = (size_t)(nul - (body + off));
		off += pkt->arg[i].len + 1;
	}
	pkt->arg[i].ptr = body + off;
	pkt->arg[i].len = hdr->size - off;
	if (!pt->data && pkt->arg[i].len > GM_ARG_MAX)
		return PROTO_ARG_TOO_LONG;
	return PROTO_OK;
}

/*
 * Decode one whole packet from the start of buf.  On PROTO_OK, *used is the
 * packet's length and the arguments point into buf.
 */
int
proto_decode(const uint8_t *buf, size_t len, size_t limit,
    struct gm_packet *pkt, size_t *used)
{
	struct gm_header	 hdr;
	int			 rv;

	if ((rv = proto_decode_header(buf, len, limit, &hdr)) != PROTO_OK)
		return rv;
	if (len - GM_HEADER_SIZE < hdr.size)
		return PROTO_NEED_MORE;
	rv = proto_split(&hdr, buf + GM_HEADER_SIZE, hdr.size, pkt);
	if (rv == PROTO_OK && used != NULL)
		*used = GM_HEADER_SIZE + (size_t)hdr.size;
	return rv;
}

/* Return the body size of nargs arguments. */
size_t
proto_body_size(const struct gm_arg *args, int nargs)
{
	size_t	 size = 0;
	int	 i;

	for (i = 0; i < nargs; i++)
		size += args[i].len + (i < nargs - 1 ? 1 : 0);
	return size;
}

/* Write a 12-byte header for a body of size bytes. */
int
proto_encode_header(uint8_t *buf, enum gm_magic magic, uint32_t type,
    size_t size)
{
	if (size > UINT32_MAX)
		return PROTO_TOO_LARGE;
	memcpy(buf, magic == GM_REQ ? "\0REQ" : "\0RES", 4);
	put32(buf + 4, type);
	put32(buf + 8, (uint32_t)size);
	return PROTO_OK;
}

/*
 * Encode the header and the leading nargs terminated arguments of a packet
 * whose last argument, datalen bytes long, the caller appends itself (so a
 * payload is never copied).  nargs must be the type's count less one (0 for
 * types without arguments, with datalen 0).  *outlen is the number of bytes
 * written, or needed when buf is too small (PROTO_NEED_MORE).
 */
int
proto_encode_prefix(uint8_t *buf, size_t cap, enum gm_magic magic,
    uint32_t type, const struct gm_arg *args, int nargs, size_t datalen,
    size_t *outlen)
{
	const struct gm_ptype	*pt;
	size_t			 need = GM_HEADER_SIZE, off;
	int			 i;

	if ((pt = proto_type(type)) == NULL)
		return PROTO_BAD_ARGS;
	if (pt->nargs == 0 ? (nargs != 0 || datalen != 0) :
	    nargs != pt->nargs - 1)
		return PROTO_BAD_ARGS;
	for (i = 0; i < nargs; i++) {
		if (memchr(args[i].ptr, '\0', args[i].len) != NULL)
			return PROTO_BAD_ARGS;
		need += args[i].len + 1;
	}
	if (need - GM_HEADER_SIZE + datalen > UINT32_MAX)
		return PROTO_TOO_LARGE;
	*outlen = need;
	if (cap < need)
		return PROTO_NEED_MORE;
	proto_encode_header(buf, magic, type, need - GM_HEADER_SIZE + datalen);
	off = GM_HEADER_SIZE;
	for (i = 0; i < nargs; i++) {
		if (args[i].len > 0)
			memcpy(buf + off, args[i].ptr, args[i].len);
		off += args[i].len;
		buf[off++] = '\0';
	}
	return PROTO_OK;
}

/*
 * Encode a whole packet with all nargs arguments (the type's count) into
 * buf.  *outlen is the length written, or needed (PROTO_NEED_MORE).
 */
int
proto_encode(uint8_t *buf, size_t cap, enum gm_magic magic, uint32_t type,
    const struct gm_arg *args, int nargs, size_t *outlen)
{
	const struct gm_ptype	*pt;
	size_t			 datalen = 0, pre;
	int			 rv;

	if ((pt = proto_type(type)) == NULL || nargs != pt->nargs)
		return PROTO_BAD_ARGS;
	if (nargs > 0)
		datalen = args[nargs - 1].len;
	rv = proto_encode_prefix(buf, cap, magic, type, args,
	    nargs > 0 ? nargs - 1 : 0, datalen, &pre);
	if (rv == PROTO_NEED_MORE || (rv == PROTO_OK && cap < pre + datalen)) {
		*outlen = pre + datalen;
		return PROTO_NEED_MORE;
	}
	if (rv != PROTO_OK)
		return rv;
	if (datalen > 0)
		memcpy(buf + pre, args[nargs - 1].ptr, datalen);
	*outlen = pre + datalen;
	return PROTO_OK;
}

/* An argument from a NUL-terminated string (NULL gives an empty one). */
struct gm_arg
gm_str(const char *s)
{
	struct gm_arg	 a;

	a.ptr = (const uint8_t *)(s != NULL ? s : "");
	a.len = s != NULL ? strlen(s) : 0;
	return a;
}

/*
 * A decimal number in a packet argument, read as gearmand reads them with
 * atoi/strtoll: blanks, a sign, then digits up to the first other byte;
 * no digits is 0.  The magnitude stops at max, so any length is safe; a
 * negative number comes back negative, for the caller to refuse.
 */
int64_t
proto_number(const struct gm_arg *a, int64_t max)
{
	const uint8_t	*p = a->ptr;
	size_t		 i = 0, len = a->len;
	int64_t		 n = 0;
	int		 neg = 0;

	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i < len && (p[i] == '-' || p[i] == '+'))
		neg = p[i++] == '-';
	for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
		if (n > (max - (p[i] - '0')) / 10) {
			n = max;
			break;
		}
		n = n * 10 + (p[i] - '0');
	}
	return neg ? -n : n;
}
