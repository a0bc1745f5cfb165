/* Public domain. See README.md for the licence of this project. */
/*
 * TLS contexts and client sessions (OpenSSL): TLS 1.2 at least, the
 * certificate and key files of gearmand's options, peer verification
 * against a CA file, and the server's name checked by the client.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls.h"

/* The reason of the last OpenSSL failure, in buf. */
static void
tls_reason(char *buf, size_t len, const char *what, const char *file)
{
	unsigned long	 e = ERR_peek_last_error();
	const char	*r = e != 0 ? ERR_reason_error_string(e) : NULL;

	snprintf(buf, len, "%s%s%s: %s", what, file ? " " : "",
	    file ? file : "", r != NULL ? r : (errno ? strerror(errno) :
	    "unknown error"));
	ERR_clear_error();
}

/* Load the certificate chain and key named in o into ctx. */
static int
tls_load_keypair(SSL_CTX *ctx, const struct tls_opts *o, char *err,
    size_t len)
{
	const char	*key = o->key_file != NULL ? o->key_file : o->cert_file;

	if (o->cert_file == NULL)
		return 0;
	if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1) {
		tls_reason(err, len, "certificate", o->cert_file);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_reason(err, len, "key", key);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_reason(err, len, "key does not match certificate", key);
		return -1;
	}
	return 0;
}

