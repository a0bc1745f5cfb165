/* Public domain. See README.md for the licence of this project. */
/* Allocation wrappers that call fatal instead of returning NULL. */
#ifndef GM_XMALLOC_H
#define GM_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
void	*xmemdup(const void *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));

#endif /* GM_XMALLOC_H */
