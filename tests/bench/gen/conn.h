/* Public domain. See README.md for the licence of this project. */
/*
 * The raw protocol connections of gmbench (gen/conn.c): buffered,
 * non-blocking, optionally TLS, all in one epoll set.  The scenario code
 * (gmbench.c) provides handle(), called for each packet received.
 */

#ifndef GEN_CONN_H
#define GEN_CONN_H

#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "proto.h"

enum role {
	R_CLIENT,
	R_WORKER,
	R_IDLE
};

struct conn {
	int		 fd;
	SSL		*ssl;		/* -S */
	enum role	 role;
	uint8_t		*in;		/* received, not yet parsed */
	size_t		 inlen, incap;
	uint8_t		*out;		/* to send: out[outoff..outlen) */
	size_t		 outoff, outlen, outcap;
	int		 dirty;		/* on the flush list */
	int		 pollout;	/* EPOLLOUT registered */
	int		 inflight;	/* client: jobs not finished */
	int		 grabs;		/* worker: GRAB_JOBs unanswered */
	int		 sleeping;	/* worker: PRE_SLEEP sent, no NOOP */
	int		 echoes;	/* ECHO_REQs unanswered */
	uint64_t	 sent_ns;	/* latency mode: submit time */
	struct conn	*next_dirty;
};

extern const char	*host;		/* the server */
extern const char	*port;
extern SSL_CTX		*tls;		/* -S */
extern int		 ep;		/* the epoll set of every connection */
extern struct conn	**conns;
extern int		 nconns;

uint64_t	 now_ns(void);
struct conn	*conn_open(enum role);
uint8_t		*conn_reserve(struct conn *, size_t);
void		 conn_mark(struct conn *);
void		 conn_flush(struct conn *);
void		 flush_all(void);
void		 conn_read(struct conn *);
ssize_t		 conn_io(struct conn *, void *, size_t, int);
void		 send_simple(struct conn *, uint32_t);
void		 send_str(struct conn *, uint32_t, const char *);
void		 send_echo(struct conn *);

/* Provided by the scenarios: one packet received on c. */
void		 handle(struct conn *, const struct gm_packet *);

#endif
