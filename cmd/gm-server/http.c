/* Public domain. See README.md for the licence of this project. */
/*
 * HTTP: the evhttp instance on the server's event base.  It serves the
 * status page (/), Prometheus metrics (/metrics) and the admin views as
 * JSON (/api/VIEW), takes gearmand-style job submissions (POST /FUNCTION)
 * and, for trusted peers, cancels jobs (POST /api/cancel/HANDLE) and
 * retries or purges failed ones (POST /api/failed/retry|purge/HANDLE).
 * The page and the metrics read the server's state through accessors; the
 * JSON, the submissions and the actions go through the server's own protocols
 * over an internal socketpair (a "link"), so they get exactly what any
 * Gearman client or gm-admin gets.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
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
static void	http_page(struct evhttp_request *);
static void	http_metrics(struct evhttp_request *);
static void	http_submit(struct evhttp_request *, const char *);
static void	http_reply(struct evhttp_request *, int, const char *,
		    const char *, struct evbuffer *);
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
static uint64_t		 nrequests, nrejected;

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
static void
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

/* Append bytes to HTML, escaped; control bytes become U+FFFD. */
static void
html_esc(struct evbuffer *b, const char *p, size_t len)
{
	static const char	 special[] = "&<>\"'";
	static const char *const entity[] = { "&amp;", "&lt;", "&gt;",
	    "&quot;", "&#39;" };
	const char		*q;
	size_t			 i;

	for (i = 0; i < len; i++) {
		if (p[i] != '\0' && (q = strchr(special, p[i])) != NULL)
			evbuffer_add(b, entity[q - special],
			    strlen(entity[q - special]));
		else if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			evbuffer_add(b, "&#xfffd;", 8);
		else
			evbuffer_add(b, p + i, 1);
	}
}

/* A duration for people: 45s, 3m 12s, 2h 5m, 4d 3h. */
static void
age_str(char *buf, size_t len, int64_t s)
{
	if (s < 60)
		snprintf(buf, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm %llds", (long long)s / 60,
		    (long long)s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh %lldm", (long long)s / 3600,
		    (long long)s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd %lldh", (long long)s / 86400,
		    (long long)s % 86400 / 3600);
}

static const char page_head[] =
"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
"<title>gm-server %s</title>\n<style>\n"
":root{--fg:#1d232b;--mut:#5b6672;--bg:#f6f7f9;--card:#fff;--line:#dde1e6;"
"--acc:#2364d2;--bad:#c0392b;--ok:#1e8449}\n"
"*{box-sizing:border-box}\n"
"body{margin:0;font:15px/1.45 system-ui,-apple-system,\"Segoe UI\","
"sans-serif;color:var(--fg);background:var(--bg)}\n"
"header{background:#1d232b;color:#fff;padding:.8rem 1.2rem}\n"
"header h1{margin:0;font-size:1.25rem;font-weight:600}\n"
"header p{margin:.2rem 0 0;color:#c4ccd6;font-size:.85rem}\n"
"main{max-width:90rem;margin:0 auto;padding:1rem}\n"
"section{background:var(--card);border:1px solid var(--line);"
"border-radius:8px;margin:0 0 1rem;padding:.8rem 1rem;overflow-x:auto}\n"
"h2{font-size:1rem;margin:0 0 .6rem}\n"
"table{border-collapse:collapse;width:100%%}\n"
"th,td{padding:.35rem .45rem;border-bottom:1px solid var(--line);"
"text-align:left;white-space:nowrap}\n"
"th{font-size:.7rem;text-transform:uppercase;letter-spacing:.03em;"
"color:var(--mut);white-space:normal;vertical-align:bottom}\n"
"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\n"
"td.bad{color:var(--bad);font-weight:600}\n"
".empty{color:var(--mut);margin:0}\n"
".sum{margin:0 0 .5rem;color:var(--mut)}\n"
"td.err{white-space:normal;overflow-wrap:anywhere;min-width:12rem;"
"color:var(--bad)}\n"
"td.act{white-space:nowrap}td.act form{display:inline;margin:0 .3rem 0 0}\n"
"button{font:inherit;font-size:.85rem;padding:.2rem .7rem;border-radius:4px;"
"border:1px solid var(--acc);background:var(--card);color:var(--acc);"
"cursor:pointer}\n"
"button.purge{border-color:var(--bad);color:var(--bad)}\n"
".bar{display:inline-block;width:8rem;height:.6rem;background:var(--line);"
"border-radius:4px;overflow:hidden;vertical-align:middle}\n"
".bar i{display:block;height:100%%;background:var(--acc)}\n"
"dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;"
"margin:0}\n"
"dt{color:var(--mut)}dd{margin:0;font-variant-numeric:tabular-nums}\n"
"footer{color:var(--mut);font-size:.8rem;text-align:center;"
"padding:0 1rem 1.5rem}\n"
"footer a{color:var(--acc)}\n"
"@media (max-width:640px){main{padding:.5rem}"
"section{padding:.6rem}"
"table,tbody,tr,td{display:block;width:100%%}thead{display:none}"
"tr{border-bottom:2px solid var(--line);padding:.3rem 0;display:grid;"
"grid-template-columns:1fr 1fr;column-gap:1.2rem}"
"td{border:0;padding:.15rem 0;display:flex;justify-content:space-between;"
"white-space:normal;min-width:0;overflow-wrap:anywhere}"
"td:first-child{grid-column:1/-1;font-weight:600}"
"td::before{content:attr(data-label);color:var(--mut);font-size:.8rem;"
"margin-right:1rem;flex-shrink:0}td.n{text-align:right}"
"td.when,td.err,td.act{grid-column:1/-1}td.err{display:block}"
"td.err::before{display:block}td.act{padding-top:.3rem;"
"justify-content:flex-start}}\n"
"</style></head><body>\n";

