/* Public domain. See README.md for the licence of this project. */
/*
 * lgworker: the worker loop of a common client library in make bench, so
 * that the numbers are not only those of our own generator.  It runs
 * -w threads, each one libgearman worker (gearmand 1.1.20's C library:
 * one job at a time, its own GRAB_JOB / PRE_SLEEP / NOOP loop) echoing
 * each payload back as the result, and exits once -n jobs are done in
 * all.
 *
 * lgworker -p PORT [-f FUNC] [-n JOBS] [-P SERVER-PID] [-w WORKERS]
 *
 * Prints "ready" once every worker has connected and registered (an ECHO
 * after its CAN_DO came back), then, after the last job,
 * "result jobs=N secs=S rate=R srv_us_per_job=U" timed from the start of
 * the first job to the end of the last; srv_us_per_job is the server's
 * CPU time over the same span (-P), or -1.  Exit status 1 on a library
 * error.
 */

#include <err.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libgearman/gearman.h>

#include "compat.h"
#include "gen/proc.h"

static const char	*port, *func = "bench";
static long long	 njobs = 1000, srvpid;
static atomic_llong	 started, done;
static atomic_int	 ready;
static double		 t0, s0;	/* at the first job */
static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 cond = PTHREAD_COND_INITIALIZER;

static __dead void	 usage(void);
static double		 now(void);
static void		*echo_fn(gearman_job_st *, void *, size_t *,
			    gearman_return_t *);
static void		*work(void *);

static __dead void
usage(void)
{
	fprintf(stderr, "usage: lgworker -p port [-f function] [-n jobs] "
	    "[-P server-pid] [-w workers]\n");
	exit(2);
}

/* Monotonic time in seconds. */
static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The job's payload back as its result; the first job starts the clock. */
static void *
echo_fn(gearman_job_st *job, void *ctx __unused, size_t *size,
    gearman_return_t *ret)
{
	const void	*in = gearman_job_workload(job);
	void		*out;

	if (atomic_fetch_add(&started, 1) == 0) {
		s0 = cpu_server(srvpid);
		t0 = now();
	}
	*size = gearman_job_workload_size(job);
	if ((out = malloc(*size > 0 ? *size : 1)) == NULL)
		err(1, "malloc");
	memcpy(out, in, *size);
	*ret = GEARMAN_SUCCESS;
	return out;
}

/* One worker: register, report ready, then serve until the end. */
static void *
work(void *arg __unused)
{
	gearman_worker_st	*w;
	gearman_return_t	 rc;

	if ((w = gearman_worker_create(NULL)) == NULL)
		errx(1, "gearman_worker_create");
	if ((rc = gearman_worker_add_server(w, "127.0.0.1", atoi(port))) !=
	    GEARMAN_SUCCESS ||
	    (rc = gearman_worker_add_function(w, func, 0, echo_fn, NULL)) !=
	    GEARMAN_SUCCESS ||
	    (rc = gearman_worker_echo(w, "r", 1)) != GEARMAN_SUCCESS)
		errx(1, "libgearman: %s", gearman_strerror(rc));
	pthread_mutex_lock(&mtx);
	atomic_fetch_add(&ready, 1);
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mtx);
	for (;;) {
		if ((rc = gearman_worker_work(w)) != GEARMAN_SUCCESS)
			errx(1, "gearman_worker_work: %s",
			    gearman_strerror(rc));
		/* Counted once the result is written. */
		if (atomic_fetch_add(&done, 1) + 1 == njobs) {
			pthread_mutex_lock(&mtx);
			pthread_cond_broadcast(&cond);
			pthread_mutex_unlock(&mtx);
		}
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	pthread_t	 t;
	const char	*errstr;
	double		 t1, s1, secs;
	int		 ch, i, nworkers = 1;

	while ((ch = getopt(argc, argv, "f:n:P:p:w:")) != -1) {
		switch (ch) {
		case 'f':
			func = optarg;
			break;
		case 'n':
			njobs = strtonum(optarg, 1, 1000000000, &errstr);
			if (errstr != NULL)
				errx(2, "-n %s: %s", optarg, errstr);
			break;
		case 'P':
			srvpid = strtonum(optarg, 1, INT32_MAX, &errstr);
			if (errstr != NULL)
				errx(2, "-P %s: %s", optarg, errstr);
			break;
		case 'p':
			port = optarg;
			break;
		case 'w':
			nworkers = strtonum(optarg, 1, 1000, &errstr);
			if (errstr != NULL)
				errx(2, "-w %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	if (port == NULL || optind != argc)
		usage();
	for (i = 0; i < nworkers; i++)
		if ((errno = pthread_create(&t, NULL, work, NULL)) != 0)
			err(1, "pthread_create");
	pthread_mutex_lock(&mtx);
	while (atomic_load(&ready) < nworkers)
		pthread_cond_wait(&cond, &mtx);
	printf("ready\n");
	fflush(stdout);
	while (atomic_load(&done) < njobs)
		pthread_cond_wait(&cond, &mtx);
	pthread_mutex_unlock(&mtx);
	t1 = now();
	s1 = cpu_server(srvpid);
	secs = t1 - t0;
	printf("result jobs=%lld secs=%.4f rate=%.0f srv_us_per_job=%.2f\n",
	    njobs, secs, njobs / secs,
	    s0 < 0 || s1 < 0 ? -1.0 : (s1 - s0) * 1e6 / (double)njobs);
	fflush(stdout);
	_exit(0);
}
