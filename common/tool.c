/* Public domain. See README.md for the licence of this project. */
/*
 * The options the tools share (-h, -p, -V, TLS) and the servers they name:
 * every -h, else GEARMAN_SERVER, else localhost.
 */

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "net.h"
#include "tool.h"
#include "xmalloc.h"

/* Start with no options; code is the exit status of a usage error. */
void
tool_init(struct tool_opts *t, int code)
{
	memset(t, 0, sizeof(*t));
	t->code = code;
}

/*
 * Take option ch (with arg) if it is one of the shared ones: 1 if taken,
 * 0 if not; a bad value ends the program with t's usage status.
 */
static int
tool_option(struct tool_opts *t, int ch, char *arg)
{
	const char	*errstr;

	switch (ch) {
	case 'h':
		t->hosts = xreallocarray(t->hosts, t->nhosts + 1,
		    sizeof(*t->hosts));
		t->hosts[t->nhosts++] = arg;
		return 1;
	case 'p':
		strtonum(arg, 1, 65535, &errstr);
		if (errstr != NULL)
			errx(t->code, "-p %s: %s", arg, errstr);
		t->port = arg;
		return 1;
	case 'V':
		printf("%s %s\n", getprogname(), GM_VERSION);
		exit(0);
	default:
		return tls_tool_option(&t->tls, ch, arg);
	}
}

/*
 * getopt_long(3) over argv with the tool's short and long options, taking
 * the shared ones itself: the next option that is the tool's own (or '?'
 * or ':' as getopt_long gives them), or -1 at the end.
 */
int
tool_getopt(struct tool_opts *t, int argc, char *const *argv,
    const char *opts, const struct option *longopts)
{
	int	 ch;

	while ((ch = getopt_long(argc, argv, opts, longopts, NULL)) != -1)
		if (!tool_option(t, ch, optarg))
			break;
	return ch;
}

/*
 * The servers: those of every -h (each may be a comma-separated list),
 * else those of GEARMAN_SERVER, else localhost, with -p (else 4730) where
 * a server names no port.  A bad one ends the program with t's usage
 * status.  *list holds *n servers; caller frees.  The -h list is freed.
 */
void
tool_servers(struct tool_opts *t, struct gm_server **list, size_t *n)
{
	const char	*env, *cause;
	char		 defport[32];
	size_t		 i;

	snprintf(defport, sizeof(defport), "%s",
	    t->port != NULL ? t->port : "4730");
	for (i = 0; i < t->nhosts; i++)
		if (net_parse_servers(t->hosts[i], defport, list, n,
		    &cause) == -1)
			errx(t->code, "-h %s: %s", t->hosts[i], cause);
	if (t->nhosts == 0 && (env = getenv("GEARMAN_SERVER")) != NULL &&
	    *env != '\0' && net_parse_servers(env, defport, list, n,
	    &cause) == -1)
		errx(t->code, "GEARMAN_SERVER %s: %s", env, cause);
	if (*n == 0 && net_parse_servers("localhost", defport, list, n,
	    &cause) == -1)
		errx(t->code, "localhost: %s", cause);
	free(t->hosts);
	t->hosts = NULL;
	t->nhosts = 0;
}

/* The TLS context the options ask for, NULL without TLS. */
struct ssl_ctx_st *
tool_tls(struct tool_opts *t)
{
	return tls_tool_ctx(&t->tls, t->code);
}
