/* Public domain. See README.md for the licence of this project. */
/*
 * gm-submit's jobs: the payloads (from the arguments or standard input),
 * one job per payload and function, and their output, written in input
 * order (or as it comes with --unordered), with the progress line.
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "compat.h"
#include "net.h"
#include "proto.h"
#include "status.h"
#include "xmalloc.h"
#include "gm-submit.h"

struct jobq		 alljobs = TAILQ_HEAD_INITIALIZER(alljobs);
struct jobq		 readyq = TAILQ_HEAD_INITIALIZER(readyq);
size_t			 inflight;
int			 stderr_tty;
size_t			 inlen;
int			 in_eof = 1;
size_t			 njobs_done;
size_t			 njobs_failed;

static size_t		 nextseq = 1;
static int		 progress_shown;
static uint8_t		*inbuf;
static size_t		 incap;

static void		 advance_output(void);

/* Erase the live progress line from a terminal. */
void
progress_clear(void)
{
	if (progress_shown) {
		write_all(STDERR_FILENO, "\r\033[K", 4);
		progress_shown = 0;
	}
}

/* A shared payload; takes buf. */
struct payload *
payload_new(uint8_t *buf, size_t len)
{
	struct payload	*p;

	p = xcalloc(1, sizeof(*p));
	p->p_buf = buf;
	p->p_len = len;
	return p;
}

/* Make one job per function for a payload. */
void
add_payload(struct payload *p)
{
	struct job	*j;
	size_t		 i, seq = nextseq++;

	for (i = 0; i < opt.nfuncs; i++) {
		j = xcalloc(1, sizeof(*j));
		j->j_seq = seq;
		j->j_func = opt.funcs[i];
		j->j_payload = p;
		j->j_deadline = -1;
		p->p_refs++;
		if (opt.unique != NULL && opt.multi &&
		    strcmp(opt.unique, "-") != 0)
			snprintf(j->j_unique, sizeof(j->j_unique), "%s-%zu",
			    opt.unique, seq);
		else if (opt.unique != NULL)
			strlcpy(j->j_unique, opt.unique, sizeof(j->j_unique));
		j->j_state = J_READY;
		TAILQ_INSERT_TAIL(&alljobs, j, j_order);
		TAILQ_INSERT_TAIL(&readyq, j, j_link);
	}
}

/* Send output of a job to stdout now, or hold it until its turn. */
void
job_output(struct job *j, const void *data, size_t len)
{
	size_t	 plen = 0;

	if (opt.prefix)
		plen = strlen(j->j_func) + 2;
	if (opt.unordered || j == TAILQ_FIRST(&alljobs)) {
		if (plen > 0) {
			write_all(STDOUT_FILENO, j->j_func, plen - 2);
			write_all(STDOUT_FILENO, ": ", 2);
		}
		write_all(STDOUT_FILENO, data, len);
		j->j_wrote = 1;
		return;
	}
	if (j->j_bufcap - j->j_buflen < plen + len) {
		j->j_bufcap = (j->j_buflen + plen + len) * 2;
		j->j_buf = xreallocarray(j->j_buf, j->j_bufcap, 1);
	}
	if (plen > 0) {
		memcpy(j->j_buf + j->j_buflen, j->j_func, plen - 2);
		memcpy(j->j_buf + j->j_buflen + plen - 2, ": ", 2);
	}
	if (len > 0)
		memcpy(j->j_buf + j->j_buflen + plen, data, len);
	j->j_buflen += plen + len;
}

/* Write and free finished jobs at the head of the output order. */
static void
advance_output(void)
{
	struct job	*j;

	while ((j = TAILQ_FIRST(&alljobs)) != NULL) {
		if (j->j_buflen > 0) {
			write_all(STDOUT_FILENO, j->j_buf, j->j_buflen);
			j->j_wrote = 1;
		}
		free(j->j_buf);
		j->j_buf = NULL;
		j->j_buflen = j->j_bufcap = 0;
		if (j->j_state != J_DONE)
			break;
		TAILQ_REMOVE(&alljobs, j, j_order);
		free(j);
	}
}

