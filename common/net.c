/* Public domain. See README.md for the licence of this project. */
/*
 * Connect by host name (at once with net_connect, or without blocking, an
 * address at a time, with net_dial_*), listen, and parse lists of servers.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "xmalloc.h"

/* Turn Nagle off. */
int
net_nodelay(int fd)
{
	int	 one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/*
 * TCP keepalive: the first probe after idle seconds of silence, then one
 * every interval seconds, the peer dead after count unanswered; data left
 * unacknowledged as long gives up too (TCP_USER_TIMEOUT), so a peer that
 * vanished is noticed within idle + interval * count seconds either way.
 */
int
net_keepalive(int fd, int idle, int interval, int count)
{
	int	 one = 1;
	unsigned int ms = (unsigned int)(idle + interval * count) * 1000;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle,
	    sizeof(idle)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval,
	    sizeof(interval)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count,
	    sizeof(count)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms,
	    sizeof(ms)) == -1)
		return -1;
	return 0;
}

/*
 * Whether bytes (or an end) wait to be read on fd now: a liveness probe
 * whose deadline passed asks before it gives up, in case the answer came
 * while the program was busy.
 */
int
net_readable(int fd)
{
	struct pollfd	 pfd;

	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) > 0;
}

/* Set or clear O_NONBLOCK. */
int
net_nonblock(int fd, int on)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl);
}

/* Whether a server name is a unix-domain socket, "unix:/path". */
int
net_is_unix(const char *host)
{
	return strncmp(host, NET_UNIX_PREFIX, strlen(NET_UNIX_PREFIX)) == 0;
}

/* Fill sun with the path of "unix:/path"; -1 (ENAMETOOLONG) if too long. */
int
net_unix_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlcpy(sun->sun_path, path, sizeof(sun->sun_path)) >=
	    sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * Connecting without blocking: the addresses a name resolves to (IPv6 ones
 * first, as getaddrinfo orders them), tried one after the other.
 */
struct net_dial {
	struct addrinfo		*nd_res;	/* getaddrinfo's list, or NULL */
	const struct addrinfo	*nd_next;	/* the next address to try */
	struct addrinfo		 nd_uai;	/* "unix:/path": the address */
	struct sockaddr_un	 nd_sun;
	int			 nd_error;	/* errno of the last failure */
};

/*
 * Resolve host:port (a name or a number; "unix:/path" is a unix-domain
 * socket and the port is not used) for net_dial_next.  Returns NULL with
 * errno set (EHOSTUNREACH for a name that does not resolve).  Resolving a
 * name may block; numbers and /etc/hosts do not wait on the network.
 */
struct net_dial *
net_dial_new(const char *host, const char *port)
{
	struct net_dial	*d;
	struct addrinfo	 hints;
	int		 error;

	d = xcalloc(1, sizeof(*d));
	d->nd_error = ECONNREFUSED;
	if (net_is_unix(host)) {
		if (net_unix_addr(host + strlen(NET_UNIX_PREFIX),
		    &d->nd_sun) == -1) {
			free(d);
			return NULL;
		}
		d->nd_uai.ai_family = AF_UNIX;
		d->nd_uai.ai_socktype = SOCK_STREAM;
		d->nd_uai.ai_addr = (struct sockaddr *)&d->nd_sun;
		d->nd_uai.ai_addrlen = sizeof(d->nd_sun);
		d->nd_next = &d->nd_uai;
		return d;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((error = getaddrinfo(host, port, &hints, &d->nd_res)) != 0) {
		free(d);
		errno = error == EAI_SYSTEM ? errno : EHOSTUNREACH;
		return NULL;
	}
	d->nd_next = d->nd_res;
	return d;
}

/*
 * Start connecting the next address: returns a non-blocking, close-on-exec
 * socket whose connect is under way (or done), to be handed to
 * net_dial_done once it is writable or its deadline has passed; -1 with
 * errno set to the last failure when no address is left.
 */
int
net_dial_next(struct net_dial *d)
{
	const struct addrinfo	*ai;
	int			 fd;

	while ((ai = d->nd_next) != NULL) {
		d->nd_next = ai->ai_next;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1) {
			d->nd_error = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS || errno == EAGAIN)
			return fd;
		d->nd_error = errno;
		close(fd);
	}
	errno = d->nd_error;
	return -1;
}

/*
 * The connect on fd (from net_dial_next) has finished, or failed with
 * error (ETIMEDOUT when its deadline passed; 0: ask the socket).  Returns
 * 0 with fd ready, Nagle off and keepalive set on TCP; or -1 with errno
 * set and fd closed, net_dial_next being next.
 */
int
net_dial_done(struct net_dial *d, int fd, int error)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(error);
	socklen_t		 slen = sizeof(ss);

	if (error == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		error = errno;
	if (error != 0) {
		close(fd);
		d->nd_error = errno = error;
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &slen) == 0 &&
	    ss.ss_family != AF_UNIX) {
		net_nodelay(fd);
		net_keepalive(fd, NET_KA_IDLE, NET_KA_INTERVAL, NET_KA_COUNT);
	}
	return 0;
}

/* Free what net_dial_new made (sockets handed out are the caller's). */
void
net_dial_free(struct net_dial *d)
{
	if (d == NULL)
		return;
	if (d->nd_res != NULL)
		freeaddrinfo(d->nd_res);
	free(d);
}

