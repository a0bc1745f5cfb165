/* Public domain. See README.md for the licence of this project. */
/*
 * libFuzzer harness: the packet decoder in common/proto.c.  Every packet
 * at the start of the input is decoded whole and split from each prefix a
 * reader could have (the server checks arguments as they arrive); what
 * decodes must encode back to the same bytes.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A packet that decoded encodes back to its own bytes. */
static void
roundtrip(const uint8_t *buf, size_t used, const struct gm_packet *pkt)
{
	uint8_t	*out;
	size_t	 n;
	int	 i, rv;

	for (i = 0; i < pkt->nargs - 1; i++)
		if (memchr(pkt->arg[i].ptr, '\0', pkt->arg[i].len) != NULL)
			abort();
	if ((out = malloc(used + 1)) == NULL)
		abort();
	rv = proto_encode(out, used + 1, pkt->hdr.magic, pkt->hdr.type,
	    pkt->arg, pkt->nargs, &n);
	/* A type without arguments ignores its body: only the header stays. */
	if (pkt->nargs == 0) {
		if (rv != PROTO_OK || n != GM_HEADER_SIZE ||
		    memcmp(out, buf, 8) != 0)
			abort();
	} else if (rv != PROTO_OK || n != used || memcmp(out, buf, n) != 0)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct gm_header	 h;
	struct gm_packet	 pkt;
	size_t			 used, avail, limit;
	int			 rv, whole;

	limit = len > 0 && data[0] & 1 ? 64 : 0;
	while (len > 0) {
		rv = proto_decode_header(data, len, limit, &h);
		if (rv != PROTO_OK)
			break;
		/* Every prefix of the body: the early check never says more. */
		for (avail = 0; avail <= len - GM_HEADER_SIZE &&
		    avail < h.size; avail += 1 + avail / 4) {
			rv = proto_split(&h, data + GM_HEADER_SIZE, avail,
			    &pkt);
			if (rv != PROTO_OK && rv != PROTO_NEED_MORE &&
			    rv != PROTO_ARG_TOO_LONG)
				abort();
		}
		rv = proto_decode(data, len, limit, &pkt, &used);
		if (rv == PROTO_NEED_MORE)
			break;
		whole = rv;
		if (whole == PROTO_OK) {
			if (used > len || used != GM_HEADER_SIZE + h.size)
				abort();
			roundtrip(data, used, &pkt);
		} else
			used = GM_HEADER_SIZE + h.size;
		if (used > len)
			break;
		data += used;
		len -= used;
	}
	return 0;
}
