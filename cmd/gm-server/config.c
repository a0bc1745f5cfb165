/* Public domain. See README.md for the licence of this project. */
/*
 * gm-server's options: the command line read into struct config (conf),
 * with gearmand's option names and defaults where they exist, the checks
 * between options, the usage text, and the paths made absolute for a
 * daemon that moves to /.  Nothing here opens, binds or starts anything:
 * that is main()'s, in gm-server.c.
 */

#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"
#include "net.h"
#include "status.h"
#include "tls.h"
#include "xmalloc.h"
#include "journal.h"
#include "gm-server.h"

static __dead void usage(int);
static size_t	parse_size(const char *, const char *);
static int	parse_verbose(const char *);
static int	is_verbose_level(const char *);
static char	*default_journal(void);
static unsigned	parse_mode(const char *);
static const char *absolute(const char *);

static const char *const verbose_names[] = {
	"FATAL", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO",
	"DEBUG"
};

enum {
	OPT_SYSLOG = 256, OPT_HANDLE_PREFIX, OPT_KEEPALIVE, OPT_NO_KEEPALIVE,
	OPT_KA_IDLE,
	OPT_KA_INTERVAL, OPT_KA_COUNT, OPT_EXCEPTIONS, OPT_PORT_FILE,
	OPT_JOURNAL, OPT_JOURNAL_SYNC, OPT_JOURNAL_REPAIR, OPT_MAX_PACKET,
	OPT_MAX_OUTPUT, OPT_HASHTABLE, OPT_SSL, OPT_SSL_CA, OPT_SSL_CERT,
	OPT_SSL_KEY, OPT_SSL_PORT, OPT_SSL_VERIFY, OPT_UNIX_MODE,
	OPT_ADMIN_ALLOW, OPT_ADMIN_OPEN, OPT_ADMIN_READS, OPT_MAX_INPUT,
	OPT_REQUEST_TIMEOUT, OPT_MAX_HELD,
	OPT_HTTP, OPT_HTTP_PORT,
	OPT_RETRIES, OPT_RETRY_BACKOFF, OPT_RETRY_MAX, OPT_FAILED_MAX,
	OPT_FAILED_MAX_BYTES, OPT_FATE_MAX, OPT_FATE_AGE
};