/*
 * Connect to host:port as net_dial_new resolves it, waiting for each
 * address at most timeout ms (<= 0: no limit), and return a non-blocking,
 * close-on-exec socket with Nagle off, or -1 with errno set.
 */
int
net_connect(const char *host, const char *port, int timeout)
{
	struct net_dial	*d;
	struct pollfd	 pfd;
	int		 fd, rv, error;

	if ((d = net_dial_new(host, port)) == NULL)
		return -1;
	while ((fd = net_dial_next(d)) != -1) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			rv = poll(&pfd, 1, timeout > 0 ? timeout : -1);
		while (rv == -1 && errno == EINTR);
		error = rv == 0 ? ETIMEDOUT : rv == -1 ? errno : 0;
		if (net_dial_done(d, fd, error) == 0)
			break;
	}
	error = errno;
	net_dial_free(d);
	errno = error;
	return fd;
}

/* The port a socket is bound to, 0 if it has none. */
int
net_local_port(int fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 slen = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &slen) == -1)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* Set the port of an IPv4 or IPv6 address. */
static void
set_port(struct sockaddr *sa, int port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
	else if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
}

/*
 * Listen on every address host:port resolves to (host NULL: the wildcard),
 * storing up to max descriptors in fds.  With port "0" the first socket
 * picks a free port and the others take the same one.  Returns how many,
 * or -1 with errno set when none could be opened.
 */
int
net_listen(const char *host, const char *port, int backlog, int *fds, int max)
{
	struct addrinfo	 hints, *res, *ai;
	int		 fd, n = 0, one = 1, error, saved = EADDRNOTAVAIL;
	int		 picked = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((error = getaddrinfo(host, port, &hints, &res)) != 0) {
		errno = error == EAI_SYSTEM ? errno : EADDRNOTAVAIL;
		return -1;
	}
	for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (picked != 0)
			set_port(ai->ai_addr, picked);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
		    listen(fd, backlog) == -1) {
			saved = errno;
			close(fd);
			continue;
		}
		if (strcmp(port, "0") == 0 && picked == 0)
			picked = net_local_port(fd);
		fds[n++] = fd;
	}
	freeaddrinfo(res);
	if (n == 0) {
		errno = saved;
		return -1;
	}
	return n;
}

/*
 * Parse one server, "host", "host:port", "[v6]" or "[v6]:port"; a bare
 * address with several colons is an IPv6 host.  Returns 0, or -1 with
 * *cause set.
 */
int
net_parse_server(const char *spec, const char *defport, struct gm_server *srv,
    const char **cause)
{
	const char	*host = spec, *port = defport, *colon, *end;
	size_t		 hlen;
	long		 n;
	char		*ep;

	if (net_is_unix(spec)) {
		if (spec[strlen(NET_UNIX_PREFIX)] != '/') {
			*cause = "unix socket path must be absolute";
			return -1;
		}
		if (strlcpy(srv->host, spec, sizeof(srv->host)) >=
		    sizeof(srv->host)) {
			*cause = "unix socket path too long";
			return -1;
		}
		strlcpy(srv->port, "-", sizeof(srv->port));
		return 0;
	}
	if (*spec == '[') {
		if ((end = strchr(spec, ']')) == NULL) {
			*cause = "missing ]";
			return -1;
		}
		host = spec + 1;
		hlen = (size_t)(end - host);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0') {
			*cause = "junk after ]";
			return -1;
		}
	} else if ((colon = strchr(spec, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		hlen = (size_t)(colon - spec);
		port = colon + 1;
	} else
		hlen = strlen(spec);
	if (hlen == 0) {
		host = "localhost";
		hlen = strlen(host);
	}
	if (hlen >= sizeof(srv->host)) {
		*cause = "host name too long";
		return -1;
	}
	if (*port == '\0' || strlen(port) >= sizeof(srv->port)) {
		*cause = "bad port";
		return -1;
	}
	n = strtol(port, &ep, 10);
	if (*ep == '\0' && (n < 1 || n > 65535)) {
		*cause = "port out of range";
		return -1;
	}
	memcpy(srv->host, host, hlen);
	srv->host[hlen] = '\0';
	strlcpy(srv->port, port, sizeof(srv->port));
	return 0;
}

/* A server's name for messages: "host:port", "[v6]:port" or "unix:/path". */
void
net_server_name(const struct gm_server *srv, char *buf, size_t len)
{
	if (net_is_unix(srv->host))
		snprintf(buf, len, "%s", srv->host);
	else if (strchr(srv->host, ':') != NULL)
		snprintf(buf, len, "[%s]:%s", srv->host, srv->port);
	else
		snprintf(buf, len, "%s:%s", srv->host, srv->port);
}

/*
 * Parse a comma-separated list of servers and append them to *list, which
 * holds *n entries (grown as needed; caller frees).  Empty items are skipped.
 */
int
net_parse_servers(const char *spec, const char *defport,
    struct gm_server **list, size_t *n, const char **cause)
{
	char		*copy, *item, *p;
	struct gm_server srv;
	int		 rv = 0;

	copy = p = xstrdup(spec);
	while ((item = strsep(&p, ",")) != NULL) {
		while (*item == ' ')
			item++;
		if (*item == '\0')
			continue;
		if (net_parse_server(item, defport, &srv, cause) == -1) {
			rv = -1;
			break;
		}
		*list = xreallocarray(*list, *n + 1, sizeof(**list));
		(*list)[(*n)++] = srv;
	}
	free(copy);
	return rv;
}