/* A context with what both sides share; NULL with a reason in err. */
static SSL_CTX *
tls_ctx_new(const SSL_METHOD *m, const struct tls_opts *o, char *err,
    size_t len)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(m)) == NULL) {
		tls_reason(err, len, "TLS context", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Gearman peers close without close_notify: that is an end, no error. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (tls_load_keypair(ctx, o, err, len) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * The tools' context: the server's certificate is checked against
 * o->ca_file (or the system's CAs) unless o->verify is 0.
 */
SSL_CTX *
tls_ctx_client(const struct tls_opts *o, char *err, size_t len)
{
	SSL_CTX	*ctx;
	int	 rv;

	if ((ctx = tls_ctx_new(TLS_client_method(), o, err, len)) == NULL)
		return NULL;
	if (o->ca_file != NULL)
		rv = SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL);
	else
		rv = SSL_CTX_set_default_verify_paths(ctx);
	if (rv != 1) {
		tls_reason(err, len, "CA file", o->ca_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, o->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
	    NULL);
	return ctx;
}

/*
 * The server's context: with a CA file, a client certificate is asked
 * for and checked (one that does not verify ends the handshake); with
 * o->verify, a client without one is refused too.
 */
SSL_CTX *
tls_ctx_server(const struct tls_opts *o, char *err, size_t len)
{
	SSL_CTX			*ctx;
	STACK_OF(X509_NAME)	*names;
	int			 mode;

	if (o->cert_file == NULL) {
		snprintf(err, len, "TLS needs a certificate");
		return NULL;
	}
	if ((ctx = tls_ctx_new(TLS_server_method(), o, err, len)) == NULL)
		return NULL;
	if (o->ca_file == NULL) {
		if (o->verify) {
			snprintf(err, len, "client verification needs a CA "
			    "file");
			SSL_CTX_free(ctx);
			return NULL;
		}
		return ctx;
	}
	if (SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1 ||
	    (names = SSL_load_client_CA_file(o->ca_file)) == NULL) {
		tls_reason(err, len, "CA file", o->ca_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	mode = SSL_VERIFY_PEER;
	if (o->verify)
		mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	SSL_CTX_set_verify(ctx, mode, NULL);
	return ctx;
}

/*
 * A client session on fd for host: SNI and, when the context verifies,
 * the name (or address) the certificate must hold.
 */
SSL *
tls_client_new(SSL_CTX *ctx, int fd, const char *host)
{
	struct in6_addr	 a6;
	SSL		*ssl;
	int		 ip;

	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1)
		goto fail;
	ip = inet_pton(AF_INET, host, &a6) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1;
	if (!ip)
		SSL_set_tlsext_host_name(ssl, host);
	if (SSL_CTX_get_verify_mode(ctx) != SSL_VERIFY_NONE) {
		if (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    host) != 1 : SSL_set1_host(ssl, host) != 1)
			goto fail;
	}
	SSL_set_connect_state(ssl);
	return ssl;
fail:
	SSL_free(ssl);
	return NULL;
}

/* Whether the peer presented a certificate that verified. */
int
tls_peer_verified(SSL *ssl)
{
	X509	*x;
	int	 ok;

	if ((x = SSL_get_peer_certificate(ssl)) == NULL)
		return 0;
	ok = SSL_get_verify_result(ssl) == X509_V_OK;
	X509_free(x);
	return ok;
}

/*
 * The reason of OpenSSL error e on ssl (the certificate check when that
 * failed) in buf, or NULL for no error.
 */
const char *
tls_why(SSL *ssl, unsigned long e, char *buf, size_t len)
{
	long	 v;

	if (e == 0)
		return NULL;
	if (ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
	    (v = SSL_get_verify_result(ssl)) != X509_V_OK)
		snprintf(buf, len, "certificate verify failed: %s",
		    X509_verify_cert_error_string(v));
	else
		snprintf(buf, len, "%s", ERR_reason_error_string(e) ?
		    ERR_reason_error_string(e) : "TLS error");
	return buf;
}

/*
 * Why an SSL call that returned rv failed: the certificate check, the
 * library's reason, the system error or an unexpected end of file.  The
 * text lives until the next call.
 */
const char *
tls_errstr(SSL *ssl, int rv)
{
	static char	 buf[256];
	int		 code = SSL_get_error(ssl, rv), saved = errno;

	if (tls_why(ssl, ERR_peek_last_error(), buf, sizeof(buf)) == NULL) {
		if (code == SSL_ERROR_SYSCALL && saved != 0)
			snprintf(buf, sizeof(buf), "%s", strerror(saved));
		else if (code == SSL_ERROR_SYSCALL ||
		    code == SSL_ERROR_ZERO_RETURN)
			snprintf(buf, sizeof(buf), "connection closed during "
			    "the handshake");
		else
			snprintf(buf, sizeof(buf), "TLS error %d", code);
	}
	ERR_clear_error();
	return buf;
}

/*
 * Move bytes over a non-blocking TLS session as read(2) or write(2) would
 * (out: write): the count, 0 at the end of input (with or without the
 * peer's close_notify), or -1 with errno: EAGAIN when the session waits,
 * with *want saying for what (TLS_IO_READ or TLS_IO_WRITE), EPROTO for a
 * TLS error, or the system's error.
 */
ssize_t
tls_io(SSL *ssl, void *buf, size_t len, int out, int *want)
{
	int	 rv, code;

	if (len > INT32_MAX)
		len = INT32_MAX;
	ERR_clear_error();
	errno = 0;
	rv = out ? SSL_write(ssl, buf, (int)len) : SSL_read(ssl, buf, (int)len);
	if (rv > 0)
		return rv;
	switch ((code = SSL_get_error(ssl, rv))) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		*want = code == SSL_ERROR_WANT_READ ? TLS_IO_READ :
		    TLS_IO_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		if (!out)
			return 0;
		errno = EPIPE;
		return -1;
	case SSL_ERROR_SYSCALL:
		if (errno != 0)
			return -1;
		if (!out)
			return 0;
		errno = EPIPE;
		return -1;
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

/* Free a context (NULL is fine). */
void
tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

/* Take one of the tools' TLS options: 1 if ch was one, else 0. */
int
tls_tool_option(struct tls_tool *t, int ch, const char *arg)
{
	if (!t->on)
		t->o.verify = 1;
	switch (ch) {
	case 'S':
		break;
	case TLS_OPT_CA:
		t->o.ca_file = arg;
		break;
	case TLS_OPT_CERT:
		t->o.cert_file = arg;
		break;
	case TLS_OPT_KEY:
		t->o.key_file = arg;
		break;
	case TLS_OPT_NOVERIFY:
		t->o.verify = 0;
		break;
	default:
		return 0;
	}
	t->on = 1;
	return 1;
}

/*
 * The context the tool's options ask for, NULL without TLS; a file that
 * cannot be used ends the program with status code.
 */
SSL_CTX *
tls_tool_ctx(struct tls_tool *t, int code)
{
	SSL_CTX	*ctx;
	char	 why[256];

	if (!t->on)
		return NULL;
	if (t->o.key_file != NULL && t->o.cert_file == NULL)
		errx(code, "--ssl-key needs --ssl-certificate");
	if ((ctx = tls_ctx_client(&t->o, why, sizeof(why))) == NULL)
		errx(code, "TLS: %s", why);
	return ctx;
}
