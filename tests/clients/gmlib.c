/* Public domain. See README.md for the licence of this project. */
/*
 * gmlib: a client and worker on libgearman (the C library of gearmand
 * 1.1.20) for compatibility cases the gearman CLI cannot express.
 *
 * gmlib -p PORT [-e] [-t MS] client events FUNC ARG [UNIQUE]
 *	run one foreground task and print every callback, one a line:
 *	"data X", "warning X", "status N/D", "exception X", "fail",
 *	"complete X"; -e asks the server for exceptions (OPTION_REQ)
 * gmlib -p PORT client bg FUNC ARG [UNIQUE [high|low]]
 *	submit a background job and print its handle
 * gmlib -p PORT client status HANDLE	print "known running N D"
 * gmlib -p PORT client ustatus UNIQUE	the same, by unique id
 * gmlib -p PORT client echo DATA		ECHO round trip, "echo ok"
 * gmlib -p PORT [-c N] [-i ID] [-T MS] worker FUNC...
 *	serve rev (reverse the payload) and fail (WORK_FAIL); -i sets the
 *	client id, -T registers with a timeout, -c exits after N jobs
 *
 * Exit status: 0; 1 when the job failed or a call returned an error (its
 * libgearman return name on stderr); 2 on usage errors.
 */

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libgearman/gearman.h>

#include "compat.h"

static int	 failed;

static void	usage(void) __dead;
static int	client_main(int, char *[], const char *, int, int);
static int	worker_main(int, char *[], const char *, const char *, int,
		    int);

static void
usage(void)
{
	fprintf(stderr, "usage: gmlib -p port [-e] [-t ms] client "
	    "events|bg|status|ustatus|echo ...\n"
	    "       gmlib -p port [-c n] [-i id] [-T ms] worker func ...\n");
	exit(2);
}

/* Print a callback's name and the task's data. */
static void
print_task(const char *what, gearman_task_st *task)
{
	printf("%s %.*s\n", what, (int)gearman_task_data_size(task),
	    (const char *)gearman_task_data(task));
	fflush(stdout);
}

static gearman_return_t
on_data(gearman_task_st *task)
{
	print_task("data", task);
	return GEARMAN_SUCCESS;
}

static gearman_return_t
on_warning(gearman_task_st *task)
{
	print_task("warning", task);
	return GEARMAN_SUCCESS;
}

static gearman_return_t
on_status(gearman_task_st *task)
{
	printf("status %u/%u\n", gearman_task_numerator(task),
	    gearman_task_denominator(task));
	fflush(stdout);
	return GEARMAN_SUCCESS;
}

static gearman_return_t
on_exception(gearman_task_st *task)
{
	print_task("exception", task);
	failed = 1;
	return GEARMAN_SUCCESS;
}

static gearman_return_t
on_fail(gearman_task_st *task __unused)
{
	printf("fail\n");
	fflush(stdout);
	failed = 1;
	return GEARMAN_SUCCESS;
}

static gearman_return_t
on_complete(gearman_task_st *task)
{
	print_task("complete", task);
	return GEARMAN_SUCCESS;
}

/* Report a libgearman error and return 1. */
static int
lib_error(const char *what, gearman_return_t rc)
{
	fprintf(stderr, "gmlib: %s: %s\n", what, gearman_strerror(rc));
	return 1;
}

/* Run one client operation. */
static int
client_main(int argc, char *argv[], const char *port, int exceptions,
    int timeout)
{
	gearman_client_st	*c;
	gearman_return_t	 rc;
	gearman_job_handle_t	 handle;
	gearman_status_t	 st;
	bool			 known, running;
	uint32_t		 num, den;
	const char		*op, *unique;
	int			 rv = 0;

	if (argc < 2)
		usage();
	op = argv[1];
	if ((c = gearman_client_create(NULL)) == NULL)
		errx(1, "gearman_client_create");
	if ((rc = gearman_client_add_server(c, "127.0.0.1", atoi(port))) !=
	    GEARMAN_SUCCESS)
		return lib_error("add_server", rc);
	if (exceptions)
		gearman_client_add_options(c, GEARMAN_CLIENT_EXCEPTION);
	if (timeout > 0)
		gearman_client_set_timeout(c, timeout);

	if (strcmp(op, "events") == 0 && (argc == 4 || argc == 5)) {
		unique = argc == 5 ? argv[4] : NULL;
		gearman_client_set_data_fn(c, on_data);
		gearman_client_set_warning_fn(c, on_warning);
		gearman_client_set_status_fn(c, on_status);
		gearman_client_set_exception_fn(c, on_exception);
		gearman_client_set_fail_fn(c, on_fail);
		gearman_client_set_complete_fn(c, on_complete);
		if (gearman_client_add_task(c, NULL, NULL, argv[2], unique,
		    argv[3], strlen(argv[3]), &rc) == NULL)
			return lib_error("add_task", rc);
		if ((rc = gearman_client_run_tasks(c)) != GEARMAN_SUCCESS)
			rv = lib_error("run_tasks", rc);
		rv |= failed;
	} else if (strcmp(op, "bg") == 0 && argc >= 4 && argc <= 6) {
		unique = argc >= 5 ? argv[4] : NULL;
		if (argc == 6 && strcmp(argv[5], "high") == 0)
			rc = gearman_client_do_high_background(c, argv[2],
			    unique, argv[3], strlen(argv[3]), handle);
		else if (argc == 6 && strcmp(argv[5], "low") == 0)
			rc = gearman_client_do_low_background(c, argv[2],
			    unique, argv[3], strlen(argv[3]), handle);
		else
			rc = gearman_client_do_background(c, argv[2], unique,
			    argv[3], strlen(argv[3]), handle);
		if (rc != GEARMAN_SUCCESS)
			return lib_error("do_background", rc);
		printf("%s\n", handle);
	} else if (strcmp(op, "status") == 0 && argc == 3) {
		rc = gearman_client_job_status(c, argv[2], &known, &running,
		    &num, &den);
		if (rc != GEARMAN_SUCCESS)
			return lib_error("job_status", rc);
		printf("%d %d %u %u\n", known, running, num, den);
	} else if (strcmp(op, "ustatus") == 0 && argc == 3) {
		st = gearman_client_unique_status(c, argv[2], strlen(argv[2]));
		if ((rc = gearman_status_return(st)) != GEARMAN_SUCCESS)
			return lib_error("unique_status", rc);
		printf("%d %d %u %u\n", gearman_status_is_known(st),
		    gearman_status_is_running(st),
		    gearman_status_numerator(st),
		    gearman_status_denominator(st));
	} else if (strcmp(op, "echo") == 0 && argc == 3) {
		if ((rc = gearman_client_echo(c, argv[2], strlen(argv[2]))) !=
		    GEARMAN_SUCCESS)
			return lib_error("echo", rc);
		printf("echo ok\n");
	} else
		usage();
	gearman_client_free(c);
	return rv;
}

