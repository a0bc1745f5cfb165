/* Public domain. See README.md for the licence of this project. */
/* Logging for the daemon: stderr, a log file, syslog or nothing. */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_dest	 log_dest = LOG_TO_STDERR;
static char		*log_path;
static int		 log_fd = -1;
static int		 log_verbose;
static int		 log_fatal_code = 1;
static int		 log_startup;	/* warnings to stderr as well */

static void	log_vwrite(int, const char *, va_list)
		    __attribute__((__format__(printf, 2, 0)));
static char	*escape(const void *, size_t, char *, size_t, int);

/*
 * Start logging to dest; path is the file for LOG_TO_FILE.  Until this is
 * called everything goes to stderr.
 */
void
log_init(enum log_dest dest, const char *path, int facility)
{
	log_dest = dest;
	free(log_path);
	log_path = path != NULL ? strdup(path) : NULL;
	if (dest == LOG_TO_SYSLOG)
		openlog(getprogname(), LOG_PID | LOG_NDELAY, facility);
	if (dest == LOG_TO_FILE && log_reopen() == -1) {
		log_dest = LOG_TO_STDERR;
		log_warn("open %s", path);
	}
}

/* Reopen the log file (after rotation, on SIGHUP). */
int
log_reopen(void)
{
	int	 fd;

	if (log_dest != LOG_TO_FILE)
		return 0;
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1)
		return -1;
	if (log_fd != -1)
		close(log_fd);
	log_fd = fd;
	return 0;
}

/* Set the exit status of fatal and fatalx (a tool's "local error"). */
void
log_set_fatal_status(int code)
{
	log_fatal_code = code;
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

/*
 * While on (during a daemon's start-up), warnings also go to stderr when
 * the log goes elsewhere, so the reason a start fails reaches the terminal.
 */
void
log_set_startup(int on)
{
	log_startup = on;
}

/*
 * Format one message and send it to the destination; errno is kept.  This
 * is the boundary peer bytes cross: control characters (a newline in a
 * function name, a terminal escape) are written as \xNN, so no peer can
 * forge a line or drive the terminal of whoever reads the log.
 */
static void
log_vwrite(int pri, const char *fmt, va_list ap)
{
	char		 raw[2048], msg[4096], stamp[32];
	struct tm	 tm;
	time_t		 now;
	int		 saved = errno, fd, n;

	if (log_dest == LOG_TO_NONE && !log_startup)
		goto done;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	escape(raw, strlen(raw), msg, sizeof(msg), 1);
	if (log_startup && pri <= LOG_WARNING && log_dest != LOG_TO_STDERR)
		dprintf(STDERR_FILENO, "%s: %s\n", getprogname(), msg);
	if (log_dest == LOG_TO_NONE)
		goto done;
	if (log_dest == LOG_TO_SYSLOG) {
		syslog(pri, "%s", msg);
		goto done;
	}
	fd = log_dest == LOG_TO_FILE ? log_fd : STDERR_FILENO;
	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	n = dprintf(fd, "%s %s[%ld]: %s\n", stamp, getprogname(),
	    (long)getpid(), msg);
	(void)n;
done:
	errno = saved;
}

/* The body of a printf-like function that logs at pri: fmt and its args. */
#define LOG_ARGS(pri, fmt) do {						\
	va_list	 ap;							\
									\
	va_start(ap, fmt);						\
	log_vwrite(pri, fmt, ap);					\
	va_end(ap);							\
} while (0)

/* A warning of fmt and ap after prefix, and errno's message if err. */
static void
log_vfail(const char *prefix, int err, const char *fmt, va_list ap)
{
	char		 buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (err != 0)
		log_warnx("%s%s: %s", prefix, buf, strerror(err));
	else
		log_warnx("%s%s", prefix, buf);
}

/* The same, as the body of a printf-like function. */
#define LOG_FAIL(prefix, err, fmt) do {					\
	va_list	 ap;							\
									\
	va_start(ap, fmt);						\
	log_vfail(prefix, err, fmt, ap);				\
	va_end(ap);							\
} while (0)

void
log_warn(const char *fmt, ...)
{
	int	 saved = errno;

	LOG_FAIL("", saved, fmt);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	LOG_ARGS(LOG_WARNING, fmt);
}

void
log_info(const char *fmt, ...)
{
	LOG_ARGS(LOG_INFO, fmt);
}

void
log_debug(const char *fmt, ...)
{
	if (log_verbose < 1)
		return;
	LOG_ARGS(LOG_DEBUG, fmt);
}

void
fatal(const char *fmt, ...)
{
	LOG_FAIL("fatal: ", errno, fmt);
	exit(log_fatal_code);
}

void
fatalx(const char *fmt, ...)
{
	LOG_FAIL("fatal: ", 0, fmt);
	exit(log_fatal_code);
}

/*
 * Escape peer bytes for a log line: printable ASCII as is, the rest as \xNN.
 * Returns out, always NUL-terminated; long input is cut with "...".
 */
char *
log_escape(const void *p, size_t len, char *out, size_t cap)
{
	return escape(p, len, out, cap, 0);
}

/*
 * Write p as printable text in out: control characters, DEL and the
 * backslash as \xNN, bytes above 0x7f as well unless keep_high (UTF-8 in a
 * log line stays readable).
 */
static char *
escape(const void *p, size_t len, char *out, size_t cap, int keep_high)
{
	const unsigned char	*s = p;
	size_t			 i, o = 0;

	if (cap == 0)
		return out;
	for (i = 0; i < len; i++) {
		if (o + 8 >= cap) {
			if (cap >= 4)
				memcpy(out + (o < cap - 4 ? o : cap - 4),
				    "...", 3), o = (o < cap - 4 ? o : cap - 4) + 3;
			break;
		}
		if ((s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') ||
		    (keep_high && s[i] > 0x7f))
			out[o++] = s[i];
		else
			o += snprintf(out + o, cap - o, "\\x%02x", s[i]);
	}
	out[o] = '\0';
	return out;
}
