/* Public domain. See README.md for the licence of this project. */
/*
 * Listening sockets: bind every -L address (TCP, TLS, or a unix-domain
 * socket), accept, tell conn.c whether the peer is trusted, and pause
 * accepting on EMFILE.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "compat.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"
#include "gm-server.h"

#define MAX_LISTEN	64

/* What a listener accepts. */
enum listen_kind {
	LISTEN_TCP, LISTEN_TLS, LISTEN_UNIX
};

struct listener {
	int			 l_fd;
	enum listen_kind	 l_kind;
	struct evconnlistener	*l_ev;
	char			*l_path;	/* unix: the socket file */
	char			 l_name[NI_MAXHOST + 32];
};

static void	listen_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	listen_error(struct evconnlistener *, void *);
static void	listen_resume(evutil_socket_t, short, void *);
static int	listen_host(const char *, char *, size_t, enum listen_kind);
static int	listen_unix(const char *);
static int	is_loopback(const struct sockaddr *);

static struct listener	 listeners[MAX_LISTEN];
static int		 nlisteners;
static int		 bound_port;
static int		 bound_tls_port;
static int		 paused;
static time_t		 last_log;	/* of the EMFILE warning */
static unsigned		 suppressed;
static struct event	*resume_ev;

/*
 * Bind and listen on every address of host; port "0" is replaced by the
 * port the first socket picked, so later hosts share it.
 */
static int
listen_host(const char *host, char *port, size_t portlen,
    enum listen_kind kind)
{
	struct sockaddr_storage	 ss;
	socklen_t		 slen;
	char			 addr[NI_MAXHOST];
	int			 fds[MAX_LISTEN], n, i, p;

	n = net_listen(host, port, conf.backlog, fds, MAX_LISTEN - nlisteners);
	if (n == -1) {
		log_warn("listen on %s port %s", host ? host : "*", port);
		return -1;
	}
	for (i = 0; i < n; i++) {
		slen = sizeof(ss);
		if (getsockname(fds[i], (struct sockaddr *)&ss, &slen) == -1 ||
		    getnameinfo((struct sockaddr *)&ss, slen, addr,
		    sizeof(addr), NULL, 0, NI_NUMERICHOST) != 0)
			strlcpy(addr, "?", sizeof(addr));
		p = net_local_port(fds[i]);
		snprintf(port, portlen, "%d", p);
		if (kind == LISTEN_TLS)
			bound_tls_port = p;
		else
			bound_port = p;
		listeners[nlisteners].l_fd = fds[i];
		listeners[nlisteners].l_kind = kind;
		snprintf(listeners[nlisteners].l_name,
		    sizeof(listeners[nlisteners].l_name),
		    ss.ss_family == AF_INET6 ? "[%s]:%d%s" : "%s:%d%s", addr, p,
		    kind == LISTEN_TLS ? " (TLS)" : "");
		nlisteners++;
	}
	return 0;
}

/*
 * Listen on a unix-domain socket at path, with mode --unix-mode.  A socket
 * file left by a server that is gone is replaced; one that answers is not.
 */
static int
listen_unix(const char *path)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	mode_t			 old;
	int			 fd, probe;

	if (nlisteners == MAX_LISTEN) {
		log_warnx("listen %s: too many addresses", path);
		return -1;
	}
	if (net_unix_addr(path, &sun) == -1) {
		log_warn("listen %s", path);
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_warnx("listen %s: exists and is not a socket",
			    path);
			return -1;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe != -1 && connect(probe, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0) {
			close(probe);
			log_warnx("listen %s: another server answers there",
			    path);
			return -1;
		}
		if (probe != -1)
			close(probe);
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		log_warn("listen %s: socket", path);
		return -1;
	}
	/* No moment where the socket has looser permissions than asked. */
	old = umask(0777 & ~conf.unix_mode);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		log_warn("listen %s", path);
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(path, conf.unix_mode) == -1 ||
	    listen(fd, conf.backlog) == -1) {
		log_warn("listen %s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	listeners[nlisteners].l_fd = fd;
	listeners[nlisteners].l_kind = LISTEN_UNIX;
	listeners[nlisteners].l_path = xstrdup(path);
	snprintf(listeners[nlisteners].l_name,
	    sizeof(listeners[nlisteners].l_name), "%s%s (mode %03o)",
	    NET_UNIX_PREFIX, path, (unsigned)conf.unix_mode);
	nlisteners++;
	return 0;
}

/*
 * Bind every -L address (localhost when none is given) on -p, and on
 * --ssl-port for TLS; with --ssl alone the -p listeners speak TLS.  With
 * port 0 the first socket picks a free port and the others use the same.
 */
int
listen_open(void)
{
	char		 port[16], tport[16];
	const char	*host;
	enum listen_kind kind;
	int		 i, n = conf.nlisten;

	if (strlcpy(port, conf.port, sizeof(port)) >= sizeof(port) ||
	    (conf.ssl_port != NULL && strlcpy(tport, conf.ssl_port,
	    sizeof(tport)) >= sizeof(tport)))
		return -1;
	kind = conf.ssl && conf.ssl_port == NULL ? LISTEN_TLS : LISTEN_TCP;
	for (i = 0; i < (n > 0 ? n : 1); i++) {
		host = n > 0 ? conf.listen[i] : "localhost";
		if (net_is_unix(host)) {
			if (listen_unix(host + strlen(NET_UNIX_PREFIX)) == -1)
				return -1;
			continue;
		}
		if (strcmp(host, "*") == 0 || strcmp(host, "") == 0)
			host = NULL;
		if (listen_host(host, port, sizeof(port), kind) == -1)
			return -1;
		if (conf.ssl_port != NULL &&
		    listen_host(host, tport, sizeof(tport), LISTEN_TLS) == -1)
			return -1;
	}
	return 0;
}

/*
 * Start accepting; write the port file (the plain port, then the TLS port
 * on a line of its own when both are open) and log where we listen.
 */
void
listen_start(void)
{
	FILE	*fp;
	char	*tmp;
	int	 i, rv;

	for (i = 0; i < nlisteners; i++) {
		listeners[i].l_ev = evconnlistener_new(base, listen_accept,
		    &listeners[i], LEV_OPT_CLOSE_ON_FREE, 0,
		    listeners[i].l_fd);
		if (listeners[i].l_ev == NULL)
			fatalx("cannot create a listener");
		evconnlistener_set_error_cb(listeners[i].l_ev, listen_error);
		log_info("listening on %s", listeners[i].l_name);
	}
	resume_ev = evtimer_new(base, listen_resume, NULL);
	if (conf.port_file == NULL)
		return;
	/* Write then rename, so a reader never sees a partial number. */
	xasprintf(&tmp, "%s.tmp", conf.port_file);
	rv = 0;
	if ((fp = fopen(tmp, "w")) != NULL && bound_port != 0)
		rv = fprintf(fp, "%d\n", bound_port);
	if (fp != NULL && rv >= 0 && bound_tls_port != 0)
		rv = fprintf(fp, "%d\n", bound_tls_port);
	if (fp == NULL || rv < 0 || fclose(fp) == EOF ||
	    rename(tmp, conf.port_file) == -1)
		log_warn("port file %s", conf.port_file);
	free(tmp);
}

/* Whether a peer address is on the loopback network. */
static int
is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*b;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return 1;
		b = sin6->sin6_addr.s6_addr;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && b[12] == 127;
	}
	return 0;
}

