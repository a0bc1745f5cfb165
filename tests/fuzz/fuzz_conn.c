/* Public domain. See README.md for the licence of this project. */
/*
 * libFuzzer harness: the whole connection input path of gm-server.  The
 * input is what one peer sends (binary packets and admin lines mixed),
 * through a socket into the server's read callback, framing, dispatch,
 * queues, workers and admin commands; the peer then half-closes.  The
 * first byte picks how the input is cut into writes, so that packets
 * split across reads are tried too.
 */

#include <stddef.h>
#include <stdint.h>

#include "server.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	size_t	 step, off;
	int	 peer;

	fuzz_server_init();
	fuzz_server_connect(&peer);
	if (len == 0)
		step = 1;
	else {
		step = data[0] < 128 ? len : (size_t)(data[0] & 0x7f) + 1;
		data++;
		len--;
	}
	for (off = 0; off < len; off += step)
		fuzz_server_feed(peer, data + off,
		    len - off < step ? len - off : step, 0);
	fuzz_server_feed(peer, NULL, 0, 1);
	fuzz_server_reset(peer);
	return 0;
}