static const char page_tail[] =
"<footer>JSON: <a href=\"/api/status\">/api/status</a> "
"<a href=\"/api/priority-status\">priority-status</a> "
"<a href=\"/api/workers\">workers</a> <a href=\"/api/jobs\">jobs</a> "
"<a href=\"/api/stats\">stats</a> <a href=\"/api/journal\">journal</a> "
"<a href=\"/api/failed\">failed</a>"
" &middot; <a href=\"/metrics\">/metrics</a></footer>\n"
"<script>\n"
"(function(){\n"
"  async function tick(){\n"
"    try{\n"
"      const r=await fetch(location.pathname,{cache:'no-store'});\n"
"      if(!r.ok)return;\n"
"      const d=new DOMParser().parseFromString(await r.text(),'text/html');\n"
"      for(const id of ['meta','m']){\n"
"        const n=d.getElementById(id);\n"
"        if(n)document.getElementById(id).replaceWith(n);\n"
"      }\n"
"    }catch(e){}\n"
"  }\n"
"  setInterval(tick,2000);\n"
"})();\n"
"</script>\n</body></html>\n";

/* A table cell with a number: data-f/data-c name it for scripts. */
static void
cell_num(struct evbuffer *b, const struct func *f, const char *key,
    const char *label, uint64_t v, int bad)
{
	evbuffer_add_printf(b, "<td class=\"n%s\" data-label=\"%s\" "
	    "data-f=\"", bad && v > 0 ? " bad" : "", label);
	html_esc(b, f->f_name, f->f_len);
	evbuffer_add_printf(b, "\" data-c=\"%s\">%" PRIu64 "</td>", key, v);
}

static void
page_func(struct func *f, void *arg)
{
	struct evbuffer		*b = arg;
	const struct func_stats	*st = func_stats(f);
	int64_t			 t = queue_oldest_us(f);
	char			 age[32];

	evbuffer_add(b, "<tr><td data-label=\"Function\">", 30);
	html_esc(b, f->f_name, f->f_len);
	evbuffer_add(b, "</td>", 5);
	cell_num(b, f, "total", "Jobs", f->f_total, 0);
	cell_num(b, f, "high", "High", f->f_queued[PRIO_HIGH], 0);
	cell_num(b, f, "normal", "Normal", f->f_queued[PRIO_NORMAL], 0);
	cell_num(b, f, "low", "Low", f->f_queued[PRIO_LOW], 0);
	cell_num(b, f, "running", "Running", f->f_running, 0);
	cell_num(b, f, "workers", "Workers", f->f_nregs, 0);
	cell_num(b, f, "submitted", "Submitted", st->fs_n[FE_SUBMITTED], 0);
	cell_num(b, f, "completed", "Done", st->fs_n[FE_COMPLETED], 0);
	cell_num(b, f, "failed", "Failed", st->fs_n[FE_FAILED], 1);
	cell_num(b, f, "exceptions", "Exceptions", st->fs_n[FE_EXCEPTIONS],
	    1);
	cell_num(b, f, "retried", "Retried", st->fs_n[FE_RETRIED], 0);
	cell_num(b, f, "cancelled", "Cancelled", st->fs_n[FE_CANCELLED], 0);
	if (t == -1)
		strlcpy(age, "-", sizeof(age));
	else
		age_str(age, sizeof(age), (timer_mono_us() - t) / 1000000);
	evbuffer_add_printf(b, "<td class=\"n\" data-label=\"Oldest queued\">"
	    "%s</td></tr>\n", age);
}

