/* Public domain. See README.md for the licence of this project. */
/*
 * A job from a server while it runs, whatever runs it: its WORK_DATA,
 * WORK_STATUS and its end as WORK_COMPLETE, WORK_FAIL or WORK_EXCEPTION.
 */

#include <sys/types.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "compat.h"
#include "log.h"
#include "proto.h"
#include "xmalloc.h"
#include "gm-work.h"

/*
 * A job assigned on connection gen of server s: its handle, function and
 * (with hasuniq) unique id are the arguments of pkt.
 */
struct task *
task_new(struct server *s, unsigned int gen, const struct gm_packet *pkt,
    int hasuniq)
{
	struct task	*t;

	t = xcalloc(1, sizeof(*t));
	t->t_srv = s;
	t->t_gen = gen;
	t->t_handle = xmemdup(pkt->arg[0].ptr, pkt->arg[0].len);
	t->t_func = xmemdup(pkt->arg[1].ptr, pkt->arg[1].len);
	t->t_unique = hasuniq ? xmemdup(pkt->arg[2].ptr, pkt->arg[2].len) :
	    xstrdup("");
	clock_gettime(CLOCK_MONOTONIC, &t->t_start);
	if (conf.verbose)
		warnx("job %s (%s): start", t->t_handle, t->t_func);
	return t;
}

/* Send data (drained) as WORK_DATA. */
void
task_data(struct task *t, struct evbuffer *data)
{
	struct gm_arg	 h = gm_str(t->t_handle);

	server_send(t->t_srv, t->t_gen, GM_WORK_DATA, &h, 1, data);
}

/* Send progress as WORK_STATUS. */
void
task_status(struct task *t, uint32_t num, uint32_t den)
{
	struct gm_arg	 a[3];
	char		 n[16], d[16];

	snprintf(n, sizeof(n), "%u", num);
	snprintf(d, sizeof(d), "%u", den);
	a[0] = gm_str(t->t_handle);
	a[1] = gm_str(n);
	a[2] = gm_str(d);
	server_send(t->t_srv, t->t_gen, GM_WORK_STATUS, a, 3, NULL);
}

/*
 * Send each complete line of out as its own WORK_DATA (with -N without its
 * newline); at the end (last) also the unterminated rest.
 */
void
task_lines(struct task *t, struct evbuffer *out, int last)
{
	struct evbuffer_ptr	 eol;
	struct evbuffer		*line;
	size_t			 len, eollen;

	if ((line = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	for (;;) {
		eol = evbuffer_search_eol(out, NULL, &eollen, EVBUFFER_EOL_LF);
		if (eol.pos == -1)
			break;
		len = (size_t)eol.pos;
		if (conf.out == OUT_LINES)
			len += eollen;
		evbuffer_remove_buffer(out, line, len);
		if (conf.out == OUT_LINES_NONL)
			evbuffer_drain(out, eollen);
		task_data(t, line);
	}
	if (last && evbuffer_get_length(out) > 0)
		task_data(t, out);
	evbuffer_free(line);
}

/* Free a task. */
static void
task_free(struct task *t)
{
	free(t->t_handle);
	free(t->t_func);
	free(t->t_unique);
	free(t);
}

/*
 * The job has ended: report it and free the task.  With reason NULL it
 * succeeded: WORK_COMPLETE with out.  A failure sends out as WORK_DATA,
 * then a message made of tail (the end of the command's stderr, may be
 * NULL) and the reason: as WORK_WARNING followed by WORK_FAIL, which every
 * client and server understand, or with -x as WORK_EXCEPTION.  After a
 * forced stop nothing is sent: the server hands the job out again.
 */
void
task_done(struct task *t, struct evbuffer *out, const char *reason,
    struct evbuffer *tail)
{
	struct gm_arg		 h = gm_str(t->t_handle);
	struct server		*s = t->t_srv;
	struct evbuffer		*msg;
	struct evbuffer_ptr	 nl;
	struct timespec		 now;
	size_t			 len;
	double			 secs;

	if (worker_forced())
		goto done;
	if (!server_alive(s, t->t_gen)) {
		warnx("job %s (%s): %s; the connection to %s was lost, result "
		    "dropped", t->t_handle, t->t_func, reason != NULL ? reason :
		    "done", server_name(s));
		goto done;
	}
	if (reason == NULL) {
		server_send(s, t->t_gen, GM_WORK_COMPLETE, &h, 1, out);
		if (conf.verbose) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			secs = (now.tv_sec - t->t_start.tv_sec) +
			    (now.tv_nsec - t->t_start.tv_nsec) / 1e9;
			warnx("job %s (%s): done in %.3f s", t->t_handle,
			    t->t_func, secs);
		}
		goto done;
	}
	if (out != NULL && evbuffer_get_length(out) > 0)
		task_data(t, out);
	if ((msg = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	if (tail != NULL) {
		/* Start the tail at a line when it was cut. */
		len = evbuffer_get_length(tail);
		if (len >= JOB_TAIL_MAX) {
			nl = evbuffer_search(tail, "\n", 1, NULL);
			if (nl.pos != -1 && (size_t)nl.pos + 1 < len)
				evbuffer_drain(tail, (size_t)nl.pos + 1);
		}
		evbuffer_add_buffer(msg, tail);
	}
	evbuffer_add_printf(msg, "gm-work: %s\n", reason);
	if (conf.exceptions)
		server_send(s, t->t_gen, GM_WORK_EXCEPTION, &h, 1, msg);
	else {
		server_send(s, t->t_gen, GM_WORK_WARNING, &h, 1, msg);
		server_send(s, t->t_gen, GM_WORK_FAIL, &h, 1, NULL);
	}
	evbuffer_free(msg);
done:
	worker_job_done(s, t->t_gen);
	task_free(t);
}
