/* Public domain. See README.md for the licence of this project. */
/*
 * HTTP: the evhttp instance on the server's event base.  It serves the
 * status page (/), Prometheus metrics (/metrics) and the admin views as
 * JSON (/api/VIEW), takes gearmand-style job submissions (POST /FUNCTION)
 * and, for trusted peers, cancels jobs (POST /api/cancel/HANDLE) and
 * retries or purges failed ones (POST /api/failed/retry|purge/HANDLE).
 * This file is the plumbing: the listener, routing, trust, the answers,
 * and the links.  The page (http_page.c) and the metrics (http_metrics.c)
 * read the server's state through accessors; the JSON, the submissions
 * and the actions go through the server's own protocols over an internal
 * socketpair (a "link"), so they get exactly what any Gearman client or
 * gm-admin gets.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "compat.h"
#include "log.h"
#include "journal.h"
#include "view.h"
#include "xmalloc.h"
#include "gm-server.h"

#define HTTP_DEFAULT_ADDR	"127.0.0.1"
#define HTTP_DEFAULT_PORT	"8080"	/* gearmand's --http-port */
#define HTTP_MAX_HEADERS	16384	/* request line and headers */
#define HTTP_TIMEOUT		30	/* s of silence before a drop */

enum link_kind {
	LINK_VIEW,	/* one admin list command, answered as JSON */
	LINK_ACTION,	/* admin `cancel job`, `failed retry|purge job` */
	LINK_SUBMIT	/* one SUBMIT_JOB*, answered with its result */
};

/*
 * One HTTP request served over an internal connection to ourselves.  The
 * request may outlive its HTTP connection (l_gone); the link is freed
 * once the answer is sent.
 */
struct link {
	TAILQ_ENTRY(link)	 l_entry;
	struct bufferevent	*l_bev;		/* our end of the socketpair */
	struct evhttp_request	*l_req;
	struct evhttp_connection *l_evcon;	/* NULL once it closed */
	enum link_kind		 l_kind;
	const struct view	*l_view;
	struct table		 l_table;
	int			 l_bg;
	int			 l_back;	/* a page's form: 303 to / */
	char			 l_handle[GM_HANDLE_SIZE];
	struct evbuffer		*l_body;	/* WORK_DATA so far */
	struct event		*l_timer;	/* X-Gearman-Timeout */
	struct event		*l_watch;	/* the HTTP peer's EOF */
};

static void	http_request(struct evhttp_request *, void *);
static void	http_submit(struct evhttp_request *, const char *);
static void	http_fail(struct evhttp_request *, int, const char *,
		    const char *, ...) __attribute__((__format__(printf, 4, 5)));
static struct link *link_open(struct evhttp_request *, enum link_kind);
static void	link_readcb(struct bufferevent *, void *);
static void	link_eventcb(struct bufferevent *, short, void *);
static void	link_closed(struct evhttp_connection *, void *);
static void	link_timeout(evutil_socket_t, short, void *);
static void	link_watch(evutil_socket_t, short, void *);
static void	link_free(struct link *);
static void	link_done(struct link *, int, const char *, const char *,
		    struct evbuffer *);
static int	peer_trusted(struct evhttp_request *);

static struct evhttp	*http;
static struct evhttp_bound_socket *http_bound;
static int		 http_fd = -1;
static char		 http_name[NI_MAXHOST + 16];
static TAILQ_HEAD(, link) links = TAILQ_HEAD_INITIALIZER(links);
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
	struct link	*l;

	while ((l = TAILQ_FIRST(&links)) != NULL)
		link_done(l, 503, "Service Unavailable", "503 Service "
		    "Unavailable: the server is stopping\n", NULL);
	if (http != NULL)
		evhttp_free(http);
	http = NULL;
	http_fd = -1;
}

/* The peer of a request, "address:port", for log lines. */
static const char *
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
static int
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
static void
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

/* The POST /api/ actions: the admin command each one runs on a handle. */
struct action {
	const char	*path;	/* under /api/, ends with '/' */
	const char	*cmd;	/* admin command, the handle follows */
	const char	*what;	/* for the log and the 403 */
};
static const struct action actions[] = {
	{ "cancel/", "cancel job ", "cancel" },
	{ "failed/retry/", "failed retry job ", "retry" },
	{ "failed/purge/", "failed purge job ", "purge" },
};

