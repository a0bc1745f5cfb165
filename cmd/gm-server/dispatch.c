/* Public domain. See README.md for the licence of this project. */
/* Binary requests: a table from packet type to handler; validation only. */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compat.h"
#include "log.h"
#include "gm-server.h"

typedef void (*handler_fn)(struct conn *, const struct gm_packet *);

static void	h_can_do(struct conn *, const struct gm_packet *);
static void	h_can_do_timeout(struct conn *, const struct gm_packet *);
static void	h_cant_do(struct conn *, const struct gm_packet *);
static void	h_reset(struct conn *, const struct gm_packet *);
static void	h_pre_sleep(struct conn *, const struct gm_packet *);
static void	h_submit(struct conn *, const struct gm_packet *);
static void	h_grab(struct conn *, const struct gm_packet *);
static void	h_work(struct conn *, const struct gm_packet *);
static void	h_get_status(struct conn *, const struct gm_packet *);
static void	h_get_status_unique(struct conn *, const struct gm_packet *);
static void	h_echo(struct conn *, const struct gm_packet *);
static void	h_client_id(struct conn *, const struct gm_packet *);
static void	h_option(struct conn *, const struct gm_packet *);

/* Types without a handler answer ERROR INVALID_COMMAND, as gearmand. */
static const handler_fn handlers[GM_TYPE_COUNT] = {
	[GM_CAN_DO] = h_can_do,
	[GM_CANT_DO] = h_cant_do,
	[GM_RESET_ABILITIES] = h_reset,
	[GM_PRE_SLEEP] = h_pre_sleep,
	[GM_SUBMIT_JOB] = h_submit,
	[GM_GRAB_JOB] = h_grab,
	[GM_WORK_STATUS] = h_work,
	[GM_WORK_COMPLETE] = h_work,
	[GM_WORK_FAIL] = h_work,
	[GM_GET_STATUS] = h_get_status,
	[GM_ECHO_REQ] = h_echo,
	[GM_SUBMIT_JOB_BG] = h_submit,
	[GM_SUBMIT_JOB_HIGH] = h_submit,
	[GM_SET_CLIENT_ID] = h_client_id,
	[GM_CAN_DO_TIMEOUT] = h_can_do_timeout,
	[GM_WORK_EXCEPTION] = h_work,
	[GM_OPTION_REQ] = h_option,
	[GM_WORK_DATA] = h_work,
	[GM_WORK_WARNING] = h_work,
	[GM_GRAB_JOB_UNIQ] = h_grab,
	[GM_SUBMIT_JOB_HIGH_BG] = h_submit,
	[GM_SUBMIT_JOB_LOW] = h_submit,
	[GM_SUBMIT_JOB_LOW_BG] = h_submit,
	[GM_SUBMIT_JOB_EPOCH] = h_submit,
	[GM_SUBMIT_REDUCE_JOB] = h_submit,
	[GM_SUBMIT_REDUCE_JOB_BACKGROUND] = h_submit,
	[GM_GRAB_JOB_ALL] = h_grab,
	[GM_GET_STATUS_UNIQUE] = h_get_status_unique,
};

/* Handle one decoded request. */
void
dispatch_packet(struct conn *c, const struct gm_packet *pkt)
{
	uint32_t	 type = pkt->hdr.type;

	log_debug("%s: fd %d: %s (%u bytes)", __func__, c->c_fd,
	    proto_type_name(type), pkt->hdr.size);
	if (pkt->hdr.magic != GM_REQ) {
		conn_error(c, "INVALID_MAGIC", "Request magic expected");
		return;
	}
	if (type >= GM_TYPE_COUNT || handlers[type] == NULL) {
		conn_error(c, "INVALID_COMMAND", "Command not expected");
		return;
	}
	handlers[type](c, pkt);
}

/* Whether type is one of the SUBMIT_* requests (h_submit's). */
static int
is_submit(uint32_t type)
{
	return type < GM_TYPE_COUNT && handlers[type] == h_submit;
}

/*
 * Refuse a submission by its unique id alone: gearmand takes 64 bytes but
 * keeps 63; we keep what we take.  1: refused (ERROR sent).
 */
static int
submit_refused(struct conn *c, const struct gm_packet *pkt)
{
	if (pkt->arg[1].len > GM_UNIQUE_SIZE) {
		conn_error(c, "ARGUMENT_TOO_LARGE", "Unique value too large");
		return 1;
	}
	return 0;
}

/*
 * A request whose terminated arguments have arrived but whose body has not
 * all: answer now what needs no more of it, so that the rest need not be
 * held (conn.c discards it as it comes).  A type without arguments ignores
 * its body; a submission with too long a unique id is refused whatever its
 * payload.  1: answered, 0: the whole packet is needed.
 */
int
dispatch_early(struct conn *c, const struct gm_packet *pkt)
{
	const struct gm_ptype	*pt = proto_type(pkt->hdr.type);

	if (pt != NULL && pt->nargs == 0) {
		dispatch_packet(c, pkt);
		return 1;
	}
	if (pkt->hdr.magic == GM_REQ && is_submit(pkt->hdr.type))
		return submit_refused(c, pkt);
	return 0;
}

static void
h_can_do(struct conn *c, const struct gm_packet *pkt)
{
	worker_can_do(c, (const char *)pkt->arg[0].ptr, pkt->arg[0].len, 0);
}

/*
 * CAN_DO_TIMEOUT function\0ms: strtol rules (junk or <= 0: no timeout),
 * at least 1000 ms; a timeout string over 20 bytes is ignored, as gearmand.
 */