static void
page_worker(struct conn *c, void *arg)
{
	struct evbuffer	*b = arg;
	const char	*id = conn_client_id(c);
	struct reg	*r;

	if (c->c_nregs == 0)
		return;
	evbuffer_add_printf(b, "<tr><td class=\"n\" data-label=\"FD\">%d</td>"
	    "<td data-label=\"Address\">", c->c_fd);
	html_esc(b, c->c_peer, strlen(c->c_peer));
	evbuffer_add(b, "</td><td data-label=\"Client id\">", 32);
	html_esc(b, id, strlen(id));
	evbuffer_add(b, "</td><td data-label=\"Functions\">", 32);
	TAILQ_FOREACH(r, &c->c_regs, r_wentry) {
		html_esc(b, r->r_func->f_name, r->r_func->f_len);
		if (TAILQ_NEXT(r, r_wentry) != NULL)
			evbuffer_add(b, " ", 1);
	}
	evbuffer_add(b, "</td></tr>\n", 11);
}

struct page_jobs {
	struct evbuffer	*b;
	int		 n;
};

static void
page_job(struct job *j, void *arg)
{
	struct page_jobs	*pj = arg;
	struct evbuffer		*b = pj->b;
	struct conn		*w;
	char			 h[GM_HANDLE_SIZE], age[32];
	unsigned		 pct = 0;

	if (j->j_state != JOB_RUNNING)
		return;
	if (pj->n++ == 0)
		evbuffer_add_printf(b, "<table><thead><tr><th>Handle</th>"
		    "<th>Function</th><th>Worker</th><th>Progress</th>"
		    "<th class=\"n\">Running for</th></tr></thead><tbody>\n");
	w = j->j_u.worker;
	queue_handle(j, h, sizeof(h));
	if (j->j_denominator > 0)
		pct = (unsigned)((uint64_t)(j->j_numerator >
		    j->j_denominator ? j->j_denominator : j->j_numerator) *
		    100 / j->j_denominator);
	age_str(age, sizeof(age), (timer_mono_us() - j->j_since) / 1000000);
	evbuffer_add(b, "<tr><td data-label=\"Handle\">", 28);
	html_esc(b, h, strlen(h));
	evbuffer_add(b, "</td><td data-label=\"Function\">", 31);
	html_esc(b, j->j_func->f_name, j->j_func->f_len);
	evbuffer_add(b, "</td><td data-label=\"Worker\">", 29);
	html_esc(b, conn_client_id(w), strlen(conn_client_id(w)));
	evbuffer_add_printf(b, " (%s)</td><td data-label=\"Progress\">",
	    w->c_peer);
	if (j->j_denominator > 0)
		evbuffer_add_printf(b, "<span class=\"bar\" role=\"progressbar\" "
		    "aria-valuenow=\"%u\" aria-valuemin=\"0\" "
		    "aria-valuemax=\"100\"><i style=\"width:%u%%\"></i></span>"
		    " %u/%u", pct, pct, j->j_numerator, j->j_denominator);
	else
		evbuffer_add(b, "-", 1);
	evbuffer_add_printf(b, "</td><td class=\"n\" data-label=\"Running for\">"
	    "%s</td></tr>\n", age);
}

#define PAGE_FAILED_MAX	50	/* failed jobs listed; /api/failed has all */

struct page_failed {
	struct evbuffer	*b;
	uint64_t	 n;
};