static const struct action *
action_find(const char *path)
{
	size_t	 i;

	for (i = 0; i < nitems(actions); i++)
		if (strncmp(path, actions[i].path, strlen(actions[i].path)) ==
		    0)
			return &actions[i];
	return NULL;
}

/*
 * POST /api/ACTION/HANDLE: a trusted peer only.  A browser's form (it
 * asks for text/html) is sent back to the page with a 303.
 */
static void
http_action(struct evhttp_request *req, const struct action *a,
    const char *handle)
{
	const char	*accept = evhttp_find_header(
			    evhttp_request_get_input_headers(req), "Accept");
	struct link	*l;
	char		*dec;
	size_t		 len;

	dec = evhttp_uridecode(handle, 0, &len);
	if (!peer_trusted(req))
		http_fail(req, 403, "Forbidden", "%s needs a trusted peer "
		    "(loopback, --admin-allow)", a->what);
	else if (dec == NULL || len == 0 || len >= GM_HANDLE_SIZE ||
	    strcspn(dec, " \t\r\n") != len)
		http_fail(req, 400, "Bad Request", "not a job handle");
	else {
		l = link_open(req, LINK_ACTION);
		l->l_back = accept != NULL && strstr(accept, "text/html") !=
		    NULL;
		bufferevent_write(l->l_bev, a->cmd, strlen(a->cmd));
		bufferevent_write(l->l_bev, dec, len);
		bufferevent_write(l->l_bev, "\n", 1);
	}
	free(dec);
}

/* Route one request. */
static void
http_request(struct evhttp_request *req, void *arg __unused)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	const char		*path = evhttp_uri_get_path(uri);
	const struct view	*v;
	const struct action	*a;
	struct link		*l;
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
		/* Views of one function's members (takesfunc) are not served. */
		if (get && (v = view_find(path + 5)) != NULL &&
		    !v->takesfunc) {
			l = link_open(req, LINK_VIEW);
			l->l_view = v;
			table_init(&l->l_table, v->cols, v->ncols, 0);
			bufferevent_write(l->l_bev, v->cmd, strlen(v->cmd));
			bufferevent_write(l->l_bev, "\n", 1);
			return;
		}
		if (!get && (a = action_find(path + 5)) != NULL) {
			http_action(req, a, path + 5 + strlen(a->path));
			return;
		}
		http_fail(req, 404, "Not Found", "no such %s", get ?
		    "view (status, priority-status, workers, jobs, "
		    "unique-jobs, journal, stats, failed, retrying, retries, "
		    "failed-stats)" :
		    "action (cancel/HANDLE, failed/retry/HANDLE, "
		    "failed/purge/HANDLE)");
		return;
	}
	if (get) {
		http_fail(req, 404, "Not Found", "submit jobs with POST "
		    "/FUNCTION");
		return;
	}
	http_submit(req, path + 1);
}

/* Open an internal connection for a request. */
static struct link *
link_open(struct evhttp_request *req, enum link_kind kind)
{
	struct link	*l;
	char		 addr[NI_MAXHOST + 8], peer[NI_MAXHOST + 16];
	int		 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1)
		fatal("http: socketpair");
	l = xcalloc(1, sizeof(*l));
	l->l_req = req;
	l->l_kind = kind;
	l->l_evcon = evhttp_request_get_connection(req);
	/* The server sees the HTTP peer as this connection's address. */
	snprintf(peer, sizeof(peer), "http:%s", peer_name(req, addr,
	    sizeof(addr)));
	conn_accept(sv[0], peer, peer_trusted(req) ? CONN_TRUSTED : 0);
	if ((l->l_bev = bufferevent_socket_new(base, sv[1],
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("http: bufferevent_socket_new");
	bufferevent_setcb(l->l_bev, link_readcb, NULL, link_eventcb, l);
	bufferevent_enable(l->l_bev, EV_READ | EV_WRITE);
	if (l->l_evcon != NULL) {
		evhttp_connection_set_closecb(l->l_evcon, link_closed, l);
		/*
		 * evhttp does not read while a request waits for its answer;
		 * watch the socket, so a client that leaves is seen at once.
		 */
		l->l_watch = event_new(base, bufferevent_getfd(
		    evhttp_connection_get_bufferevent(l->l_evcon)), EV_READ,
		    link_watch, l);
		event_add(l->l_watch, NULL);
	}
	TAILQ_INSERT_TAIL(&links, l, l_entry);
	return l;
}

/* Free a link; closing our end tells the server its "client" left. */
static void
link_free(struct link *l)
{
	TAILQ_REMOVE(&links, l, l_entry);
	if (l->l_evcon != NULL)
		evhttp_connection_set_closecb(l->l_evcon, NULL, NULL);
	bufferevent_free(l->l_bev);
	if (l->l_timer != NULL)
		event_free(l->l_timer);
	if (l->l_watch != NULL)
		event_free(l->l_watch);
	if (l->l_body != NULL)
		evbuffer_free(l->l_body);
	table_free(&l->l_table);
	free(l);
}

/*
 * The HTTP socket of a waiting request is readable: the peer closed (or
 * sent more, which waits for evhttp).  A peer that left takes its
 * connection and request with it; its job is dropped as for any client.
 */
static void
link_watch(evutil_socket_t fd, short what __unused, void *arg)
{
	struct link			*l = arg;
	struct evhttp_connection	*evcon = l->l_evcon;
	char				 ch;
	ssize_t				 n;

	n = recv(fd, &ch, 1, MSG_PEEK);
	if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EINTR)))
		return;
	log_debug("%s: job %s: the HTTP client left", __func__,
	    l->l_handle[0] != '\0' ? l->l_handle : "-");
	link_free(l);
	evhttp_connection_free(evcon);
}

