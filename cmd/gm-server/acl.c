/* Public domain. See README.md for the licence of this project. */
/*
 * The admin allow-list: the networks (CIDR, --admin-allow) whose peers
 * may send state-changing admin commands, besides loopback, the unix
 * socket and TLS clients with a verified certificate.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "xmalloc.h"
#include "gm-server.h"

struct acl_net {
	int		 n_family;	/* AF_INET or AF_INET6 */
	uint8_t		 n_addr[16];
	int		 n_bits;
};

static struct acl_net	*nets;
static size_t		 nnets;

/*
 * Add "ADDR" or "ADDR/BITS" to the allow-list.  Returns 0, or -1 with a
 * reason in cause (cap bytes).
 */
int
acl_add(const char *spec, char *cause, size_t cap)
{
	struct acl_net	 n;
	char		 addr[INET6_ADDRSTRLEN], *slash;
	const char	*errstr;
	int		 max;

	if (strlcpy(addr, spec, sizeof(addr)) >= sizeof(addr)) {
		snprintf(cause, cap, "%s: address too long", spec);
		return -1;
	}
	memset(&n, 0, sizeof(n));
	if ((slash = strchr(addr, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, addr, n.n_addr) == 1) {
		n.n_family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, n.n_addr) == 1) {
		n.n_family = AF_INET6;
		max = 128;
	} else {
		snprintf(cause, cap, "%s: not an IPv4 or IPv6 address", spec);
		return -1;
	}
	n.n_bits = max;
	if (slash != NULL) {
		n.n_bits = (int)strtonum(slash, 0, max, &errstr);
		if (errstr != NULL) {
			snprintf(cause, cap, "%s: prefix length %s", spec,
			    errstr);
			return -1;
		}
	}
	nets = xreallocarray(nets, nnets + 1, sizeof(*nets));
	nets[nnets++] = n;
	return 0;
}

/* Whether the first bits of a and b are the same. */
static int
prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
	int	 whole = bits / 8, rest = bits % 8;
	uint8_t	 mask;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* Whether a peer address is in one of the allowed networks. */
int
acl_match(const struct sockaddr *sa)
{
	const struct sockaddr_in6	*sin6;
	const uint8_t			*a;
	uint8_t				 v4[4];
	size_t				 i;
	int				 family;

	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		a = (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		family = AF_INET6;
		a = sin6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(v4, a + 12, sizeof(v4));
			family = AF_INET;
			a = v4;
		}
	} else
		return 0;
	for (i = 0; i < nnets; i++)
		if (nets[i].n_family == family &&
		    prefix_equal(nets[i].n_addr, a, nets[i].n_bits))
			return 1;
	return 0;
}

/* Free the allow-list. */
void
acl_free(void)
{
	free(nets);
	nets = NULL;
	nnets = 0;
}