/* One failed job: a row with Retry and Purge forms for its handle. */
static void
page_failed(const struct failed_info *fi, void *arg)
{
	struct page_failed	*pf = arg;
	struct evbuffer		*b = pf->b;
	char			 h[GM_HANDLE_SIZE], when[32], *u;
	const char		*e, *end, *nl;
	time_t			 t = (time_t)(fi->last / 1000);
	static const char *const act[] = { "retry", "Retry", "purge",
	    "Purge" };
	int			 i;

	if (pf->n++ >= PAGE_FAILED_MAX)
		return;
	queue_handle_num(fi->num, h, sizeof(h));
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
	evbuffer_add(b, "<tr><td data-label=\"Function\">", 30);
	html_esc(b, fi->job.func, fi->job.func_len);
	evbuffer_add(b, "</td><td data-label=\"Handle\">", 29);
	html_esc(b, h, strlen(h));
	evbuffer_add_printf(b, "</td><td class=\"n\" data-label=\"Tries\">%u"
	    "</td><td class=\"when\" data-label=\"Last failure\">%s</td>"
	    "<td class=\"err\" data-label=\"Error\">", fi->tries, when);
	/* The error's lines (a worker's stderr) as lines. */
	for (e = fi->error, end = e + fi->error_len; e < end; e = nl + 1) {
		if ((nl = memchr(e, '\n', end - e)) == NULL)
			nl = end;
		if (e > fi->error)
			evbuffer_add(b, "<br>", 4);
		html_esc(b, e, nl - e);
	}
	evbuffer_add_printf(b, "</td><td class=\"act\" data-label=\"\">");
	if ((u = evhttp_uriencode(h, -1, 0)) == NULL)
		fatalx("http: evhttp_uriencode");
	for (i = 0; i < 4; i += 2) {
		evbuffer_add_printf(b, "<form method=\"post\" "
		    "action=\"/api/failed/%s/", act[i]);
		html_esc(b, u, strlen(u));
		evbuffer_add_printf(b, "\"><button class=\"%s\">%s</button>"
		    "</form>", act[i], act[i + 1]);
	}
	free(u);
	evbuffer_add(b, "</td></tr>\n", 11);
}

/* The failed list's section: its figures and its first rows. */
static void
page_failed_list(struct evbuffer *b)
{
	struct failed_stats	 fs;
	struct page_failed	 pf;

	failed_stats(&fs);
	evbuffer_add_printf(b, "<section><h2>Failed jobs</h2>\n<p class=\"sum\">"
	    "<span data-x=\"count\">%" PRIu64 "</span> in the list "
	    "(<span data-x=\"bytes\">%" PRIu64 "</span> bytes), "
	    "<span data-x=\"retrying\">%" PRIu64 "</span> waiting for a "
	    "retry, <span data-x=\"evicted\">%" PRIu64 "</span> evicted "
	    "since start</p>\n", fs.count, fs.bytes, fs.retrying, fs.evicted);
	if (fs.count == 0) {
		evbuffer_add_printf(b, "</section>\n");
		return;
	}
	evbuffer_add_printf(b, "<table><thead><tr><th>Function</th>"
	    "<th>Handle</th><th class=\"n\">Tries</th><th>Last failure</th>"
	    "<th>Error</th><th></th></tr></thead><tbody>\n");
	pf.b = b;
	pf.n = 0;
	failed_foreach(NULL, 0, page_failed, &pf);
	evbuffer_add_printf(b, "</tbody></table>");
	if (pf.n > PAGE_FAILED_MAX)
		evbuffer_add_printf(b, "<p class=\"empty\">%" PRIu64 " more in "
		    "<a href=\"/api/failed\">/api/failed</a></p>",
		    pf.n - PAGE_FAILED_MAX);
	evbuffer_add_printf(b, "</section>\n");
}