/*
 * Answer a link's request (unless its HTTP peer left) and free the link;
 * closing our end tells the server the "client" left.
 */
static void
link_done(struct link *l, int code, const char *reason, const char *text,
    struct evbuffer *body)
{
	if (l->l_evcon != NULL)
		evhttp_connection_set_closecb(l->l_evcon, NULL, NULL);
	l->l_evcon = NULL;
	if (l->l_watch != NULL)
		event_del(l->l_watch);
	http_reply(l->l_req, code, reason, text, body);
	link_free(l);
}

/*
 * evhttp is freeing the HTTP connection of a waiting request (timeout,
 * error).  A request still on it goes with it; one it let go is ours.
 */
static void
link_closed(struct evhttp_connection *evcon __unused, void *arg)
{
	struct link		*l = arg;
	struct evhttp_request	*req = l->l_req;

	l->l_evcon = NULL;
	link_free(l);
	if (evhttp_request_get_connection(req) == NULL)
		evhttp_request_free(req);
}

/* X-Gearman-Timeout passed before the job ended. */
static void
link_timeout(evutil_socket_t fd __unused, short what __unused, void *arg)
{
	struct link	*l = arg;

	evhttp_add_header(evhttp_request_get_output_headers(l->l_req),
	    "X-Gearman-Job-Handle", l->l_handle);
	log_info("http: job %s: no result within X-Gearman-Timeout",
	    l->l_handle[0] != '\0' ? l->l_handle : "-");
	link_done(l, 504, "Gateway Timeout", "504 Gateway Timeout: the job "
	    "did not end within X-Gearman-Timeout\n", NULL);
}

/* The internal connection closed or failed: the server went away. */
static void
link_eventcb(struct bufferevent *bev __unused, short what, void *arg)
{
	struct link	*l = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		link_done(l, 503, "Service Unavailable", "503 Service "
		    "Unavailable: the server closed the job's connection\n",
		    NULL);
}

/* An admin list line or answer arrived on a view or action link. */
static int
link_text(struct link *l, struct evbuffer *in)
{
	struct evbuffer	*body;
	FILE		*f;
	char		*line, *doc = NULL;
	size_t		 len, doclen = 0;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) !=
	    NULL) {
		if (l->l_kind == LINK_ACTION) {
			/* cancel answers "OK", failed retry|purge "OK 1". */
			if (strncmp(line, "OK", 2) != 0 || (line[2] != '\0' &&
			    line[2] != ' '))
				link_done(l, 404, "Not Found", "404 Not "
				    "Found: no such job\n", NULL);
			else if (l->l_back) {
				evhttp_add_header(
				    evhttp_request_get_output_headers(l->l_req),
				    "Location", "/");
				link_done(l, 303, "See Other", "OK\n", NULL);
			} else
				link_done(l, 200, "OK", "OK\n", NULL);
			free(line);
			return 1;
		}
		if (strcmp(line, ".") == 0) {
			free(line);
			if (l->l_view->byfunc)
				table_sort(&l->l_table);
			if ((f = open_memstream(&doc, &doclen)) == NULL)
				fatal("http: open_memstream");
			table_json(&l->l_table, f);
			if (fclose(f) == EOF)
				fatal("http: json");
			body = evbuffer_new();
			evbuffer_add(body, doc, doclen);
			free(doc);
			evhttp_add_header(evhttp_request_get_output_headers(
			    l->l_req), "Content-Type", "application/json");
			link_done(l, 200, "OK", NULL, body);
			evbuffer_free(body);
			return 1;
		}
		view_add_line(l->l_view, &l->l_table, listen_name(), line);
		free(line);
	}
	return 0;
}

