/* Public domain. See README.md for the licence of this project. */
/*
 * What the server harnesses (fuzz_conn, fuzz_admin) need of gm-server.c:
 * the globals main() sets up (a configuration with the defaults, an event
 * base, a memory-only journal), and a connection fed with one input over
 * a socketpair, run until the server has handled it, then everything
 * freed so that no input depends on the ones before.  The peer is not a
 * loopback one, so a fuzzed `shutdown` is refused.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "compat.h"
#include "log.h"
#include "journal.h"
#include "gm-server.h"
#include "server.h"

struct config		 conf;
struct counters		 counters;
struct event_base	*base;
struct journal		*jnl;
static int		 shutdowns;

void
server_shutdown(int graceful __unused)
{
	shutdowns++;
}

const char *
server_verbose_name(void)
{
	return "ERROR";
}

int
server_stopping(void)
{
	return 0;
}

long long
server_started(void)
{
	return 0;
}

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Set up the server once per process, as main() does. */
void
fuzz_server_init(void)
{
	struct journal_opts	 jo;
	char			*cause = NULL;

	if (base != NULL)
		return;
	conf.port = "0";
	conf.verbose = V_ERROR;
	conf.wakeup = 1;
	conf.max_packet = 1024 * 1024;
	conf.max_output = 4 * 1024 * 1024;
	conf.max_input = 4 * 1024 * 1024;
	conf.request_timeout = 60;
	conf.max_held = 1000;
	conf.handle_prefix = "H:fuzz";
	log_init(LOG_TO_NONE, NULL, 0);
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		abort();
	memset(&jo, 0, sizeof(jo));
	if ((jnl = journal_open(base, NULL, &jo, &cause)) == NULL)
		abort();
	func_init();
	queue_init();
	timer_init();
	conn_init();
}

static void
take_conn(struct conn *c, void *arg)
{
	*(struct conn **)arg = c;
}

/*
 * Open a connection from a non-loopback peer; *peer is the other end of
 * its socket.  Returns the server's struct conn.
 */
struct conn *
fuzz_server_connect(int *peer)
{
	struct conn	*c = NULL;
	int		 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	nonblock(sv[0]);
	nonblock(sv[1]);
	conn_accept(sv[0], "198.18.0.2", 0);
	conn_foreach(take_conn, &c);
	*peer = sv[1];
	return c;
}

/*
 * Run the loop until the server has read len bytes of data from peer's
 * writes and answered what it can; the peer's output is read and dropped.
 * With eof, the peer then half-closes and the loop runs until the server
 * closes its side.
 */
void
fuzz_server_feed(int peer, const uint8_t *data, size_t len, int eof)
{
	uint8_t	 sink[65536];
	size_t	 off = 0;
	ssize_t	 n;
	int	 idle = 0, closed = 0;

	while (idle < 4 && !closed) {
		n = 0;
		if (off < len) {
			n = write(peer, data + off, len - off);
			if (n > 0)
				off += (size_t)n;
		} else if (eof) {
			shutdown(peer, SHUT_WR);
			eof = 0;
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		while ((n = read(peer, sink, sizeof(sink))) > 0)
			;
		if (n == 0)
			closed = 1;
		idle = off < len ? 0 : idle + 1;
	}
}

/* Close every connection, free every job, and start afresh. */
void
fuzz_server_reset(int peer)
{
	close(peer);
	conn_free_all();
	queue_free_all();
	func_free_all();
	conn_cleanup();
	timer_free();
	func_init();
	queue_init();
	timer_init();
	conn_init();
}
