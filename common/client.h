/* Public domain. See README.md for the licence of this project. */
/*
 * The client side of one connection to a job server, shared by gm-submit
 * and gm-admin: connect with a timeout, buffered packet and admin-line
 * output, buffered input split into packets (proto.h) or text lines.
 * Plain non-blocking sockets and poll(2); no libevent.
 */
#ifndef GM_CLIENT_H
#define GM_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"
#include "proto.h"

struct ssl_ctx_st;
struct ssl_st;
struct tool_opts;

struct client {
	int		 fd;		/* -1 when closed */
	struct ssl_st	*ssl;		/* TLS session, or NULL */
	char		 tls_error[160]; /* why the handshake failed, or "" */
	struct gm_server srv;		/* the server it connects to */
	char		 name[300];	/* "host:port", for messages */
	uint8_t		*rbuf;		/* received bytes; client frees */
	size_t		 roff;		/* first unread byte */
	size_t		 rlen;		/* end of the received bytes */
	size_t		 rcap;
	uint8_t		*wbuf;		/* bytes to send; client frees */
	size_t		 woff;		/* first unsent byte */
	size_t		 wlen;
	size_t		 wcap;
};

void	client_tool_servers(struct tool_opts *, struct gm_server **,
	    size_t *);
void	client_init(struct client *, const struct gm_server *);
const char *client_strerror(const struct client *, int);
int	client_connect(struct client *, int);
void	client_close(struct client *);
void	client_free(struct client *);

int	client_queue(struct client *, uint32_t, const struct gm_arg *, int);
void	client_queue_line(struct client *, const char *);
size_t	client_pending(const struct client *);
int	client_write(struct client *);
int	client_flush(struct client *, int64_t);

int	client_read(struct client *);
int	client_packet(struct client *, struct gm_packet *);
int	client_line(struct client *, const char **, size_t *);
int	client_wait_packet(struct client *, struct gm_packet *, int64_t);
int	client_wait_line(struct client *, const char **, size_t *, int64_t);

int64_t	client_now(void);
int	client_remaining(int64_t);

#endif /* GM_CLIENT_H */
