/* Public domain. See README.md for the licence of this project. */
/* Portability macros the BSD-style code expects. */
#ifndef GM_COMPAT_H
#define GM_COMPAT_H

#ifndef __dead
#define __dead		__attribute__((__noreturn__))
#endif
#ifndef __unused
#define __unused	__attribute__((__unused__))
#endif
#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define GM_VERSION	"0.1.0"

#endif /* GM_COMPAT_H */
