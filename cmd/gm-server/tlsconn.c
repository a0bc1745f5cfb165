/* Public domain. See README.md for the licence of this project. */
/*
 * The server's TLS: its context from --ssl-certificate, --ssl-key and
 * --ssl-ca-file, and non-blocking handshake, read and write for conn.c
 * (which only asks whether it must wait for input or for room).
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

/* What an SSL call that returned rv waits for: TLS_WANT_*, or -1. */
static int
tlsconn_want(SSL *ssl, int rv)
{
	switch (SSL_get_error(ssl, rv)) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	default:
		return -1;
	}
}

/*
 * Go on with the handshake: TLS_DONE, TLS_WANT_READ, TLS_WANT_WRITE, or
 * -1 with the reason in *why.
 */
int
tlsconn_handshake(struct ssl_st *ssl, const char **why)
{
	int	 rv, want;

	ERR_clear_error();
	errno = 0;
	if ((rv = SSL_do_handshake(ssl)) == 1)
		return TLS_DONE;
	if ((want = tlsconn_want(ssl, rv)) != -1)
		return want;
	*why = tls_errstr(ssl, rv);
	return -1;
}

/*
 * Read decrypted bytes: the count, 0 at the end, or -1 with errno
 * (EAGAIN: wait for input or room; *want says which).
 */
ssize_t
tlsconn_read(struct ssl_st *ssl, void *buf, size_t len, int *want)
{
	int	 rv, code;

	ERR_clear_error();
	if ((rv = SSL_read(ssl, buf, len > INT32_MAX ? INT32_MAX :
	    (int)len)) > 0)
		return rv;
	code = SSL_get_error(ssl, rv);
	if (code == SSL_ERROR_ZERO_RETURN)
		return 0;
	if ((*want = tlsconn_want(ssl, rv)) != -1) {
		errno = EAGAIN;
		return -1;
	}
	if (code == SSL_ERROR_SYSCALL && errno == 0)
		return 0;	/* the peer closed without close_notify */
	if (code != SSL_ERROR_SYSCALL) {
		log_debug("%s: %s", __func__, tls_errstr(ssl, rv));
		errno = EPROTO;
	}
	return -1;
}

/* Write bytes: the count taken, or -1 with errno as tlsconn_read. */
ssize_t
tlsconn_write(struct ssl_st *ssl, const void *buf, size_t len, int *want)
{
	int	 rv;

	ERR_clear_error();
	if ((rv = SSL_write(ssl, buf, len > INT32_MAX ? INT32_MAX :
	    (int)len)) > 0)
		return rv;
	if ((*want = tlsconn_want(ssl, rv)) != -1) {
		errno = EAGAIN;
		return -1;
	}
	if (SSL_get_error(ssl, rv) != SSL_ERROR_SYSCALL || errno == 0)
		errno = EPIPE;
	return -1;
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