/* A job has ended with status st. */
void
job_finish(struct job *j, int st)
{
	struct payload	*p = j->j_payload;

	if (j->j_state == J_SENT)
		TAILQ_REMOVE(&j->j_conn->s_sent, j, j_link);
	else if (j->j_state == J_RUNNING)
		TAILQ_REMOVE(&j->j_conn->s_running, j, j_link);
	else if (j->j_state == J_READY)
		TAILQ_REMOVE(&readyq, j, j_link);
	if (j->j_state == J_SENT || j->j_state == J_RUNNING) {
		inflight--;
		j->j_conn->s_load--;
	}
	j->j_state = J_DONE;
	j->j_status = st;
	j->j_conn = NULL;
	status_set(st);
	njobs_done++;
	if (st != ST_OK)
		njobs_failed++;
	free(j->j_warn);
	j->j_warn = NULL;
	if (--p->p_refs == 0) {
		free(p->p_buf);
		free(p);
	}
	j->j_payload = NULL;
	if (opt.unordered) {
		TAILQ_REMOVE(&alljobs, j, j_order);
		free(j->j_buf);
		free(j);
	} else
		advance_output();
}

/* Print a WORK_STATUS as a progress line. */
void
progress(struct job *j, const struct gm_arg *num, const struct gm_arg *den)
{
	char			 line[512];
	long long		 n, d;
	int			 len;

	/* As the worker sent them: junk or < 0 is 0; n * 100 must fit. */
	if ((n = proto_number(num, INT64_MAX / 100)) < 0)
		n = 0;
	if ((d = proto_number(den, INT64_MAX / 100)) < 0)
		d = 0;
	if (d > 0)
		len = snprintf(line, sizeof(line), "%s: %lld/%lld %lld%%",
		    j->j_func, n, d, n > d ? 100 : n * 100 / d);
	else
		len = snprintf(line, sizeof(line), "%s: %lld/%lld",
		    j->j_func, n, d);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line))
		len = sizeof(line) - 1;
	if (stderr_tty) {
		write_all(STDERR_FILENO, "\r", 1);
		write_all(STDERR_FILENO, line, (size_t)len);
		write_all(STDERR_FILENO, "\033[K", 3);
		progress_shown = 1;
	} else {
		line[len] = '\n';
		write_all(STDERR_FILENO, line, (size_t)len + 1);
	}
}

/* Write job data to stderr, with the -P prefix. */
void
to_stderr(const struct job *j, const struct gm_arg *a)
{
	progress_clear();
	if (opt.prefix) {
		write_all(STDERR_FILENO, j->j_func, strlen(j->j_func));
		write_all(STDERR_FILENO, ": ", 2);
	}
	write_all(STDERR_FILENO, a->ptr, a->len);
}

/* Read all of stdin as one payload. */
void
read_stdin_all(void)
{
	uint8_t	*buf = NULL;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;

	for (;;) {
		if (cap - len < STDIN_CHUNK) {
			cap = cap == 0 ? STDIN_CHUNK * 4 : cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err(ST_LOCAL, "stdin");
		if (n == 0)
			break;
		len += (size_t)n;
	}
	add_payload(payload_new(buf, len));
}

/* Read a chunk of stdin for -n/-N; returns 0 at end of input. */
int
read_lines(void)
{
	ssize_t	 n;

	if (incap - inlen < STDIN_CHUNK) {
		incap = incap == 0 ? STDIN_CHUNK * 2 : incap * 2;
		inbuf = xreallocarray(inbuf, incap, 1);
	}
	do
		n = read(STDIN_FILENO, inbuf + inlen, incap - inlen);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		err(ST_LOCAL, "stdin");
	if (n == 0) {
		in_eof = 1;
		return 0;
	}
	inlen += (size_t)n;
	return 1;
}

/*
 * Turn complete lines of the input buffer into jobs, up to max payloads;
 * at end of input the rest (a last line without newline) is one more.
 */
void
take_lines(int max)
{
	uint8_t	*nl, *p;
	size_t	 off = 0, len, keep;

	while (max > 0 && off < inlen) {
		nl = memchr(inbuf + off, '\n', inlen - off);
		if (nl == NULL && !in_eof)
			break;
		len = nl != NULL ? (size_t)(nl - (inbuf + off)) + 1 :
		    inlen - off;
		keep = len;
		if (opt.lines == 2 && nl != NULL)
			keep--;
		p = xmalloc(keep);
		memcpy(p, inbuf + off, keep);
		add_payload(payload_new(p, keep));
		off += len;
		max--;
	}
	if (off > 0) {
		memmove(inbuf, inbuf + off, inlen - off);
		inlen -= off;
	}
}
