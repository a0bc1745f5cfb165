/* Public domain. See README.md for the licence of this project. */
/* Sockets: connect and listen by name, and server-list parsing. */
#ifndef GM_NET_H
#define GM_NET_H

#include <stddef.h>

struct net_dial;
struct sockaddr_un;

/* A server or listening address "unix:/path" is a unix-domain socket. */
#define NET_UNIX_PREFIX	"unix:"

/*
 * TCP keepalive of every connection (tools and gm-server, unless changed):
 * a silent peer is found dead within 10 + 5 * 3 = 25 seconds.
 */
#define NET_KA_IDLE	10
#define NET_KA_INTERVAL	5
#define NET_KA_COUNT	3

/* One server of a list such as "a,b:4731,[::1]:4732". */
struct gm_server {
	char	 host[256];
	char	 port[32];
};

int	net_connect(const char *, const char *, int);
struct net_dial *net_dial_new(const char *, const char *);
int	net_dial_next(struct net_dial *);
int	net_dial_done(struct net_dial *, int, int);
void	net_dial_free(struct net_dial *);
int	net_listen(const char *, const char *, int, int *, int);
int	net_local_port(int);
int	net_is_unix(const char *);
int	net_unix_addr(const char *, struct sockaddr_un *);
int	net_nodelay(int);
int	net_keepalive(int, int, int, int);
int	net_readable(int);
int	net_nonblock(int, int);
int	net_parse_server(const char *, const char *, struct gm_server *,
	    const char **);
void	net_server_name(const struct gm_server *, char *, size_t);
int	net_parse_servers(const char *, const char *, struct gm_server **,
	    size_t *, const char **);

#endif /* GM_NET_H */
