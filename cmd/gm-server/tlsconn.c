/* Public domain. See README.md for the licence of this project. */
/*
 * The server's TLS sessions: the context from --ssl-certificate, --ssl-key
 * and --ssl-ca-file, and the non-blocking handshake for conn.c (which only
 * asks whether it must wait for input or for room; reads and writes go
 * through tls_io).
 */

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "compat.h"
#include "log.h"
#include "tls.h"
#include "gm-server.h"

static SSL_CTX	*server_ctx;

/* Build the context once at start-up; -1 with the reason in err. */
int
tlsconn_init(char *err, size_t len)
{
	struct tls_opts	 o;

	memset(&o, 0, sizeof(o));
	o.ca_file = conf.ssl_ca_file;
	o.cert_file = conf.ssl_cert_file;
	o.key_file = conf.ssl_key_file;
	o.verify = conf.ssl_verify_client;
	if ((server_ctx = tls_ctx_server(&o, err, len)) == NULL)
		return -1;
	return 0;
}

/* A server session on fd; NULL when out of memory. */
struct ssl_st *
tlsconn_new(int fd)
{
	SSL	*ssl;

	if ((ssl = SSL_new(server_ctx)) == NULL)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

/*
 * Go on with the handshake: TLS_DONE, TLS_IO_READ or TLS_IO_WRITE (what
 * it waits for), or -1 with the reason in *why.
 */
int
tlsconn_handshake(struct ssl_st *ssl, const char **why)
{
	int	 rv;

	ERR_clear_error();
	errno = 0;
	if ((rv = SSL_do_handshake(ssl)) == 1)
		return TLS_DONE;
	switch (SSL_get_error(ssl, rv)) {
	case SSL_ERROR_WANT_READ:
		return TLS_IO_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_IO_WRITE;
	default:
		*why = tls_errstr(ssl, rv);
		return -1;
	}
}

/* Decrypted bytes already held, which no read event will announce. */
int
tlsconn_pending(struct ssl_st *ssl)
{
	return SSL_pending(ssl) > 0;
}

/* End a session (no close_notify: the socket is closed next). */
void
tlsconn_free(struct ssl_st *ssl)
{
	SSL_free(ssl);
}

/* Free the context (last). */
void
tlsconn_cleanup(void)
{
	tls_ctx_free(server_ctx);
	server_ctx = NULL;
}
