/* Public domain. See README.md for the licence of this project. */
/* Process figures for the load generators (gen/proc.c). */

#ifndef GEN_PROC_H
#define GEN_PROC_H

double	 cpu_self(void);
double	 cpu_server(long long);
long	 rss_server(long long);
void	 raise_nofile(long);

#endif
