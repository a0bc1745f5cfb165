/* Public domain. See README.md for the licence of this project. */
/* The server harnesses' access to a gm-server run inside the fuzzer. */
#ifndef GM_FUZZ_SERVER_H
#define GM_FUZZ_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct conn;

void		 fuzz_server_init(void);
struct conn	*fuzz_server_connect(int *);
void		 fuzz_server_feed(int, const uint8_t *, size_t, int);
void		 fuzz_server_reset(int);

#endif /* GM_FUZZ_SERVER_H */
