/* Public domain. See README.md for the licence of this project. */
/*
 * libFuzzer harness: gm-server's admin line parser and commands.  Each
 * line of the input (up to a newline, at most 8191 bytes, as the framing
 * passes them) goes straight to admin_line() on one connection.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "compat.h"
#include "gm-server.h"
#include "server.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct conn	*c;
	const uint8_t	*nl;
	char		 line[8192];
	size_t		 n;
	int		 peer;

	fuzz_server_init();
	c = fuzz_server_connect(&peer);
	while (len > 0) {
		nl = memchr(data, '\n', len);
		n = nl != NULL ? (size_t)(nl - data) : len;
		if (n < sizeof(line)) {
			memcpy(line, data, n);
			line[n] = '\0';
			admin_line(c, line, n);
			/* Closed (too many words): freed by the next loop. */
			if (c->c_flags & CONN_DEAD)
				break;
		}
		n = nl != NULL ? n + 1 : n;
		data += n;
		len -= n;
		fuzz_server_feed(peer, NULL, 0, 0);
	}
	fuzz_server_reset(peer);
	return 0;
}
