/* Public domain. See README.md for the licence of this project. */
/* A minimal TAP producer for the C unit tests. */
#ifndef GM_TAP_H
#define GM_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

/* Report one check; ok is the condition, the rest its description. */
#define ok(cond, ...) do {						\
	int c_ = (cond) ? 1 : 0;					\
	printf("%sok %d - ", c_ ? "" : "not ", ++tap_n);		\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	if (!c_) {							\
		tap_failed++;						\
		printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__,	\
		    #cond);						\
	}								\
} while (0)

#define is_int(got, want, ...) do {					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	ok(g_ == w_, __VA_ARGS__);					\
	if (g_ != w_)							\
		printf("#   got %lld, want %lld\n", g_, w_);		\
} while (0)

#define is_mem(got, glen, want, wlen, ...)				\
	ok((glen) == (wlen) && memcmp((got), (want), (wlen)) == 0, __VA_ARGS__)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed == 0 ? 0 : 1;
}

#endif /* GM_TAP_H */
