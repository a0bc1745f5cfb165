/* Public domain. See README.md for the licence of this project. */
/* Listening sockets: bind every -L address, accept, pause on EMFILE. */

#include <sys/types.h>
#include <sys/socket.h>
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
#include "xmalloc.h"
#include "gm-server.h"

#define MAX_LISTEN	64

struct listener {
	int			 l_fd;
	struct evconnlistener	*l_ev;
	char			 l_name[NI_MAXHOST + 16];
};

static void	listen_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	listen_error(struct evconnlistener *, void *);
static void	listen_resume(evutil_socket_t, short, void *);
static int	listen_host(const char *, char *, size_t);
static int	is_loopback(const struct sockaddr *);

static struct listener	 listeners[MAX_LISTEN];
static int		 nlisteners;
static int		 bound_port;
static int		 paused;
static time_t		 last_log;	/* of the EMFILE warning */
static unsigned		 suppressed;
static struct event	*resume_ev;

/* Bind and listen on every address of host; port "0" is fixed at first use. */
static int
listen_host(const char *host, char *port, size_t portlen)
{
	struct addrinfo		 hints, *res, *ai;
	struct sockaddr_storage	 ss;
	socklen_t		 slen;
	char			 addr[NI_MAXHOST];
	int			 fd, one = 1, error, n = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((error = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_warnx("listen %s: %s", host ? host : "*",
		    gai_strerror(error));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (nlisteners == MAX_LISTEN) {
			log_warnx("listen: too many addresses");
			break;
		}
		if (strcmp(port, "0") != 0) {
			/* getaddrinfo was asked with "0": set the port now. */
			if (ai->ai_family == AF_INET)
				((struct sockaddr_in *)ai->ai_addr)->sin_port =
				    htons((uint16_t)atoi(port));
			else if (ai->ai_family == AF_INET6)
				((struct sockaddr_in6 *)ai->ai_addr)->
				    sin6_port = htons((uint16_t)atoi(port));
		}
		getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr),
		    NULL, 0, NI_NUMERICHOST);
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1) {
			log_warn("listen %s: socket", addr);
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
		    listen(fd, conf.backlog) == -1) {
			log_warn("listen %s port %s", addr, port);
			close(fd);
			continue;
		}
		slen = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &slen) == 0) {
			if (ss.ss_family == AF_INET)
				bound_port = ntohs(((struct sockaddr_in *)&ss)->
				    sin_port);
			else if (ss.ss_family == AF_INET6)
				bound_port = ntohs(((struct sockaddr_in6 *)&ss)->
				    sin6_port);
			snprintf(port, portlen, "%d", bound_port);
		}
		listeners[nlisteners].l_fd = fd;
		snprintf(listeners[nlisteners].l_name,
		    sizeof(listeners[nlisteners].l_name),
		    ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", addr, port);
		nlisteners++;
		n++;
	}
	freeaddrinfo(res);
	return n > 0 ? 0 : -1;
}

/*
 * Bind every -L address (localhost when none is given) on -p.  With port 0
 * the first socket picks a free port and the others use the same one.
 */
int
listen_open(void)
{
	char	 port[16];
	int	 i;

	if (strlcpy(port, conf.port, sizeof(port)) >= sizeof(port))
		return -1;
	if (conf.nlisten == 0)
		return listen_host("localhost", port, sizeof(port));
	for (i = 0; i < conf.nlisten; i++) {
		if (listen_host(strcmp(conf.listen[i], "*") == 0 ||
		    strcmp(conf.listen[i], "") == 0 ? NULL : conf.listen[i],
		    port, sizeof(port)) == -1) {
			log_warnx("cannot listen on %s port %s",
			    conf.listen[i], port);
			return -1;
		}
	}
	return 0;
}

/* Start accepting; write the port file and log where we listen. */
void
listen_start(void)
{
	FILE	*fp;
	char	*tmp;
	int	 i;

	for (i = 0; i < nlisteners; i++) {
		listeners[i].l_ev = evconnlistener_new(base, listen_accept,
		    NULL, LEV_OPT_CLOSE_ON_FREE, 0, listeners[i].l_fd);
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
	if ((fp = fopen(tmp, "w")) == NULL ||
	    fprintf(fp, "%d\n", bound_port) < 0 || fclose(fp) == EOF ||
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

/* A new connection: hand it to conn.c. */
static void
listen_accept(struct evconnlistener *l __unused, evutil_socket_t fd,
    struct sockaddr *sa, int slen, void *arg __unused)
{
	char	 host[NI_MAXHOST];

	if (paused) {
		paused = 0;
		log_debug("%s: accepting connections again", __func__);
	}
	if (getnameinfo(sa, (socklen_t)slen, host, sizeof(host), NULL, 0,
	    NI_NUMERICHOST) != 0)
		strlcpy(host, "-", sizeof(host));
	conn_accept(fd, host, is_loopback(sa));
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

/* Close the listening sockets (graceful shutdown). */
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