static const struct option longopts[] = {
	{ "backlog",		required_argument, NULL, 'b' },
	{ "daemon",		no_argument,	   NULL, 'd' },
	{ "file-descriptors",	required_argument, NULL, 'f' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "job-retries",	required_argument, NULL, 'j' },
	{ "listen",		required_argument, NULL, 'L' },
	{ "log-file",		required_argument, NULL, 'l' },
	{ "pid-file",		required_argument, NULL, 'P' },
	{ "port",		required_argument, NULL, 'p' },
	{ "protocol",		required_argument, NULL, 'r' },
	{ "queue-type",		required_argument, NULL, 'q' },
	{ "round-robin",	no_argument,	   NULL, 'R' },
	{ "threads",		required_argument, NULL, 't' },
	{ "user",		required_argument, NULL, 'u' },
	{ "verbose",		optional_argument, NULL, 'v' },
	{ "version",		no_argument,	   NULL, 'V' },
	{ "worker-wakeup",	required_argument, NULL, 'w' },
	{ "syslog",		no_argument,	   NULL, OPT_SYSLOG },
	{ "job-handle-prefix",	required_argument, NULL, OPT_HANDLE_PREFIX },
	{ "keepalive",		no_argument,	   NULL, OPT_KEEPALIVE },
	{ "no-keepalive",	no_argument,	   NULL, OPT_NO_KEEPALIVE },
	{ "keepalive-idle",	required_argument, NULL, OPT_KA_IDLE },
	{ "keepalive-interval",	required_argument, NULL, OPT_KA_INTERVAL },
	{ "keepalive-count",	required_argument, NULL, OPT_KA_COUNT },
	{ "exceptions",		no_argument,	   NULL, OPT_EXCEPTIONS },
	{ "port-file",		required_argument, NULL, OPT_PORT_FILE },
	{ "journal",		required_argument, NULL, OPT_JOURNAL },
	{ "journal-sync",	required_argument, NULL, OPT_JOURNAL_SYNC },
	{ "journal-repair",	no_argument,	   NULL, OPT_JOURNAL_REPAIR },
	{ "max-packet",		required_argument, NULL, OPT_MAX_PACKET },
	{ "max-output",		required_argument, NULL, OPT_MAX_OUTPUT },
	{ "max-input",		required_argument, NULL, OPT_MAX_INPUT },
	{ "max-held",		required_argument, NULL, OPT_MAX_HELD },
	{ "request-timeout",	required_argument, NULL, OPT_REQUEST_TIMEOUT },
	{ "hashtable-buckets",	required_argument, NULL, OPT_HASHTABLE },
	{ "ssl",		no_argument,	   NULL, OPT_SSL },
	{ "ssl-ca-file",	required_argument, NULL, OPT_SSL_CA },
	{ "ssl-certificate",	required_argument, NULL, OPT_SSL_CERT },
	{ "ssl-key",		required_argument, NULL, OPT_SSL_KEY },
	{ "ssl-port",		required_argument, NULL, OPT_SSL_PORT },
	{ "ssl-verify-client",	no_argument,	   NULL, OPT_SSL_VERIFY },
	{ "unix-mode",		required_argument, NULL, OPT_UNIX_MODE },
	{ "admin-allow",	required_argument, NULL, OPT_ADMIN_ALLOW },
	{ "admin-open",		no_argument,	   NULL, OPT_ADMIN_OPEN },
	{ "admin-trusted-reads", no_argument,	   NULL, OPT_ADMIN_READS },
	{ "http",		required_argument, NULL, OPT_HTTP },
	{ "http-port",		required_argument, NULL, OPT_HTTP_PORT },
	{ "retries",		required_argument, NULL, OPT_RETRIES },
	{ "retry-backoff",	required_argument, NULL, OPT_RETRY_BACKOFF },
	{ "retry-max-delay",	required_argument, NULL, OPT_RETRY_MAX },
	{ "failed-max",		required_argument, NULL, OPT_FAILED_MAX },
	{ "failed-max-bytes",	required_argument, NULL, OPT_FAILED_MAX_BYTES },
	{ "fate-max",		required_argument, NULL, OPT_FATE_MAX },
	{ "fate-age",		required_argument, NULL, OPT_FATE_AGE },
	{ NULL,			0,		   NULL, 0 }
};

/* The synopsis: usage(0) is help, else status is the exit status. */
static __dead void
usage(int status)
{
	status_usage(status,
	    "usage: %s [-dhRV] [-b backlog] [-f fds] [-j attempts] "
	    "[-L address]\n"
	    "\t[-l file|stderr|none] [-P pidfile] [-p port] [-u user] "
	    "[-v [level]]\n"
	    "\t[-r http] [-w count] [--exceptions] [--http [address:]port]\n"
	    "\t[--http-port port] [--job-handle-prefix prefix]\n"
	    "\t[--journal dir|none] [--journal-sync always|never|ms] "
	    "[--journal-repair]\n"
	    "\t[--[no-]keepalive] [--keepalive-idle s] [--keepalive-interval s] "
	    "[--keepalive-count n]\n"
	    "\t[--max-held jobs] [--max-input size] [--max-output size] "
	    "[--max-packet size]\n"
	    "\t[--port-file file] [--request-timeout seconds] [--syslog]\n"
	    "\t[--admin-allow cidr] [--admin-open] [--admin-trusted-reads] "
	    "[--unix-mode mode]\n"
	    "\t[--ssl] [--ssl-ca-file file] [--ssl-certificate file] "
	    "[--ssl-key file]\n"
	    "\t[--ssl-port port] [--ssl-verify-client]\n"
	    "\t[--retries n] [--retry-backoff ms] [--retry-max-delay ms]\n"
	    "\t[--failed-max n] [--failed-max-bytes size] [--fate-max n] "
	    "[--fate-age s]\n", getprogname());
}

