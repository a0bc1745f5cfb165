/* Public domain. See README.md for the licence of this project. */
/*
 * The options gm-submit, gm-work and gm-admin share: -h (repeatable), -p,
 * -V and the TLS options, and the list of servers and the TLS context they
 * give.  Put TOOL_LONGOPTS in the getopt_long table and "h:p:SV" in the
 * short options, read the options with tool_getopt (it takes these
 * itself), then ask tool_servers and tool_tls.
 */
#ifndef GM_TOOL_H
#define GM_TOOL_H

#include <stddef.h>

#include "tls.h"

struct gm_server;
struct option;

#define TOOL_LONGOPTS \
	{ "host",		required_argument,	NULL,	'h' }, \
	{ "port",		required_argument,	NULL,	'p' }, \
	{ "version",		no_argument,		NULL,	'V' }, \
	TLS_TOOL_LONGOPTS

struct tool_opts {
	int		  code;		/* exit status of a usage error */
	char		**hosts;	/* every -h, in order */
	size_t		  nhosts;
	const char	 *port;		/* -p; NULL: 4730 */
	struct tls_tool	  tls;
};

void		 tool_init(struct tool_opts *, int);
int		 tool_getopt(struct tool_opts *, int, char *const *,
		    const char *, const struct option *);
void		 tool_servers(struct tool_opts *, struct gm_server **,
		    size_t *);
struct ssl_ctx_st *tool_tls(struct tool_opts *);

#endif /* GM_TOOL_H */