static void
h_can_do_timeout(struct conn *c, const struct gm_packet *pkt)
{
	int64_t		 ms;

	if (pkt->arg[1].len > 20)
		return;
	ms = proto_number(&pkt->arg[1], 1000000000LL);
	if (ms <= 0)
		ms = 0;
	else if (ms < 1000)
		ms = 1000;
	worker_can_do(c, (const char *)pkt->arg[0].ptr, pkt->arg[0].len,
	    (int)ms);
}

static void
h_cant_do(struct conn *c, const struct gm_packet *pkt)
{
	worker_cant_do(c, (const char *)pkt->arg[0].ptr, pkt->arg[0].len);
}

static void
h_reset(struct conn *c, const struct gm_packet *pkt __unused)
{
	worker_reset(c);
}

static void
h_pre_sleep(struct conn *c, const struct gm_packet *pkt __unused)
{
	worker_pre_sleep(c);
}

static void
h_grab(struct conn *c, const struct gm_packet *pkt)
{
	worker_grab(c, pkt->hdr.type);
}

static void
h_work(struct conn *c, const struct gm_packet *pkt)
{
	queue_work(c, pkt->hdr.type, pkt);
}

/* The latest SUBMIT_JOB_EPOCH time kept (year 33658): ms fit int64_t. */
#define EPOCH_MAX	1000000000000LL

/* Every SUBMIT_* variant. */
static void
h_submit(struct conn *c, const struct gm_packet *pkt)
{
	struct submit	 s;
	int		 last = pkt->nargs - 1;

	memset(&s, 0, sizeof(s));
	s.func = (const char *)pkt->arg[0].ptr;
	s.func_len = pkt->arg[0].len;
	s.unique = (const char *)pkt->arg[1].ptr;
	s.unique_len = pkt->arg[1].len;
	s.data = pkt->arg[last].ptr;
	s.data_len = pkt->arg[last].len;
	s.prio = PRIO_NORMAL;
	switch (pkt->hdr.type) {
	case GM_SUBMIT_JOB_HIGH:
		s.prio = PRIO_HIGH;
		break;
	case GM_SUBMIT_JOB_LOW:
		s.prio = PRIO_LOW;
		break;
	case GM_SUBMIT_JOB_BG:
		s.bg = 1;
		break;
	case GM_SUBMIT_JOB_HIGH_BG:
		s.prio = PRIO_HIGH;
		s.bg = 1;
		break;
	case GM_SUBMIT_JOB_LOW_BG:
		s.prio = PRIO_LOW;
		s.bg = 1;
		break;
	case GM_SUBMIT_JOB_EPOCH:
		s.bg = 1;
		/* As strtoll: junk or a time before 1970 runs now. */
		s.when = proto_number(&pkt->arg[2], EPOCH_MAX);
		if (s.when < 0)
			s.when = 0;
		break;
	case GM_SUBMIT_REDUCE_JOB_BACKGROUND:
		s.bg = 1;
		/* FALLTHROUGH */
	case GM_SUBMIT_REDUCE_JOB:
		s.reducer = (const char *)pkt->arg[2].ptr;
		s.reducer_len = pkt->arg[2].len;
		break;
	}
	if (submit_refused(c, pkt))
		return;
	if (c->c_target != NULL) {
		/* Broadcast (bcast.c): one member's own job, never shared. */
		if (s.reducer != NULL) {
			conn_error(c, "INVALID_TARGET", "Broadcast jobs are "
			    "not reduce jobs");
			return;
		}
		s.target = c->c_target;
		s.unique_len = 0;
	}
	queue_submit(c, &s);
}

/*
 * GET_STATUS, GET_STATUS_UNIQUE: gearmand reads the argument as a C string,
 * so it ends at its first NUL; what is left of 64 bytes or more can name
 * nothing, and gearmand does not answer it, nor do we.
 */
static size_t
status_arg(const struct gm_arg *a)
{
	const uint8_t	*nul;

	nul = memchr(a->ptr, '\0', a->len);
	return nul != NULL ? (size_t)(nul - a->ptr) : a->len;
}

static void
h_get_status(struct conn *c, const struct gm_packet *pkt)
{
	size_t	 len = status_arg(&pkt->arg[0]);

	if (len >= GM_HANDLE_SIZE)
		return;
	queue_status(c, pkt->arg[0].ptr, len);
}

static void
h_get_status_unique(struct conn *c, const struct gm_packet *pkt)
{
	size_t	 len = status_arg(&pkt->arg[0]);

	if (len >= GM_UNIQUE_SIZE)
		return;
	queue_status_unique(c, pkt->arg[0].ptr, len);
}

static void
h_echo(struct conn *c, const struct gm_packet *pkt)
{
	conn_send(c, GM_ECHO_RES, NULL, 0, pkt->arg[0].ptr, pkt->arg[0].len);
}

static void
h_client_id(struct conn *c, const struct gm_packet *pkt)
{
	conn_set_client_id(c, (const char *)pkt->arg[0].ptr, pkt->arg[0].len);
}

/*
 * OPTION_REQ: "exceptions" (any case) and gm's "target=NAME" (bcast.c);
 * OPTION_RES echoes the option.
 */
static void
h_option(struct conn *c, const struct gm_packet *pkt)
{
	if (bcast_option(c, pkt->arg[0].ptr, pkt->arg[0].len))
		return;
	if (pkt->arg[0].len == 10 &&
	    strncasecmp((const char *)pkt->arg[0].ptr, "exceptions", 10) == 0) {
		c->c_flags |= CONN_EXCEPTIONS;
		conn_send(c, GM_OPTION_RES, NULL, 0, pkt->arg[0].ptr,
		    pkt->arg[0].len);
		return;
	}
	conn_error(c, "UNKNOWN_OPTION", "Server does not recognize given option");
}
