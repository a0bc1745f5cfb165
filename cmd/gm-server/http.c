/* Public domain. See README.md for the licence of this project. */
/*
 * HTTP: the evhttp instance on the server's event base.  It serves the
 * status page (/), Prometheus metrics (/metrics) and the admin views as
 * JSON (/api/VIEW), takes gearmand-style job submissions (POST /FUNCTION)
 * and, for trusted peers, cancels jobs (POST /api/cancel/HANDLE) and
 * retries or purges failed ones (POST /api/failed/retry|purge/HANDLE).
 * This file is the plumbing: the listener, routing, trust and the
 * answers.  The page (http_page.c) and the metrics (http_metrics.c) read
 * the server's state through accessors; the JSON, the submissions and the
 * actions (http_link.c) go through the server's own protocols over an
 * internal socketpair (a "link"), so they get exactly what any Gearman
 * client or gm-admin gets.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "compat.h"
#include "log.h"
#include "journal.h"
#include "xmalloc.h"
#include "gm-server.h"

#define HTTP_DEFAULT_ADDR	"127.0.0.1"
#define HTTP_DEFAULT_PORT	"8080"	/* gearmand's --http-port */
#define HTTP_MAX_HEADERS	16384	/* request line and headers */
#define HTTP_TIMEOUT		30	/* s of silence before a drop */

static void	http_request(struct evhttp_request *, void *);

static struct evhttp	*http;
static struct evhttp_bound_socket *http_bound;
static int		 http_fd = -1;
static char		 http_name[NI_MAXHOST + 16];
uint64_t		 nrequests, nrejected;

/*
 * Bind the HTTP socket (before privileges are dropped): --http's address
 * or 127.0.0.1, on --http's port, --http-port or 8080.
 */
int
http_open(void)
{
	struct addrinfo		 hints, *res;
	struct sockaddr_storage	 ss;
	socklen_t		 slen = sizeof(ss);
	const char		*addr, *port;
	char			 host[NI_MAXHOST], serv[NI_MAXSERV];
	int			 fd, one = 1, error;

	if (!conf.http)
		return 0;
	addr = conf.http_addr != NULL && conf.http_addr[0] != '\0' ?
	    conf.http_addr : HTTP_DEFAULT_ADDR;
	port = conf.http_port != NULL ? conf.http_port : HTTP_DEFAULT_PORT;
	if (addr[0] == '[' && addr[strlen(addr) - 1] == ']') {
		strlcpy(host, addr + 1, sizeof(host));
		host[strlen(host) - 1] = '\0';
		addr = host;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((error = getaddrinfo(addr, port, &hints, &res)) != 0) {
		log_warnx("http: %s port %s: %s", addr, port,
		    gai_strerror(error));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, res->ai_protocol);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 || bind(fd, res->ai_addr, res->ai_addrlen) ==
	    -1 || listen(fd, conf.backlog) == -1) {
		log_warn("http: cannot listen on %s port %s", addr, port);
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	if (getsockname(fd, (struct sockaddr *)&ss, &slen) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, slen, host, sizeof(host),
	    serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(http_name, sizeof(http_name), ss.ss_family ==
		    AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
	http_fd = fd;
	return 0;
}

/* Serve HTTP on the bound socket. */
void
http_start(void)
{
	if (http_fd == -1)
		return;
	if ((http = evhttp_new(base)) == NULL || (http_bound =
	    evhttp_accept_socket_with_handle(http, http_fd)) == NULL)
		fatalx("http: cannot set up the HTTP server");
	evhttp_set_max_headers_size(http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(http, (ev_ssize_t)conf.max_packet);
	evhttp_set_timeout(http, HTTP_TIMEOUT);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST);
	evhttp_set_gencb(http, http_request, NULL);
	log_info("http: listening on %s", http_name);
}

/* Accept no new HTTP connection (graceful shutdown). */
void
http_stop(void)
{
	if (http_bound != NULL)
		evhttp_del_accept_socket(http, http_bound);
	http_bound = NULL;
}

/* Stop serving HTTP and drop the requests in flight (shutdown). */
void
http_free(void)
{
	http_links_free();
	if (http != NULL)
		evhttp_free(http);
	http = NULL;
	http_fd = -1;
}

/* The peer of a request, "address:port", for log lines. */
const char *
peer_name(struct evhttp_request *req, char *buf, size_t len)
{
	struct evhttp_connection	*evcon;
	char				*addr = NULL;
	uint16_t			 port = 0;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return "-";
	evhttp_connection_get_peer(evcon, &addr, &port);
	snprintf(buf, len, "%s:%u", addr != NULL ? addr : "-", port);
	return buf;
}

/*
 * Whether the peer is trusted as on the Gearman port: loopback or an
 * --admin-allow network (listen.c), or anyone with --admin-open.
 */
int
peer_trusted(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	const struct sockaddr		*sa;

	if (conf.admin_open)
		return 1;
	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (sa = evhttp_connection_get_addr(evcon)) == NULL)
		return 0;
	return listen_trusted(sa);
}

/* Send a reply with a body (NULL: the text, or nothing). */
void
http_reply(struct evhttp_request *req, int code, const char *reason,
    const char *text, struct evbuffer *body)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*b = body;

	if (b == NULL) {
		b = evbuffer_new();
		if (text != NULL)
			evbuffer_add(b, text, strlen(text));
	}
	if (evhttp_find_header(h, "Content-Type") == NULL)
		evhttp_add_header(h, "Content-Type",
		    "text/plain; charset=utf-8");
	evhttp_add_header(h, "Server", "gm-server/" GM_VERSION);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, reason, b);
	if (body == NULL)
		evbuffer_free(b);
}

