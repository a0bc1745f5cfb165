/* Public domain. See README.md for the licence of this project. */
/*
 * TLS with OpenSSL, shared by the server and the tools: contexts built
 * from certificate files (gearmand's option names), client sessions that
 * check the server's name, and the reason for the last failure.
 */
#ifndef GM_TLS_H
#define GM_TLS_H

#include <sys/types.h>

#include <stddef.h>

struct ssl_ctx_st;
struct ssl_st;

/* gearmand's default files for --ssl. */
#define TLS_DEFAULT_CA		"/etc/ssl/certs/gearmand-ca.pem"
#define TLS_DEFAULT_CERT	"/etc/ssl/certs/gearmand.pem"
#define TLS_DEFAULT_KEY		"/etc/ssl/certs/gearmand.key"

struct tls_opts {
	const char	*ca_file;	/* NULL: the system's (client) or none */
	const char	*cert_file;	/* NULL: present no certificate */
	const char	*key_file;	/* NULL: in cert_file */
	int		 verify;	/* client: check the server (default);
					   server: require a client cert */
};

/*
 * The tools' TLS options, the same in gm-submit, gm-work and gm-admin:
 * put TLS_TOOL_LONGOPTS in the getopt_long table and "S" in the short
 * options, and hand every option to tls_tool_option.
 */
#define TLS_OPT_CA		0x1000
#define TLS_OPT_CERT		0x1001
#define TLS_OPT_KEY		0x1002
#define TLS_OPT_NOVERIFY	0x1003
#define TLS_TOOL_LONGOPTS \
	{ "ssl",		no_argument,		NULL,	'S' }, \
	{ "ssl-ca-file",	required_argument,	NULL,	TLS_OPT_CA }, \
	{ "ssl-certificate",	required_argument,	NULL,	TLS_OPT_CERT }, \
	{ "ssl-key",		required_argument,	NULL,	TLS_OPT_KEY }, \
	{ "ssl-no-verify",	no_argument,		NULL,	TLS_OPT_NOVERIFY }
#define TLS_TOOL_USAGE \
	"[-S] [--ssl-ca-file file] [--ssl-certificate file] [--ssl-key file]" \
	" [--ssl-no-verify]"

struct tls_tool {
	int		 on;
	struct tls_opts	 o;
};

int		 tls_tool_option(struct tls_tool *, int, const char *);
struct ssl_ctx_st *tls_tool_ctx(struct tls_tool *, int);
struct ssl_ctx_st *tls_ctx_client(const struct tls_opts *, char *, size_t);
struct ssl_ctx_st *tls_ctx_server(const struct tls_opts *, char *, size_t);
struct ssl_st	*tls_client_new(struct ssl_ctx_st *, int, const char *);
int		 tls_peer_verified(struct ssl_st *);
const char	*tls_errstr(struct ssl_st *, int);
const char	*tls_why(struct ssl_st *, unsigned long, char *, size_t);
void		 tls_ctx_free(struct ssl_ctx_st *);

/* What tls_io waits for when it fails with EAGAIN. */
#define TLS_IO_READ	1
#define TLS_IO_WRITE	2
ssize_t		 tls_io(struct ssl_st *, void *, size_t, int, int *);

#endif /* GM_TLS_H */