/* Parse a size such as 512, 64K, 16M or 1G; exit on error. */
static size_t
parse_size(const char *s, const char *what)
{
	unsigned long long	 n, mul = 1;
	char			*ep;

	errno = 0;
	n = strtoull(s, &ep, 10);
	if (ep == s || errno != 0 || *s == '-')
		errx(1, "%s: invalid size: %s", what, s);
	switch (*ep) {
	case 'k': case 'K':
		mul = 1024;
		ep++;
		break;
	case 'm': case 'M':
		mul = 1024 * 1024;
		ep++;
		break;
	case 'g': case 'G':
		mul = 1024 * 1024 * 1024;
		ep++;
		break;
	}
	if (*ep != '\0' || n == 0 || n > UINT32_MAX / mul)
		errx(1, "%s: invalid size: %s", what, s);
	return (size_t)(n * mul);
}

/* Whether s names a verbose level (a gearmand level name). */
static int
is_verbose_level(const char *s)
{
	size_t	 i;

	for (i = 0; i < nitems(verbose_names); i++)
		if (strcasecmp(s, verbose_names[i]) == 0)
			return 1;
	return 0;
}

/* Parse a --verbose level: a gearmand level name or a number. */
static int
parse_verbose(const char *s)
{
	const char	*errstr;
	size_t		 i;
	int		 n;

	for (i = 0; i < nitems(verbose_names); i++)
		if (strcasecmp(s, verbose_names[i]) == 0)
			return (int)i;
	n = (int)strtonum(s, 0, V_DEBUG, &errstr);
	if (errstr != NULL)
		errx(1, "invalid verbose level: %s", s);
	return n;
}

/* Name of a verbosity level, for the admin `verbose` command. */
const char *
server_verbose_name(void)
{
	return verbose_names[conf.verbose];
}

/* The default journal folder: system-wide for root, else per user. */
static char *
default_journal(void)
{
	const char	*xdg, *home;
	char		*dir;

	if (geteuid() == 0)
		return xstrdup("/var/lib/gm-server");
	if ((xdg = getenv("XDG_STATE_HOME")) != NULL && *xdg == '/')
		xasprintf(&dir, "%s/gm-server", xdg);
	else if ((home = getenv("HOME")) != NULL && *home != '\0')
		xasprintf(&dir, "%s/.local/state/gm-server", home);
	else
		errx(1, "no HOME for the default journal; use --journal");
	return dir;
}

static char	*abs_paths[4];	/* made by absolute(), freed at exit */
static size_t	 nabs_paths;

/* An absolute form of path, for use after daemon() moved to /. */
static const char *
absolute(const char *path)
{
	char	 cwd[4096], *p;

	if (path == NULL || path[0] == '/' ||
	    nabs_paths == nitems(abs_paths) ||
	    getcwd(cwd, sizeof(cwd)) == NULL)
		return path;
	xasprintf(&p, "%s/%s", cwd, path);
	abs_paths[nabs_paths++] = p;
	return p;
}

/* Parse an octal file mode such as 0660; exit on error. */
static unsigned
parse_mode(const char *s)
{
	unsigned long	 m;
	char		*ep;

	errno = 0;
	m = strtoul(s, &ep, 8);
	if (*s == '\0' || *ep != '\0' || errno != 0 || m > 0777)
		errx(1, "unix socket mode %s: want an octal mode such as 0660",
		    s);
	return (unsigned)m;
}

/*
 * Read the command line into conf and check it; exit with a message on
 * an error.  *prefix is set to --job-handle-prefix's value (or left
 * NULL), *pw to -u's user, looked up now while root.
 */
