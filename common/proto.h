/* Public domain. See README.md for the licence of this project. */
/*
 * The Gearman wire protocol: packet table, framing, encode and decode.
 *
 * Everything here is a pure function on byte buffers: no sockets, no
 * libevent, no logging.  Nothing else in the tree knows byte layouts.
 *
 * A packet is a 12-byte header (magic, type, size; big-endian) followed by
 * `size` bytes of body.  The body holds the packet's arguments; all but the
 * last end in one NUL byte, the last runs to the end of the body.  When a
 * type's last argument is opaque data it may contain NULs.
 *
 * The table below is part of the wire contract: bump GM_PROTO_VERSION and
 * say so in the README if a number, a name or an argument count changes.
 */
#ifndef GM_PROTO_H
#define GM_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define GM_PROTO_VERSION	1
#define GM_DEFAULT_PORT		4730
#define GM_HEADER_SIZE		12
#define GM_MAX_ARGS		8
/* Longest NUL-terminated argument gearmand accepts (its receive buffer). */
#define GM_ARG_MAX		8192
/* Longest handle, and longest unique id, including the terminating NUL. */
#define GM_HANDLE_SIZE		64
#define GM_UNIQUE_SIZE		64
/* Default limit on one packet's body. */
#define GM_DEFAULT_MAX_PACKET	(1024U * 1024U * 1024U)

enum gm_magic {
	GM_REQ = 0,		/* "\0REQ": sent to a server */
	GM_RES = 1		/* "\0RES": sent by a server */
};

enum gm_type {
	GM_TEXT = 0,
	GM_CAN_DO = 1,
	GM_CANT_DO = 2,
	GM_RESET_ABILITIES = 3,
	GM_PRE_SLEEP = 4,
	GM_UNUSED = 5,
	GM_NOOP = 6,
	GM_SUBMIT_JOB = 7,
	GM_JOB_CREATED = 8,
	GM_GRAB_JOB = 9,
	GM_NO_JOB = 10,
	GM_JOB_ASSIGN = 11,
	GM_WORK_STATUS = 12,
	GM_WORK_COMPLETE = 13,
	GM_WORK_FAIL = 14,
	GM_GET_STATUS = 15,
	GM_ECHO_REQ = 16,
	GM_ECHO_RES = 17,
	GM_SUBMIT_JOB_BG = 18,
	GM_ERROR = 19,
	GM_STATUS_RES = 20,
	GM_SUBMIT_JOB_HIGH = 21,
	GM_SET_CLIENT_ID = 22,
	GM_CAN_DO_TIMEOUT = 23,
	GM_ALL_YOURS = 24,
	GM_WORK_EXCEPTION = 25,
	GM_OPTION_REQ = 26,
	GM_OPTION_RES = 27,
	GM_WORK_DATA = 28,
	GM_WORK_WARNING = 29,
	GM_GRAB_JOB_UNIQ = 30,
	GM_JOB_ASSIGN_UNIQ = 31,
	GM_SUBMIT_JOB_HIGH_BG = 32,
	GM_SUBMIT_JOB_LOW = 33,
	GM_SUBMIT_JOB_LOW_BG = 34,
	GM_SUBMIT_JOB_SCHED = 35,
	GM_SUBMIT_JOB_EPOCH = 36,
	GM_SUBMIT_REDUCE_JOB = 37,
	GM_SUBMIT_REDUCE_JOB_BACKGROUND = 38,
	GM_GRAB_JOB_ALL = 39,
	GM_JOB_ASSIGN_ALL = 40,
	GM_GET_STATUS_UNIQUE = 41,
	GM_STATUS_RES_UNIQUE = 42,
	GM_TYPE_COUNT = 43
};

/* Who may send a type: bit GM_REQ for requests, bit GM_RES for responses. */
#define GM_DIR_REQ	(1U << GM_REQ)
#define GM_DIR_RES	(1U << GM_RES)

struct gm_ptype {
	const char	*name;		/* "SUBMIT_JOB" */
	uint8_t		 nargs;		/* arguments in the body */
	uint8_t		 data;		/* last argument is opaque (NULs allowed) */
	uint8_t		 dir;		/* GM_DIR_REQ and/or GM_DIR_RES */
};

/* One argument: a pointer into the caller's buffer and its length. */
struct gm_arg {
	const uint8_t	*ptr;
	size_t		 len;
};

struct gm_header {
	enum gm_magic	 magic;
	uint32_t	 type;
	uint32_t	 size;
};

struct gm_packet {
	struct gm_header hdr;
	int		 nargs;
	struct gm_arg	 arg[GM_MAX_ARGS];
};

enum proto_status {
	PROTO_OK = 0,
	PROTO_NEED_MORE,	/* not enough bytes yet */
	PROTO_BAD_MAGIC,	/* neither \0REQ nor \0RES */
	PROTO_UNKNOWN_TYPE,	/* type 0 or >= GM_TYPE_COUNT */
	PROTO_TOO_LARGE,	/* body larger than the limit */
	PROTO_MISSING_NUL,	/* a terminated argument has no NUL */
	PROTO_ARG_TOO_LONG,	/* a terminated argument exceeds GM_ARG_MAX */
	PROTO_BAD_ARGS		/* encode: wrong count, or NUL inside an argument */
};

const struct gm_ptype	*proto_type(uint32_t);
const char		*proto_type_name(uint32_t);
int			 proto_type_lookup(const char *);
const char		*proto_strerror(int);

int	proto_decode_header(const uint8_t *, size_t, size_t,
	    struct gm_header *);
int	proto_split(const struct gm_header *, const uint8_t *, size_t,
	    struct gm_packet *);
int	proto_decode(const uint8_t *, size_t, size_t, struct gm_packet *,
	    size_t *);

size_t	proto_body_size(const struct gm_arg *, int);
int	proto_encode_header(uint8_t *, enum gm_magic, uint32_t, size_t);
int	proto_encode_prefix(uint8_t *, size_t, enum gm_magic, uint32_t,
	    const struct gm_arg *, int, size_t, size_t *);
int	proto_encode(uint8_t *, size_t, enum gm_magic, uint32_t,
	    const struct gm_arg *, int, size_t *);

/* Convenience: an argument from a C string. */
struct gm_arg	 gm_str(const char *);

/* The one reader of numbers sent as text in packets. */
int64_t		 proto_number(const struct gm_arg *, int64_t);

#endif /* GM_PROTO_H */
