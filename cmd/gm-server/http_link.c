/* Public domain. See README.md for the licence of this project. */
/*
 * HTTP requests served through the server's own protocols: the JSON
 * views (GET /api/VIEW), the actions on a handle (POST /api/cancel/,
 * /api/failed/retry/, /api/failed/purge/) and job submissions (POST
 * /FUNCTION).  Each opens a "link", an internal socketpair connection
 * to ourselves (conn_accept), so it gets exactly what any Gearman client
 * or gm-admin gets, and answers the HTTP request from what comes back.
 * A link may outlive its HTTP connection and is freed once answered.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
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

/* The POST /api/ actions: the admin command each one runs on a handle. */
struct action {
	const char	*path;	/* under /api/, ends with '/' */
	const char	*cmd;	/* admin command, the handle follows */
	const char	*what;	/* for the log and the 403 */
};

static void	http_action(struct evhttp_request *, const struct action *,
		    const char *);
static struct link *link_open(struct evhttp_request *, enum link_kind);
static void	link_readcb(struct bufferevent *, void *);
static void	link_eventcb(struct bufferevent *, short, void *);
static void	link_closed(struct evhttp_connection *, void *);
static void	link_timeout(evutil_socket_t, short, void *);
static void	link_watch(evutil_socket_t, short, void *);
static void	link_free(struct link *);
static void	link_done(struct link *, int, const char *, const char *,
		    struct evbuffer *);

static TAILQ_HEAD(, link) links = TAILQ_HEAD_INITIALIZER(links);

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

/* /api/...: a view as JSON (GET), or an action on a handle (POST). */
void
http_api(struct evhttp_request *req, const char *path, int get)
{
	const struct view	*v;
	const struct action	*a;
	struct link		*l;

	/* /api/members: the members of every function. */
	if (get && (v = view_find(path + 5)) != NULL) {
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
	    "view (status, priority-status, workers, members, jobs, "
	    "unique-jobs, journal, stats, failed, retrying, retries, "
	    "failed-stats)" :
	    "action (cancel/HANDLE, failed/retry/HANDLE, "
	    "failed/purge/HANDLE)");
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
void
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

/* Answer every request in flight with a 503 (shutdown). */
void
http_links_free(void)
{
	struct link	*l;

	while ((l = TAILQ_FIRST(&links)) != NULL)
		link_done(l, 503, "Service Unavailable", "503 Service "
		    "Unavailable: the server is stopping\n", NULL);
}
