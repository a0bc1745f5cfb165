/* Public domain. See README.md for the licence of this project. */
/*
 * struct ack: replies that may go out only once the journal answers
 * (JOB_CREATED for a background job, or the QUEUE_ERROR that replaces
 * it).  An ack holds its place in its connection's output stream, the
 * output after it waits in c_held, and conn_ack_done releases a chain of
 * acks with their replies or an error.  Acks outlive their connection:
 * one whose connection closed goes back to the pool when released.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "gm-server.h"

/* The longest reply an ack holds: an ERROR with a journal error text. */
#define ACK_REPLY_MAX	256

/*
 * A reply that may go out only once the journal answers: it holds its
 * place at stream position k_pos of its connection, and everything sent
 * after it waits behind it.  The caller chains the acks of one job
 * (k_next) and releases them together with conn_ack_done.
 */
struct ack {
	TAILQ_ENTRY(ack)	 k_centry;	/* the connection's FIFO */
	struct ack		*k_next;	/* the caller's chain, or the pool */
	struct conn		*k_conn;	/* NULL once it closed */
	uint64_t		 k_pos;
	int			 k_done;
	size_t			 k_len;
	uint8_t			 k_reply[ACK_REPLY_MAX];	/* encoded */
};

static void	ack_encode(struct ack *, uint32_t, const struct gm_arg *, int);

static struct ack	*ack_pool;	/* free ack records (k_next) */

/*
 * Encode the reply of an ack: a packet of type with its nargs arguments,
 * the last one data.  An over-long last argument is cut to fit.
 */
static void
ack_encode(struct ack *k, uint32_t type, const struct gm_arg *args, int nargs)
{
	struct gm_arg	 a[GM_MAX_ARGS];
	size_t		 head;
	int		 i;

	for (i = 0; i < nargs; i++)
		a[i] = args[i];
	head = GM_HEADER_SIZE;
	for (i = 0; i < nargs - 1; i++)
		head += a[i].len + 1;
	if (nargs > 0 && head + a[nargs - 1].len > sizeof(k->k_reply))
		a[nargs - 1].len = head < sizeof(k->k_reply) ?
		    sizeof(k->k_reply) - head : 0;
	if (proto_encode(k->k_reply, sizeof(k->k_reply), GM_RES, type, a,
	    nargs, &k->k_len) != PROTO_OK) {
		log_warnx("cannot encode a held %s", proto_type_name(type));
		k->k_len = 0;
	}
}

/*
 * Reserve the place of a reply (a packet of type, its last argument data)
 * that goes out once conn_ack_done releases it; later output waits behind
 * it.  The ack is put at the head of *chain when chain is not NULL.
 */
struct ack *
conn_ack_new(struct conn *c, struct ack **chain, uint32_t type,
    const struct gm_arg *args, int nargs)
{
	struct ack	*k;

	if ((k = ack_pool) != NULL)
		ack_pool = k->k_next;
	else
		k = xmalloc(sizeof(*k));
	k->k_done = 0;
	ack_encode(k, type, args, nargs);
	k->k_conn = c;
	k->k_pos = c->c_held_base + obuf_len(&c->c_held);
	TAILQ_INSERT_TAIL(&c->c_acks, k, k_centry);
	k->k_next = NULL;
	if (chain != NULL) {
		k->k_next = *chain;
		*chain = k;
	}
	return k;
}

/*
 * The journal answered: release k and the acks chained after it, with
 * their replies (code NULL) or with ERROR code text instead.  Replies go
 * out in order, so only a prefix of a connection's acks leaves at once.
 */
void
conn_ack_done(struct ack *k, const char *code, const char *text)
{
	struct ack	*next;
	struct gm_arg	 a[2];

	for (; k != NULL; k = next) {
		next = k->k_next;
		k->k_done = 1;
		if (code != NULL) {
			a[0] = gm_str(code);
			a[1] = gm_str(text);
			ack_encode(k, GM_ERROR, a, 2);
		}
		if (k->k_conn == NULL) {
			k->k_next = ack_pool;
			ack_pool = k;
		} else
			conn_ack_flush(k->k_conn);
	}
}

/* Release the held output up to the first ack still waiting. */
void
conn_ack_flush(struct conn *c)
{
	struct obuf	*out = &c->c_out;
	struct ack	*k;
	size_t		 before = conn_pending(c), n;

	conn_dirty(c);
	while ((k = TAILQ_FIRST(&c->c_acks)) != NULL && k->k_done) {
		n = (size_t)(k->k_pos - c->c_held_base);
		obuf_move(out, &c->c_held, n);
		c->c_held_base += n;
		obuf_add(out, k->k_reply, k->k_len);
		TAILQ_REMOVE(&c->c_acks, k, k_centry);
		k->k_next = ack_pool;
		ack_pool = k;
	}
	if (TAILQ_EMPTY(&c->c_acks)) {
		c->c_held_base += obuf_len(&c->c_held);
		obuf_move(out, &c->c_held, obuf_len(&c->c_held));
	}
	conn_check(c, before);
	if ((c->c_flags & (CONN_CLOSING | CONN_DEAD)) == CONN_CLOSING)
		conn_finish(c);
}

/*
 * A connection closes: its acks stay with their chains, to be released
 * into the pool, but their replies have nowhere to go.
 */
void
ack_orphan(struct conn *c)
{
	struct ack	*k;

	while ((k = TAILQ_FIRST(&c->c_acks)) != NULL) {
		TAILQ_REMOVE(&c->c_acks, k, k_centry);
		k->k_conn = NULL;
	}
}

/* Free the pool of ack records (last, after the connections). */
void
ack_cleanup(void)
{
	struct ack	*k;

	while ((k = ack_pool) != NULL) {
		ack_pool = k->k_next;
		free(k);
	}
}