/* The rev function: the payload reversed. */
static void *
fn_rev(gearman_job_st *job, void *ctx __unused, size_t *size,
    gearman_return_t *ret)
{
	const char	*in = gearman_job_workload(job);
	size_t		 n = gearman_job_workload_size(job), i;
	char		*out;

	if ((out = malloc(n + 1)) == NULL) {
		*ret = GEARMAN_WORK_FAIL;
		return NULL;
	}
	for (i = 0; i < n; i++)
		out[i] = in[n - 1 - i];
	*size = n;
	*ret = GEARMAN_SUCCESS;
	return out;
}

/* The fail function: WORK_FAIL. */
static void *
fn_fail(gearman_job_st *job __unused, void *ctx __unused, size_t *size,
    gearman_return_t *ret)
{
	*size = 0;
	*ret = GEARMAN_WORK_FAIL;
	return NULL;
}

/* Serve functions until -c jobs are done (forever without -c). */
static int
worker_main(int argc, char *argv[], const char *port, const char *id,
    int timeout, int count)
{
	gearman_worker_st	*w;
	gearman_worker_fn	*fn;
	gearman_return_t	 rc;
	int			 i, done = 0;

	if (argc < 2)
		usage();
	if ((w = gearman_worker_create(NULL)) == NULL)
		errx(1, "gearman_worker_create");
	if ((rc = gearman_worker_add_server(w, "127.0.0.1", atoi(port))) !=
	    GEARMAN_SUCCESS)
		return lib_error("add_server", rc);
	if (id != NULL && (rc = gearman_worker_set_identifier(w, id,
	    strlen(id))) != GEARMAN_SUCCESS)
		return lib_error("set_identifier", rc);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "rev") == 0)
			fn = fn_rev;
		else if (strcmp(argv[i], "fail") == 0)
			fn = fn_fail;
		else
			errx(2, "unknown function %s", argv[i]);
		rc = gearman_worker_add_function(w, argv[i],
		    timeout > 0 ? (uint32_t)timeout : 0, fn, NULL);
		if (rc != GEARMAN_SUCCESS)
			return lib_error("add_function", rc);
	}
	while (count == 0 || done < count) {
		rc = gearman_worker_work(w);
		if (rc != GEARMAN_SUCCESS && rc != GEARMAN_WORK_FAIL)
			return lib_error("work", rc);
		done++;
	}
	gearman_worker_free(w);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char	*port = NULL, *id = NULL, *errstr;
	int		 ch, exceptions = 0, timeout = 0, wtimeout = 0;
	int		 count = 0;

	while ((ch = getopt(argc, argv, "+c:ei:p:T:t:")) != -1) {
		switch (ch) {
		case 'c':
			count = strtonum(optarg, 1, 1000000, &errstr);
			if (errstr != NULL)
				errx(2, "-c %s: %s", optarg, errstr);
			break;
		case 'e':
			exceptions = 1;
			break;
		case 'i':
			id = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case 'T':
			wtimeout = strtonum(optarg, 1, 3600000, &errstr);
			if (errstr != NULL)
				errx(2, "-T %s: %s", optarg, errstr);
			break;
		case 't':
			timeout = strtonum(optarg, 1, 3600000, &errstr);
			if (errstr != NULL)
				errx(2, "-t %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (port == NULL || argc < 1)
		usage();
	if (strcmp(argv[0], "client") == 0)
		return client_main(argc, argv, port, exceptions, timeout);
	if (strcmp(argv[0], "worker") == 0)
		return worker_main(argc, argv, port, id, wtimeout, count);
	usage();
}
