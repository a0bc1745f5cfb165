/* Public domain. See README.md for the licence of this project. */
/*
 * What the load generators measure of processes: their own CPU time and,
 * from /proc, the CPU time and resident set of the server under test; and
 * the descriptor limit they need for their connections.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/time.h>

#include <err.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

/* CPU seconds (user + system) this process has used. */
double
cpu_self(void)
{
	struct rusage	 ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* CPU seconds process srvpid has used (all threads), or -1. */
double
cpu_server(long long srvpid)
{
	char		 path[64], buf[2048], *p;
	unsigned long	 ut, st;
	FILE		*f;
	size_t		 n;

	if (srvpid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%lld/stat", srvpid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces: fields resume after ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The resident set of process srvpid in kB (VmRSS), or -1. */
long
rss_server(long long srvpid)
{
	char	 path[64], line[256];
	long	 kb = -1;
	FILE	*f;

	if (srvpid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%lld/status", srvpid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Allow at least want descriptors, raising the hard limit when allowed. */
void
raise_nofile(long want)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		err(1, "getrlimit");
	if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur >= want)
		return;
	if (rl.rlim_max != RLIM_INFINITY && (long)rl.rlim_max < want)
		rl.rlim_max = (rlim_t)want;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1 ||
		    (long)rl.rlim_cur < want)
			errx(1, "cannot raise the descriptor limit to %ld "
			    "(hard limit %ld)", want, (long)rl.rlim_max);
	}
}
