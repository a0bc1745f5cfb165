/* Public domain. See README.md for the licence of this project. */
/* The default mode: run the command once per job, or echo without one. */

#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "compat.h"
#include "xmalloc.h"
#include "gm-work.h"

/* The command's stdout: with -n or -N, pass it on line by line. */
static void
spawn_output(struct job *j, struct evbuffer *out, void *arg)
{
	(void)j;
	if (conf.out != OUT_WHOLE)
		task_lines(arg, out, 0);
}

/* A progress line from the command. */
static void
spawn_progress(struct job *j, uint32_t num, uint32_t den, void *arg)
{
	(void)j;
	task_status(arg, num, den);
}

/* The command ran past -t. */
static void
spawn_expired(struct job *j, void *arg)
{
	struct task	*t = arg;

	(void)j;
	warnx("job %s (%s): timed out after %lld s, killing it", t->t_handle,
	    t->t_func, conf.timeout);
}

/* The command exited: its job is done. */
static void
spawn_exit(struct job *j, const char *reason, void *arg)
{
	struct task	*t = arg;

	if (conf.out != OUT_WHOLE)
		task_lines(t, job_output(j), 1);
	if (reason != NULL && !worker_forced())
		warnx("job %s (%s): %s", t->t_handle, t->t_func, reason);
	task_done(t, job_output(j), reason, job_tail(j));
}

static const struct job_cb spawn_cb = {
	spawn_output, spawn_progress, spawn_expired, spawn_exit
};

/*
 * Run the command for a job with the payload (taken over) on its stdin,
 * GM_FUNCTION, GM_HANDLE and GM_UNIQUE in its environment; with no command
 * give the payload back as the result.
 */
void
spawn_run(struct task *t, struct evbuffer *payload)
{
	struct job	*j;
	char		*vars[4], why[512];
	int		 i;

	if (conf.argv == NULL) {
		if (conf.out != OUT_WHOLE)
			task_lines(t, payload, 1);
		task_done(t, payload, NULL, NULL);
		evbuffer_free(payload);
		return;
	}
	xasprintf(&vars[0], "GM_FUNCTION=%s", t->t_func);
	xasprintf(&vars[1], "GM_HANDLE=%s", t->t_handle);
	xasprintf(&vars[2], "GM_UNIQUE=%s", t->t_unique);
	vars[3] = NULL;
	j = job_start(conf.argv, vars, payload, 0, &spawn_cb, t);
	for (i = 0; i < 3; i++)
		free(vars[i]);
	if (j == NULL) {
		snprintf(why, sizeof(why), "cannot run %s: %s", conf.argv[0],
		    strerror(errno));
		warnx("%s", why);
		task_done(t, NULL, why, NULL);
		return;
	}
	snprintf(why, sizeof(why), "job %s", t->t_handle);
	job_set_label(j, why);
	if (conf.timeout > 0)
		job_set_timeout(j, conf.timeout);
}