/* GET /: the status page, built from the accessors admin uses. */
static void
http_page(struct evhttp_request *req)
{
	struct evbuffer		*b = evbuffer_new();
	struct journal_stats	 js;
	struct page_jobs	 pj;
	char			 up[32], now[32];
	time_t			 t = time(NULL);

	age_str(up, sizeof(up), (int64_t)(t - server_started()));
	strftime(now, sizeof(now), "%H:%M:%S", localtime(&t));
	evbuffer_add_printf(b, page_head, listen_name());
	evbuffer_add_printf(b, "<header><h1>gm-server %s</h1><p id=\"meta\">"
	    "version %s &middot; pid %ld &middot; up %s &middot; "
	    "updated %s</p></header>\n<main id=\"m\">\n", listen_name(),
	    GM_VERSION, (long)getpid(), up, now);

	evbuffer_add_printf(b, "<section><h2>Functions</h2>\n");
	evbuffer_add_printf(b, "<table><thead><tr><th>Function</th>"
	    "<th class=\"n\">Jobs</th><th class=\"n\">High</th>"
	    "<th class=\"n\">Normal</th><th class=\"n\">Low</th>"
	    "<th class=\"n\">Running</th><th class=\"n\">Workers</th>"
	    "<th class=\"n\">Submitted</th><th class=\"n\">Done</th>"
	    "<th class=\"n\">Failed</th><th class=\"n\">Exceptions</th>"
	    "<th class=\"n\">Retried</th><th class=\"n\">Cancelled</th>"
	    "<th class=\"n\">Oldest queued</th></tr></thead><tbody>\n");
	func_foreach(page_func, b);
	evbuffer_add_printf(b, "</tbody></table></section>\n");

	evbuffer_add_printf(b, "<section><h2>Workers</h2>\n<table><thead><tr>"
	    "<th class=\"n\">FD</th><th>Address</th><th>Client id</th>"
	    "<th>Functions</th></tr></thead><tbody>\n");
	conn_foreach(page_worker, b);
	evbuffer_add_printf(b, "</tbody></table></section>\n");

	evbuffer_add_printf(b, "<section><h2>Running jobs</h2>\n");
	pj.b = b;
	pj.n = 0;
	queue_foreach_job(page_job, &pj);
	if (pj.n == 0)
		evbuffer_add_printf(b, "<p class=\"empty\">No job is "
		    "running.</p>");
	else
		evbuffer_add_printf(b, "</tbody></table>");
	evbuffer_add_printf(b, "</section>\n");

	page_failed_list(b);

	journal_stats(jnl, &js);
	evbuffer_add_printf(b, "<section><h2>Journal</h2>\n<dl>");
	if (!js.enabled)
		evbuffer_add_printf(b, "<dt>journal</dt><dd data-j=\"enabled\">"
		    "off: background jobs are kept in memory only</dd>");
	else {
		evbuffer_add_printf(b, "<dt>folder</dt><dd>");
		html_esc(b, js.dir, strlen(js.dir));
		evbuffer_add_printf(b, "</dd><dt>sync</dt><dd>%s</dd>"
		    "<dt>size</dt><dd data-j=\"bytes\">%" PRIu64 "</dd>"
		    "<dt>live records</dt><dd data-j=\"live\">%" PRIu64 "</dd>"
		    "<dt>dead records</dt><dd data-j=\"dead\">%" PRIu64 "</dd>"
		    "<dt>flushes</dt><dd data-j=\"flushes\">%" PRIu64 "</dd>"
		    "<dt>last flush</dt><dd>%" PRIu64 " &micro;s</dd>"
		    "<dt>slowest flush</dt><dd>%" PRIu64 " &micro;s</dd>"
		    "<dt>compactions</dt><dd>%" PRIu64 "</dd>"
		    "<dt>write errors</dt><dd data-j=\"write_errors\">%" PRIu64
		    "</dd>", js.sync != NULL ? js.sync : "none", js.bytes,
		    js.live, js.dead, js.flushes, js.last_flush_us,
		    js.peak_flush_us, js.compactions, js.write_errors);
	}
	evbuffer_add_printf(b, "</dl></section>\n</main>\n");
	evbuffer_add(b, page_tail, sizeof(page_tail) - 1);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/html; charset=utf-8");
	http_reply(req, 200, "OK", NULL, b);
	evbuffer_free(b);
}

/*
 * Append a label value: \, " and newline escaped, as the text format
 * wants; bytes that are not UTF-8 become U+FFFD.
 */