/* Map a server ERROR packet to an HTTP status. */
static void
link_error(struct link *l, const struct gm_packet *p)
{
	char	*text;

	xasprintf(&text, "%.*s: %.*s\n", (int)p->arg[0].len,
	    (const char *)p->arg[0].ptr, (int)p->arg[1].len,
	    (const char *)p->arg[1].ptr);
	if (p->arg[0].len == 11 && memcmp(p->arg[0].ptr, "QUEUE_ERROR",
	    11) == 0)
		link_done(l, 503, "Service Unavailable", text, NULL);
	else
		link_done(l, 400, "Bad Request", text, NULL);
	free(text);
}

/* One packet arrived on a submission link; 1 if the link is done. */
static int
link_packet(struct link *l, const struct gm_packet *p)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(
				    l->l_req);
	const struct gm_arg	*last = &p->arg[p->nargs - 1];

	switch (p->hdr.type) {
	case GM_JOB_CREATED:
		snprintf(l->l_handle, sizeof(l->l_handle), "%.*s",
		    (int)p->arg[0].len, (const char *)p->arg[0].ptr);
		if (!l->l_bg)
			return 0;
		evhttp_add_header(h, "X-Gearman-Job-Handle", l->l_handle);
		evhttp_add_header(h, "X-Gearman-Command", "JOB_CREATED");
		link_done(l, 200, "OK", NULL, NULL);
		return 1;
	case GM_WORK_DATA:
		evbuffer_add(l->l_body, last->ptr, last->len);
		return 0;
	case GM_WORK_COMPLETE:
	case GM_WORK_FAIL:
	case GM_WORK_EXCEPTION:
		evhttp_add_header(h, "X-Gearman-Job-Handle", l->l_handle);
		evhttp_add_header(h, "X-Gearman-Command",
		    proto_type_name(p->hdr.type));
		if (p->hdr.type == GM_WORK_FAIL) {
			link_done(l, 500, "Job Failed", "500 Job Failed: the "
			    "worker reported WORK_FAIL\n", NULL);
			return 1;
		}
		evbuffer_add(l->l_body, last->ptr, last->len);
		if (p->hdr.type == GM_WORK_COMPLETE)
			link_done(l, 200, "OK", NULL, l->l_body);
		else
			link_done(l, 500, "Job Failed", NULL, l->l_body);
		return 1;
	case GM_ERROR:
		link_error(l, p);
		return 1;
	default:	/* OPTION_RES, WORK_STATUS, WORK_WARNING */
		return 0;
	}
}

/* Input on a link: admin text or packets, by its kind. */
static void
link_readcb(struct bufferevent *bev, void *arg)
{
	struct link		*l = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct gm_header	 h;
	struct gm_packet	 p;
	uint8_t			 hdr[GM_HEADER_SIZE], *b;
	int			 rv;

	if (l->l_kind != LINK_SUBMIT) {
		link_text(l, in);
		return;
	}
	while (evbuffer_copyout(in, hdr, sizeof(hdr)) == sizeof(hdr)) {
		rv = proto_decode_header(hdr, sizeof(hdr), SIZE_MAX, &h);
		if (rv != PROTO_OK) {
			link_done(l, 502, "Bad Gateway", "502 Bad Gateway\n",
			    NULL);
			return;
		}
		if (evbuffer_get_length(in) < sizeof(hdr) + h.size)
			return;
		b = evbuffer_pullup(in, (ev_ssize_t)(sizeof(hdr) + h.size));
		if (proto_split(&h, b + sizeof(hdr), h.size, &p) !=
		    PROTO_OK) {
			link_done(l, 502, "Bad Gateway", "502 Bad Gateway\n",
			    NULL);
			return;
		}
		if (link_packet(l, &p))
			return;
		evbuffer_drain(in, sizeof(hdr) + h.size);
	}
}