/*
 * Whether a peer address may change state: loopback or --admin-allow
 * (the same rule for the Gearman and the HTTP ports).
 */
int
listen_trusted(const struct sockaddr *sa)
{
	return is_loopback(sa) || acl_match(sa);
}

/*
 * A new connection: hand it to conn.c, saying how it came (TLS, the unix
 * socket) and whether its address is trusted for admin commands.
 */
static void
listen_accept(struct evconnlistener *ev __unused, evutil_socket_t fd,
    struct sockaddr *sa, int slen, void *arg)
{
	struct listener	*l = arg;
	char		 host[NI_MAXHOST];
	int		 flags = 0;

	if (paused) {
		paused = 0;
		log_debug("%s: accepting connections again", __func__);
	}
	if (l->l_kind == LISTEN_UNIX) {
		strlcpy(host, "unix", sizeof(host));
		flags |= CONN_UNIX | CONN_TRUSTED;
	} else {
		if (getnameinfo(sa, (socklen_t)slen, host, sizeof(host), NULL,
		    0, NI_NUMERICHOST) != 0)
			strlcpy(host, "-", sizeof(host));
		if (listen_trusted(sa))
			flags |= CONN_TRUSTED;
		if (l->l_kind == LISTEN_TLS)
			flags |= CONN_TLS;
	}
	conn_accept(fd, host, flags);
}

/*
 * Pause accept if we are out of file descriptors, or the listener would
 * spin on the readable socket; try again in a second.
 */
static void
listen_error(struct evconnlistener *l __unused, void *arg __unused)
{
	struct timeval	 tv = { 1, 0 };
	time_t		 now;
	int		 i, e = errno;

	if (e != EMFILE && e != ENFILE) {
		log_warnx("accept: %s", strerror(e));
		return;
	}
	/* One line per minute at most, however often it happens. */
	now = time(NULL);
	if (now - last_log >= 60) {
		log_warnx("accept: %s: pausing accept for 1 s (logged at "
		    "most once a minute; %u pauses since the last line)",
		    strerror(e), suppressed);
		last_log = now;
		suppressed = 0;
	} else
		suppressed++;
	paused = 1;
	for (i = 0; i < nlisteners; i++)
		evconnlistener_disable(listeners[i].l_ev);
	evtimer_add(resume_ev, &tv);
}

/* Re-enable accepting after a pause. */
static void
listen_resume(evutil_socket_t fd __unused, short what __unused,
    void *arg __unused)
{
	int	 i;

	if (server_stopping())
		return;
	for (i = 0; i < nlisteners; i++)
		if (listeners[i].l_ev != NULL)
			evconnlistener_enable(listeners[i].l_ev);
}

/* Close the listening sockets (graceful shutdown) and remove socket files. */
void
listen_stop(void)
{
	int	 i;

	for (i = 0; i < nlisteners; i++) {
		if (listeners[i].l_ev != NULL)
			evconnlistener_free(listeners[i].l_ev);
		else if (listeners[i].l_fd != -1)
			close(listeners[i].l_fd);
		listeners[i].l_ev = NULL;
		listeners[i].l_fd = -1;
		if (listeners[i].l_path != NULL) {
			unlink(listeners[i].l_path);
			free(listeners[i].l_path);
			listeners[i].l_path = NULL;
		}
	}
	if (resume_ev != NULL)
		evtimer_del(resume_ev);
}

/* Free everything listen.c holds. */
void
listen_free(void)
{
	listen_stop();
	if (resume_ev != NULL)
		event_free(resume_ev);
	resume_ev = NULL;
	nlisteners = 0;
}

/* The first address we listen on, "host:port" (the server's name). */
const char *
listen_name(void)
{
	return nlisteners > 0 ? listeners[0].l_name : "-";
}