static void
prom_label(struct evbuffer *b, const char *p, size_t len)
{
	const unsigned char	*s = (const unsigned char *)p;
	size_t			 i, k, n;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\' || s[i] == '"')
			evbuffer_add_printf(b, "\\%c", s[i]);
		else if (s[i] == '\n')
			evbuffer_add(b, "\\n", 2);
		else if (s[i] < 0x80)
			evbuffer_add(b, s + i, 1);
		else {
			n = s[i] >= 0xf0 && s[i] < 0xf5 ? 3 : s[i] >= 0xe0 ?
			    2 : s[i] >= 0xc2 && s[i] < 0xe0 ? 1 : 0;
			if (s[i] >= 0xf5)
				n = 0;
			for (k = 1; k <= n && i + k < len; k++)
				if ((s[i + k] & 0xc0) != 0x80)
					break;
			if (n == 0 || k <= n) {
				evbuffer_add(b, "\xef\xbf\xbd", 3);
				continue;
			}
			evbuffer_add(b, s + i, n + 1);
			i += n;
		}
	}
}

/* The function label of a series. */
static void
prom_func(struct evbuffer *b, const struct func *f)
{
	evbuffer_add(b, "function=\"", 10);
	prom_label(b, f->f_name, f->f_len);
	evbuffer_add(b, "\"", 1);
}

struct metric {
	const char	*name;
	const char	*type;
	const char	*help;
	int		 which;
};

/* Per-function series, one metric family at a time. */
static const struct metric func_metrics[] = {
	{ "gm_jobs_submitted_total", "counter",
	    "Jobs submitted (not coalesced onto another) since start.",
	    FE_SUBMITTED },
	{ "gm_jobs_completed_total", "counter",
	    "Jobs that ended with WORK_COMPLETE since start.", FE_COMPLETED },
	{ "gm_jobs_failed_total", "counter",
	    "Jobs that ended with WORK_FAIL or ran out of attempts.",
	    FE_FAILED },
	{ "gm_jobs_exceptions_total", "counter",
	    "Jobs that ended with WORK_EXCEPTION since start.", FE_EXCEPTIONS },
	{ "gm_jobs_retried_total", "counter",
	    "Jobs put back in their queue after a lost run.", FE_RETRIED },
	{ "gm_jobs_cancelled_total", "counter",
	    "Jobs cancelled by an admin since start.", FE_CANCELLED },
	{ "gm_jobs_queued", "gauge",
	    "Jobs waiting in the queue, by priority.", -1 },
	{ "gm_jobs_running", "gauge", "Jobs given to a worker.", -2 },
	{ "gm_workers", "gauge", "Workers registered for the function.", -3 },
	{ "gm_queue_max", "gauge",
	    "Queue limit by priority (maxqueue), 0 for none.", -4 },
};

struct prom {
	struct evbuffer		*b;
	const struct metric	*m;
	int			 run;	/* histograms: 0 wait, 1 run */
};

static void
prom_one(struct func *f, void *arg)
{
	static const char *const prio[PRIO_COUNT] = { "high", "normal",
	    "low" };
	struct prom	*pr = arg;
	struct evbuffer	*b = pr->b;
	int		 i;

	switch (pr->m->which) {
	case -1:
	case -4:
		for (i = 0; i < PRIO_COUNT; i++) {
			evbuffer_add_printf(b, "%s{", pr->m->name);
			prom_func(b, f);
			evbuffer_add_printf(b, ",priority=\"%s\"} %u\n",
			    prio[i], pr->m->which == -1 ? f->f_queued[i] :
			    f->f_maxq[i]);
		}
		return;
	default:
		evbuffer_add_printf(b, "%s{", pr->m->name);
		prom_func(b, f);
		if (pr->m->which == -2)
			evbuffer_add_printf(b, "} %u\n", f->f_running);
		else if (pr->m->which == -3)
			evbuffer_add_printf(b, "} %u\n", f->f_nregs);
		else
			evbuffer_add_printf(b, "} %" PRIu64 "\n",
			    func_stats(f)->fs_n[pr->m->which]);
	}
}

/*
 * One histogram's series from bucket counts (not cumulative; the last is
 * +Inf) and their bounds in microseconds.  f labels them with its
 * function, or NULL for none.
 */