/* Whether a header value says yes (gearmand takes "true" and "1"). */
static int
header_true(const char *v)
{
	return v != NULL && (strcasecmp(v, "true") == 0 ||
	    strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0);
}

/*
 * POST /FUNCTION: gearmand's HTTP protocol.  The body is the payload,
 * byte for byte; X-Gearman-Unique, -Background and -Priority pick the
 * SUBMIT_JOB type; X-Gearman-Timeout (ms) bounds the wait for a result.
 */
static void
http_submit(struct evhttp_request *req, const char *path)
{
	static const uint32_t types[2][PRIO_COUNT] = {
		{ GM_SUBMIT_JOB_HIGH, GM_SUBMIT_JOB, GM_SUBMIT_JOB_LOW },
		{ GM_SUBMIT_JOB_HIGH_BG, GM_SUBMIT_JOB_BG,
		    GM_SUBMIT_JOB_LOW_BG }
	};
	struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	struct evbuffer		*body = evhttp_request_get_input_buffer(req);
	const char		*unique, *prio, *tmo, *errstr;
	struct gm_arg		 a[2], opt = gm_str("exceptions");
	struct timeval		 tv;
	struct link		*l;
	uint8_t			 pre[GM_HEADER_SIZE + 2 * GM_ARG_MAX];
	char			*func;
	size_t			 flen, n, len = evbuffer_get_length(body);
	long long		 ms = 0;
	int			 p = PRIO_NORMAL, bg;

	func = evhttp_uridecode(path, 0, &flen);
	unique = evhttp_find_header(in, "X-Gearman-Unique");
	prio = evhttp_find_header(in, "X-Gearman-Priority");
	tmo = evhttp_find_header(in, "X-Gearman-Timeout");
	bg = header_true(evhttp_find_header(in, "X-Gearman-Background"));
	if (func == NULL || flen == 0 || memchr(func, '\0', flen) != NULL ||
	    flen >= GM_ARG_MAX) {
		http_fail(req, 400, "Bad Request", "the path names no "
		    "function");
		goto done;
	}
	if (unique == NULL)
		unique = "";
	if (strlen(unique) >= GM_UNIQUE_SIZE) {
		http_fail(req, 400, "Bad Request", "X-Gearman-Unique is "
		    "longer than %d bytes", GM_UNIQUE_SIZE - 1);
		goto done;
	}
	if (prio != NULL) {
		if (strcasecmp(prio, "high") == 0)
			p = PRIO_HIGH;
		else if (strcasecmp(prio, "low") == 0)
			p = PRIO_LOW;
		else if (strcasecmp(prio, "normal") != 0) {
			http_fail(req, 400, "Bad Request", "X-Gearman-Priority "
			    "is high, normal or low");
			goto done;
		}
	}
	if (tmo != NULL) {
		ms = strtonum(tmo, 1, 86400000, &errstr);
		if (errstr != NULL) {
			http_fail(req, 400, "Bad Request", "X-Gearman-Timeout "
			    "%s: milliseconds, 1 to 86400000", errstr);
			goto done;
		}
	}
	if (flen + strlen(unique) + 2 + len > conf.max_packet) {
		http_fail(req, 413, "Payload Too Large", "the job is over "
		    "the %zu byte packet limit", conf.max_packet);
		goto done;
	}
	l = link_open(req, LINK_SUBMIT);
	l->l_bg = bg;
	l->l_body = evbuffer_new();
	if (!bg) {
		/* Exceptions come back with their data, as a 500 body. */
		proto_encode(pre, sizeof(pre), GM_REQ, GM_OPTION_REQ, &opt, 1,
		    &n);
		bufferevent_write(l->l_bev, pre, n);
	}
	a[0].ptr = (const uint8_t *)func;
	a[0].len = flen;
	a[1] = gm_str(unique);
	proto_encode_prefix(pre, sizeof(pre), GM_REQ, types[bg][p], a, 2,
	    len, &n);
	bufferevent_write(l->l_bev, pre, n);
	bufferevent_write_buffer(l->l_bev, body);
	if (ms > 0 && !bg) {
		l->l_timer = evtimer_new(base, link_timeout, l);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(l->l_timer, &tv);
	}
done:
	free(func);
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