/* Refuse a request: a 4xx/5xx with a one-line reason, and a log line. */
void
http_fail(struct evhttp_request *req, int code, const char *reason,
    const char *fmt, ...)
{
	va_list		 ap;
	char		 why[256], uri[256], peer[NI_MAXHOST + 8], *text;
	const char	*u = evhttp_request_get_uri(req);

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	nrejected++;
	log_warnx("http: %s: %s %s: %d %s", peer_name(req, peer,
	    sizeof(peer)), evhttp_request_get_command(req) ==
	    EVHTTP_REQ_POST ? "POST" : "GET", log_escape(u, strlen(u), uri,
	    sizeof(uri)), code, why);
	xasprintf(&text, "%d %s: %s\n", code, reason, why);
	http_reply(req, code, reason, text, NULL);
	free(text);
}

/* Route one request. */
static void
http_request(struct evhttp_request *req, void *arg __unused)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	const char		*path = evhttp_uri_get_path(uri);
	int			 get = cmd == EVHTTP_REQ_GET ||
				    cmd == EVHTTP_REQ_HEAD;

	nrequests++;
	if (path == NULL || path[0] != '/') {
		http_fail(req, 400, "Bad Request", "no path");
		return;
	}
	if (get && conf.admin_reads && !peer_trusted(req)) {
		http_fail(req, 403, "Forbidden", "--admin-trusted-reads: "
		    "reads need a trusted peer");
		return;
	}
	if (strcmp(path, "/") == 0 || strcmp(path, "/metrics") == 0) {
		if (!get) {
			evhttp_add_header(evhttp_request_get_output_headers(
			    req), "Allow", "GET, HEAD");
			http_fail(req, 405, "Method Not Allowed",
			    "%s takes GET", path);
		} else if (path[1] == '\0')
			http_page(req);
		else
			http_metrics(req);
		return;
	}
	if (strncmp(path, "/api/", 5) == 0) {
		http_api(req, path, get);
		return;
	}
	if (get) {
		http_fail(req, 404, "Not Found", "submit jobs with POST "
		    "/FUNCTION");
		return;
	}
	http_submit(req, path + 1);
}

/*
 * Whether an admin line on the Gearman port is an HTTP request line:
 * METHOD SP TARGET SP HTTP/1.x.
 */
int
http_request_line(const char *line)
{
	static const char *const methods[] = { "GET ", "POST ", "HEAD ",
	    "PUT ", "DELETE ", "OPTIONS " };
	size_t	 i, n = strlen(line);

	if (n < 14 || strncmp(line + n - 9, " HTTP/1.", 8) != 0)
		return 0;
	for (i = 0; i < nitems(methods); i++)
		if (strncmp(line, methods[i], strlen(methods[i])) == 0)
			return 1;
	return 0;
}

/*
 * Answer an HTTP request that came to the Gearman port: a redirect to the
 * same path on the HTTP listener when there is one (its address, or the
 * address the peer reached when HTTP listens on every address), else a
 * clear error saying how to turn HTTP on.
 */
void
http_misdirected(struct conn *c, const char *line)
{
	struct sockaddr_storage	 ss;
	socklen_t		 slen = sizeof(ss);
	const char		*target, *sp, *port;
	char			 host[NI_MAXHOST], url[NI_MAXHOST + 300];
	char			*body;
	int			 n, i;

	/* The path goes into a header: printable ASCII only, or "/". */
	target = strchr(line, ' ') + 1;
	sp = strchr(target, ' ');
	n = (int)(sp - target);
	for (i = 0; i < n && target[i] > 0x20 && target[i] < 0x7f; i++)
		;
	if (n > 256 || i < n || target[0] != '/')
		n = 1;
	log_info("fd %d (%s): HTTP request on the Gearman port", c->c_fd,
	    c->c_peer);
	if (http == NULL) {
		xasprintf(&body, "This is the Gearman port of gm-server "
		    "(binary and admin text protocols).\nIts HTTP interface "
		    "is off: start gm-server with --http [address:]port.\n");
		conn_printf(c, "HTTP/1.0 400 Bad Request\r\nContent-Type: "
		    "text/plain\r\nContent-Length: %zu\r\nConnection: close"
		    "\r\n\r\n%s", strlen(body), body);
		free(body);
		return;
	}
	strlcpy(host, http_name, sizeof(host));
	port = strrchr(host, ':');
	if ((strncmp(host, "0.0.0.0:", 8) == 0 || strncmp(host, "[::]:", 5) ==
	    0) && getsockname(c->c_fd, (struct sockaddr *)&ss, &slen) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, slen, url, sizeof(url), NULL,
	    0, NI_NUMERICHOST) == 0)
		snprintf(host, sizeof(host), ss.ss_family == AF_INET6 ?
		    "[%s]%s" : "%s%s", url, http_name + (port - host));
	snprintf(url, sizeof(url), "http://%s%.*s", host, n, target);
	xasprintf(&body, "This is the Gearman port of gm-server.\nIts HTTP "
	    "interface is at %s\n", url);
	conn_printf(c, "HTTP/1.0 307 Temporary Redirect\r\nLocation: %s\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", url, strlen(body), body);
	free(body);
}