static void
prom_buckets(struct evbuffer *b, const char *name, const struct func *f,
    const uint64_t *count, const uint64_t *bounds_us, int nb, uint64_t sum_us)
{
	uint64_t	 cum = 0;
	int		 i;

	for (i = 0; i < nb; i++) {
		cum += count[i];
		evbuffer_add_printf(b, "%s_bucket{", name);
		if (f != NULL) {
			prom_func(b, f);
			evbuffer_add(b, ",", 1);
		}
		if (i < nb - 1)
			evbuffer_add_printf(b, "le=\"%g\"} %" PRIu64 "\n",
			    (double)bounds_us[i] / 1e6, cum);
		else
			evbuffer_add_printf(b, "le=\"+Inf\"} %" PRIu64 "\n",
			    cum);
	}
	evbuffer_add_printf(b, "%s_sum", name);
	if (f != NULL) {
		evbuffer_add(b, "{", 1);
		prom_func(b, f);
		evbuffer_add(b, "}", 1);
	}
	evbuffer_add_printf(b, " %.6f\n%s_count", (double)sum_us / 1e6, name);
	if (f != NULL) {
		evbuffer_add(b, "{", 1);
		prom_func(b, f);
		evbuffer_add(b, "}", 1);
	}
	evbuffer_add_printf(b, " %" PRIu64 "\n", cum);
}

static void
prom_hist(struct func *f, void *arg)
{
	struct prom		*pr = arg;
	const struct func_stats	*st = func_stats(f);
	const struct hist	*h = pr->run ? &st->fs_run : &st->fs_wait;

	prom_buckets(pr->b, pr->m->name, f, h->h_count, hist_bounds_us,
	    HIST_BUCKETS, h->h_sum_us);
}

struct conn_kinds {
	uint64_t	 worker, client, other;
};

static void
count_kind(struct conn *c, void *arg)
{
	struct conn_kinds	*k = arg;

	if (c->c_nregs > 0)
		k->worker++;
	else if (!LIST_EMPTY(&c->c_attached))
		k->client++;
	else
		k->other++;
}

/* A metric family header. */
static void
prom_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* A metric with one unlabelled sample. */
static void
prom_u64(struct evbuffer *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	prom_family(b, name, type, help);
	evbuffer_add_printf(b, "%s %" PRIu64 "\n", name, v);
}

/* A gauge of seconds, from microseconds. */
static void
prom_secs(struct evbuffer *b, const char *name, const char *help,
    uint64_t us)
{
	prom_family(b, name, "gauge", help);
	evbuffer_add_printf(b, "%s %.6f\n", name, (double)us / 1e6);
}