void
config_parse(int argc, char *argv[], char **prefix, struct passwd **pw)
{
	const char		*errstr;
	char			*cause = NULL, why[512], *p;
	int			 ch, n, verbose_set = 0, jdefault = 1;

	memset(&conf, 0, sizeof(conf));
	conf.port = "4730";
	conf.backlog = 32;
	conf.verbose = V_ERROR;
	conf.wakeup = 1;
	conf.journal_sync = JOURNAL_SYNC_ALWAYS;
	conf.max_packet = 256U * 1024 * 1024;
	conf.max_output = 64U * 1024 * 1024;
	conf.max_input = 256U * 1024 * 1024;
	conf.request_timeout = 60;
	conf.max_held = 1000;
	conf.keepalive = 1;
	conf.keepalive_idle = NET_KA_IDLE;
	conf.keepalive_interval = NET_KA_INTERVAL;
	conf.keepalive_count = NET_KA_COUNT;
	conf.unix_mode = 0660;
	conf.retry.rp_retries = 0;
	conf.retry.rp_backoff = 1000;
	conf.retry.rp_max = 3600 * 1000;
	conf.failed_max = 10000;
	conf.failed_max_bytes = 64U * 1024 * 1024;
	conf.fate_max = 10000;
	conf.fate_age = 3600;

	while ((ch = getopt_long(argc, argv, "b:df:hj:L:l:P:p:q:Rr:t:u:v::Vw:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			conf.backlog = (int)strtonum(optarg, 1, 65535, &errstr);
			if (errstr != NULL)
				errx(1, "backlog %s: %s", optarg, errstr);
			break;
		case 'd':
			conf.daemonize = 1;
			break;
		case 'f':
			conf.fd_limit = strtonum(optarg, 1, 1 << 24, &errstr);
			if (errstr != NULL)
				errx(1, "file descriptors %s: %s", optarg,
				    errstr);
			break;
		case 'h':
			usage(0);
		case 'j':
			conf.job_retries = (uint32_t)strtonum(optarg, 0,
			    UINT32_MAX, &errstr);
			if (errstr != NULL)
				errx(1, "job retries %s: %s", optarg, errstr);
			break;
		case 'L':
			conf.listen = xreallocarray(conf.listen,
			    conf.nlisten + 1, sizeof(*conf.listen));
			conf.listen[conf.nlisten++] = optarg;
			break;
		case 'l':
			conf.logfile = optarg;
			break;
		case 'P':
			conf.pidfile = optarg;
			break;
		case 'p':
			strtonum(optarg, 0, 65535, &errstr);
			if (errstr != NULL)
				errx(1, "port %s: %s", optarg, errstr);
			conf.port = optarg;
			break;
		case 'q':
			fprintf(stderr, "%s: -q %s ignored: background jobs "
			    "are kept in the journal (--journal)\n",
			    getprogname(), optarg);
			break;
		case 'R':
			conf.round_robin = 1;
			break;
		case 'r':
			if (strcmp(optarg, "http") != 0)
				errx(1, "protocol %s: only http is known",
				    optarg);
			conf.http = 1;
			break;
		case 't':
			fprintf(stderr, "%s: -t %s ignored: one event loop "
			    "serves every connection\n", getprogname(),
			    optarg);
			break;
		case 'u':
			conf.user = optarg;
			break;
		case 'v':
			/* gearmand takes `--verbose LEVEL` as two words. */
			if (optarg == NULL && optind < argc &&
			    is_verbose_level(argv[optind]))
				optarg = argv[optind++];
			if (optarg != NULL)
				conf.verbose = parse_verbose(optarg);
			else if (!verbose_set && conf.verbose < V_INFO)
				conf.verbose = V_INFO;
			else if (conf.verbose < V_DEBUG)
				conf.verbose++;
			verbose_set = 1;
			break;
		case 'V':
			printf("gm-server %s\n", GM_VERSION);
			exit(0);
		case 'w':
			conf.wakeup = (int)strtonum(optarg, 0, 65535, &errstr);
			if (errstr != NULL)
				errx(1, "worker wakeup %s: %s", optarg, errstr);
			break;
		case OPT_SYSLOG:
			conf.syslog = 1;
			break;
		case OPT_HANDLE_PREFIX:
			if (strlen(optarg) > 40 || strchr(optarg, ' '))
				errx(1, "job handle prefix too long or "
				    "contains a space: %s", optarg);
			*prefix = optarg;
			break;
		case OPT_KEEPALIVE:
			conf.keepalive = 1;
			break;
		case OPT_NO_KEEPALIVE:
			conf.keepalive = 0;
			break;
		case OPT_KA_IDLE:
		case OPT_KA_INTERVAL:
		case OPT_KA_COUNT:
			n = (int)strtonum(optarg, 1, 32767, &errstr);
			if (errstr != NULL)
				errx(1, "keepalive value %s: %s", optarg,
				    errstr);
			if (ch == OPT_KA_IDLE)
				conf.keepalive_idle = n;
			else if (ch == OPT_KA_INTERVAL)
				conf.keepalive_interval = n;
			else
				conf.keepalive_count = n;
			break;
		case OPT_EXCEPTIONS:
			conf.exceptions = 1;
			break;
		case OPT_PORT_FILE:
			conf.port_file = optarg;
			break;
		case OPT_JOURNAL:
			free(conf.journal_dir);
			conf.journal_dir = strcmp(optarg, "none") == 0 ? NULL :
			    xstrdup(optarg);
			jdefault = 0;
			break;
		case OPT_JOURNAL_SYNC:
			if (strcmp(optarg, "always") == 0)
				conf.journal_sync = JOURNAL_SYNC_ALWAYS;
			else if (strcmp(optarg, "never") == 0)
				conf.journal_sync = JOURNAL_SYNC_NEVER;
			else {
				conf.journal_sync = JOURNAL_SYNC_INTERVAL;
				conf.journal_interval = (int)strtonum(optarg,
				    1, 3600000, &errstr);
				if (errstr != NULL)
					errx(1, "journal sync %s: want always, "
					    "never or milliseconds", optarg);
			}
			break;
		case OPT_JOURNAL_REPAIR:
			conf.journal_repair = 1;
			break;
		case OPT_MAX_PACKET:
			conf.max_packet = parse_size(optarg, "max packet");
			break;
		case OPT_MAX_OUTPUT:
			conf.max_output = parse_size(optarg, "max output");
			break;
		case OPT_SSL:
			conf.ssl = 1;
			break;
		case OPT_SSL_CA:
			conf.ssl_ca_file = optarg;
			break;
		case OPT_SSL_CERT:
			conf.ssl_cert_file = optarg;
			break;
		case OPT_SSL_KEY:
			conf.ssl_key_file = optarg;
			break;
		case OPT_SSL_PORT:
			strtonum(optarg, 0, 65535, &errstr);
			if (errstr != NULL)
				errx(1, "TLS port %s: %s", optarg, errstr);
			conf.ssl_port = optarg;
			conf.ssl = 1;
			break;
		case OPT_SSL_VERIFY:
			conf.ssl_verify_client = 1;
			break;
		case OPT_UNIX_MODE:
			conf.unix_mode = parse_mode(optarg);
			break;
		case OPT_ADMIN_ALLOW:
			if (acl_add(optarg, why, sizeof(why)) == -1)
				errx(1, "--admin-allow %s", why);
			break;
		case OPT_ADMIN_OPEN:
			conf.admin_open = 1;
			break;
		case OPT_ADMIN_READS:
			conf.admin_reads = 1;
			break;
		case OPT_MAX_INPUT:
			conf.max_input = parse_size(optarg, "max input");
			break;
		case OPT_MAX_HELD:
			conf.max_held = (uint32_t)strtonum(optarg, 0,
			    UINT32_MAX, &errstr);
			if (errstr != NULL)
				errx(1, "max held %s: %s", optarg, errstr);
			break;
		case OPT_REQUEST_TIMEOUT:
			conf.request_timeout = (int)strtonum(optarg, 0,
			    86400, &errstr);
			if (errstr != NULL)
				errx(1, "request timeout %s: %s", optarg,
				    errstr);
			break;
		case OPT_RETRIES:
			conf.retry.rp_retries = (uint32_t)strtonum(optarg, 0,
			    65535, &errstr);
			if (errstr != NULL)
				errx(1, "retries %s: %s", optarg, errstr);
			break;
		case OPT_RETRY_BACKOFF:
		case OPT_RETRY_MAX:
			n = (int)strtonum(optarg, 1, 86400000, &errstr);
			if (errstr != NULL)
				errx(1, "retry delay %s: %s (milliseconds, "
				    "1 to 86400000)", optarg, errstr);
			if (ch == OPT_RETRY_BACKOFF)
				conf.retry.rp_backoff = (uint32_t)n;
			else
				conf.retry.rp_max = (uint32_t)n;
			break;
		case OPT_FAILED_MAX:
			conf.failed_max = (uint64_t)strtonum(optarg, 0,
			    100000000, &errstr);
			if (errstr != NULL)
				errx(1, "failed max %s: %s", optarg, errstr);
			break;
		case OPT_FAILED_MAX_BYTES:
			conf.failed_max_bytes = parse_size(optarg,
			    "failed max bytes");
			break;
		case OPT_FATE_MAX:
			conf.fate_max = (uint64_t)strtonum(optarg, 0,
			    10000000, &errstr);
			if (errstr != NULL)
				errx(1, "fate max %s: %s", optarg, errstr);
			break;
		case OPT_FATE_AGE:
			conf.fate_age = strtonum(optarg, 0, 86400 * 365,
			    &errstr);
			if (errstr != NULL)
				errx(1, "fate age %s: %s", optarg, errstr);
			break;
		case OPT_HASHTABLE:
			fprintf(stderr, "%s: --hashtable-buckets %s ignored: "
			    "tables grow by themselves\n", getprogname(),
			    optarg);
			break;
		case OPT_HTTP:
			conf.http = 1;
			free(conf.http_addr);
			if ((p = strrchr(optarg, ':')) != NULL) {
				conf.http_addr = xstrdup(optarg);
				conf.http_addr[p - optarg] = '\0';
				conf.http_port = p + 1;
			} else {
				conf.http_addr = NULL;
				conf.http_port = optarg;
			}
			strtonum(conf.http_port, 0, 65535, &errstr);
			if (errstr != NULL)
				errx(1, "--http %s: port %s", optarg, errstr);
			break;
		case OPT_HTTP_PORT:
			strtonum(optarg, 0, 65535, &errstr);
			if (errstr != NULL)
				errx(1, "--http-port %s: %s", optarg, errstr);
			conf.http = 1;
			conf.http_port = optarg;
			break;
		default:
			usage(1);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0)
		usage(1);
	if (conf.syslog && conf.logfile != NULL)
		errx(1, "cannot use --syslog and -l together");
	if (conf.admin_open && conf.admin_reads)
		errx(1, "cannot use --admin-open and --admin-trusted-reads "
		    "together");
	if (!conf.ssl && (conf.ssl_ca_file || conf.ssl_cert_file ||
	    conf.ssl_key_file || conf.ssl_verify_client))
		errx(1, "the --ssl-* options need --ssl or --ssl-port");
	if (conf.ssl) {
		/* gearmand's default files; its CA file only if present. */
		if (conf.ssl_cert_file == NULL)
			conf.ssl_cert_file = TLS_DEFAULT_CERT;
		if (conf.ssl_key_file == NULL)
			conf.ssl_key_file = TLS_DEFAULT_KEY;
		if (conf.ssl_ca_file == NULL && (conf.ssl_verify_client ||
		    access(TLS_DEFAULT_CA, R_OK) == 0))
			conf.ssl_ca_file = TLS_DEFAULT_CA;
		if (tlsconn_init(why, sizeof(why)) == -1)
			errx(1, "TLS: %s", why);
	}
	if (conf.user != NULL && (*pw = getpwnam(conf.user)) == NULL)
		errx(1, "unknown user %s", conf.user);
	if (*pw != NULL && geteuid() != 0)
		errx(1, "-u %s needs to be started as root", conf.user);
	if (conf.retry.rp_max < conf.retry.rp_backoff)
		errx(1, "--retry-max-delay %u is below --retry-backoff %u",
		    conf.retry.rp_max, conf.retry.rp_backoff);
	if (jdefault)
		conf.journal_dir = default_journal();
	if (conf.daemonize) {
		conf.pidfile = absolute(conf.pidfile);
		conf.port_file = absolute(conf.port_file);
		if (conf.logfile != NULL && strcmp(conf.logfile, "stderr") &&
		    strcmp(conf.logfile, "none"))
			conf.logfile = absolute(conf.logfile);
		if (conf.journal_dir != NULL &&
		    conf.journal_dir[0] != '/') {
			cause = xstrdup(absolute(conf.journal_dir));
			free(conf.journal_dir);
			conf.journal_dir = cause;
			cause = NULL;
		}
	}
}

/* Free the paths absolute() made (at exit). */
void
config_free(void)
{
	size_t	 i;

	for (i = 0; i < nabs_paths; i++)
		free(abs_paths[i]);
}