/* The process metrics Prometheus client libraries give. */
static void
prom_process(struct evbuffer *b)
{
	struct rusage	 ru;
	struct rlimit	 rl;
	struct dirent	*de;
	DIR		*d;
	FILE		*f;
	unsigned long	 vm = 0, rss = 0;
	long		 page = sysconf(_SC_PAGESIZE);
	int		 fds = 0;

	getrusage(RUSAGE_SELF, &ru);
	prom_family(b, "process_cpu_seconds_total", "counter",
	    "User and system CPU time spent in seconds.");
	evbuffer_add_printf(b, "process_cpu_seconds_total %.6f\n",
	    (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	if ((f = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(f, "%lu %lu", &vm, &rss) != 2)
			vm = rss = 0;
		fclose(f);
	}
	prom_u64(b, "process_resident_memory_bytes", "gauge",
	    "Resident memory size in bytes.", (uint64_t)rss * page);
	prom_u64(b, "process_virtual_memory_bytes", "gauge",
	    "Virtual memory size in bytes.", (uint64_t)vm * page);
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				fds++;
		closedir(d);
		fds--;	/* the directory itself */
	}
	prom_u64(b, "process_open_fds", "gauge",
	    "Number of open file descriptors.", (uint64_t)fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		prom_u64(b, "process_max_fds", "gauge",
		    "Maximum number of open file descriptors.",
		    (uint64_t)rl.rlim_cur);
	prom_u64(b, "process_start_time_seconds", "gauge",
	    "Start time of the process since the epoch in seconds.",
	    (uint64_t)server_started());
}

/* GET /metrics: the Prometheus text format (version 0.0.4). */
static void
http_metrics(struct evhttp_request *req)
{
	static const struct metric hists[] = {
		{ "gm_job_queue_wait_seconds", "histogram",
		    "Time from queueing to being given to a worker.", 0 },
		{ "gm_job_run_seconds", "histogram",
		    "Time from being given to a worker to the end.", 1 },
	};
	struct evbuffer		*b = evbuffer_new();
	struct journal_stats	 js;
	struct failed_stats	 fs;
	struct conn_kinds	 k;
	struct prom		 pr;
	size_t			 i;

	prom_family(b, "gm_build_info", "gauge",
	    "The gm-server version, always 1.");
	evbuffer_add_printf(b, "gm_build_info{version=\"%s\"} 1\n",
	    GM_VERSION);
	pr.b = b;
	for (i = 0; i < nitems(func_metrics); i++) {
		pr.m = &func_metrics[i];
		prom_family(b, pr.m->name, pr.m->type, pr.m->help);
		func_foreach(prom_one, &pr);
	}
	for (i = 0; i < nitems(hists); i++) {
		pr.m = &hists[i];
		pr.run = hists[i].which;
		prom_family(b, pr.m->name, pr.m->type, pr.m->help);
		func_foreach(prom_hist, &pr);
	}

	memset(&k, 0, sizeof(k));
	conn_foreach(count_kind, &k);
	prom_family(b, "gm_connections", "gauge", "Open Gearman connections "
	    "by kind: workers (registered a function), clients (wait on a "
	    "job), other (admin, idle).");
	evbuffer_add_printf(b, "gm_connections{kind=\"worker\"} %" PRIu64 "\n"
	    "gm_connections{kind=\"client\"} %" PRIu64 "\n"
	    "gm_connections{kind=\"other\"} %" PRIu64 "\n", k.worker, k.client,
	    k.other);
	failed_stats(&fs);
	prom_u64(b, "gm_failed_jobs", "gauge",
	    "Jobs in the failed list.", fs.count);
	prom_u64(b, "gm_failed_jobs_bytes", "gauge",
	    "Payload and error bytes held by the failed list.", fs.bytes);
	prom_u64(b, "gm_failed_jobs_evicted_total", "counter",
	    "Failed jobs pushed out of the list by its bounds since start.",
	    fs.evicted);
	prom_u64(b, "gm_jobs_retrying", "gauge",
	    "Failed background jobs waiting for their next try.", fs.retrying);
	prom_u64(b, "gm_http_requests_total", "counter",
	    "HTTP requests routed since start.", nrequests);
	prom_u64(b, "gm_http_requests_rejected_total", "counter",
	    "HTTP requests refused with a 4xx since start.", nrejected);

	journal_stats(jnl, &js);
	prom_u64(b, "gm_journal_enabled", "gauge",
	    "1 if background jobs are journaled.", (uint64_t)js.enabled);
	prom_u64(b, "gm_journal_bytes", "gauge",
	    "Size of the journal files in bytes.", js.bytes);
	prom_u64(b, "gm_journal_live_records", "gauge",
	    "Journal records of jobs still pending.", js.live);
	prom_u64(b, "gm_journal_dead_records", "gauge",
	    "Journal records of ended jobs not compacted yet.", js.dead);
	prom_u64(b, "gm_journal_flushes_total", "counter",
	    "Journal batches written (and synced per the sync mode).",
	    js.flushes);
	prom_secs(b, "gm_journal_last_flush_seconds",
	    "Duration of the latest journal flush.", js.last_flush_us);
	prom_secs(b, "gm_journal_peak_flush_seconds",
	    "Duration of the slowest journal flush since start.",
	    js.peak_flush_us);
	prom_family(b, "gm_journal_flush_seconds", "histogram",
	    "Duration of journal flushes (write, and sync per the mode).");
	prom_buckets(b, "gm_journal_flush_seconds", NULL, js.flush_hist,
	    journal_flush_bounds_us, JOURNAL_FLUSH_BUCKETS, js.flush_sum_us);
	prom_u64(b, "gm_journal_compactions_total", "counter",
	    "Journal compactions since start.", js.compactions);
	prom_u64(b, "gm_journal_write_errors_total", "counter",
	    "Journal writes that failed since start.", js.write_errors);
	prom_process(b);

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	http_reply(req, 200, "OK", NULL, b);
	evbuffer_free(b);
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
