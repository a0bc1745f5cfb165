/* Public domain. See README.md for the licence of this project. */
/*
 * gm-submit --all / --to: broadcast one payload to the members of a
 * function.  Every server is asked `members FUNC`; a member (a client id)
 * listed by several servers gets the job once, from the first server that
 * lists it.  Each member's job is an ordinary SUBMIT_JOB sent after gm's
 * OPTION_REQ "target=NAME", so the server gives it to that member alone.
 * Replies are printed as they come, labelled "NAME: "; a summary goes to
 * stderr.  With -b each member's job is a SUBMIT_JOB_BG instead, durable
 * on its server until that member runs it, and its handle is what is
 * printed; a --to name that is not connected now still gets one, on the
 * first server that answered.
 */

#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
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
#include "view.h"
#include "xmalloc.h"
#include "gm-submit.h"

enum mstate {
	M_SENT,			/* JOB_CREATED not yet received */
	M_RUNNING,
	M_DONE,			/* with -b: queued, its handle known */
	M_FAILED
};

struct member {
	char		*m_name;
	struct sconn	*m_conn;
	char		 m_handle[GM_HANDLE_SIZE];
	enum mstate	 m_state;
	char		*m_error;	/* why it failed; freed */
	uint8_t		*m_out;		/* unlabelled line or --json result */
	size_t		 m_outlen;
	size_t		 m_outcap;
};

static struct member	*members;
static size_t		 nmembers;
static size_t		 nopen;		/* members not done or failed */

static struct sconn *first_up(void);
static void	 list_members(const char *);
static int	 add_member(const char *, size_t, struct sconn *);
static void	 member_output(struct member *, const void *, size_t);
static void	 member_end(struct member *, enum mstate);
static void	 member_fail(struct member *, const char *, size_t);
static void	 label_stderr(const struct member *, const uint8_t *, size_t);
static void	 member_json(const struct member *);
static void	 on_packet(struct sconn *, struct gm_packet *);
static void	 conn_gone(struct sconn *, const char *);
static struct member *by_handle(struct sconn *, const struct gm_arg *);
static void	 summary(const char *);

/* The first server that answered the members list, or NULL. */
static struct sconn *
first_up(void)
{
	size_t	 i;

	for (i = 0; i < nconns; i++)
		if (conns[i].s_up)
			return &conns[i];
	return NULL;
}

/* Ask one server for the members of func and add those not seen yet. */
static void
list_members(const char *func)
{
	struct sconn	*s;
	const char	*line, *tab;
	char		*cmd;
	size_t		 i, len;
	int64_t		 deadline;

	xasprintf(&cmd, "members %s", func);
	for (i = 0; i < nconns; i++) {
		s = &conns[i];
		deadline = client_now() + (opt.timeout > 0 &&
		    opt.timeout < CONNECT_MS ? opt.timeout : CONNECT_MS);
		if (client_connect(&s->s_c, CONNECT_MS) == -1) {
			say("%s: %s", s->s_c.name,
			    client_strerror(&s->s_c, errno));
			status_set(ST_NOSERVER);
			continue;
		}
		client_queue_line(&s->s_c, cmd);
		for (;;) {
			if (client_wait_line(&s->s_c, &line, &len,
			    deadline) == -1) {
				say("%s: no members list: %s", s->s_c.name,
				    errno == ETIMEDOUT ? "timed out" :
				    strerror(errno));
				client_close(&s->s_c);
				status_set(errno == ETIMEDOUT ? ST_TIMEOUT :
				    ST_NOSERVER);
				break;
			}
			while (len > 0 && (line[len - 1] == '\n' ||
			    line[len - 1] == '\r'))
				len--;
			if (len == 1 && line[0] == '.') {
				s->s_up = 1;
				break;
			}
			if (len >= 20 &&
			    memcmp(line, "ERR UNKNOWN_COMMAND ", 20) == 0)
				errx(ST_REFUSED, "%s: the server does not "
				    "support broadcast (it has no \"members\" "
				    "command: %.*s)", s->s_c.name, (int)len,
				    line);
			if (len >= 4 && memcmp(line, "ERR ", 4) == 0)
				errx(ST_REFUSED, "%s: members of %s refused: "
				    "%.*s", s->s_c.name, func, (int)len, line);
			if ((tab = memchr(line, '\t', len)) != NULL)
				len = (size_t)(tab - line);
			add_member(line, len, s);
		}
	}
	free(cmd);
}

/* Add a member unless one of that name is known; 1 if added. */
static int
add_member(const char *name, size_t len, struct sconn *s)
{
	struct member	*m;
	size_t		 i;

	for (i = 0; i < nmembers; i++)
		if (strlen(members[i].m_name) == len &&
		    memcmp(members[i].m_name, name, len) == 0)
			return 0;
	members = xreallocarray(members, nmembers + 1, sizeof(*members));
	m = &members[nmembers++];
	memset(m, 0, sizeof(*m));
	m->m_name = xmemdup(name, len);
	m->m_conn = s;
	return 1;
}

/*
 * Output of a member: with --json kept for its object; unlabelled, as it
 * comes; labelled, whole lines each behind "NAME: " (a partial line waits).
 */
static void
member_output(struct member *m, const void *buf, size_t len)
{
	const uint8_t	*p = buf, *nl;
	size_t		 n;

	if (opt.json || opt.label) {
		if (m->m_outcap - m->m_outlen < len) {
			m->m_outcap = m->m_outlen + len + 256;
			m->m_out = xreallocarray(m->m_out, m->m_outcap, 1);
		}
		memcpy(m->m_out + m->m_outlen, p, len);
		m->m_outlen += len;
	} else
		write_all(STDOUT_FILENO, p, len);
	if (opt.json || !opt.label)
		return;
	p = m->m_out;
	while ((nl = memchr(p, '\n', m->m_outlen - (size_t)(p - m->m_out))) !=
	    NULL) {
		n = (size_t)(nl - p) + 1;
		write_all(STDOUT_FILENO, m->m_name, strlen(m->m_name));
		write_all(STDOUT_FILENO, ": ", 2);
		write_all(STDOUT_FILENO, p, n);
		p += n;
	}
	n = m->m_outlen - (size_t)(p - m->m_out);
	memmove(m->m_out, p, n);
	m->m_outlen = n;
}

/* A warning or exception of a member: to stderr, each line labelled. */
static void
label_stderr(const struct member *m, const uint8_t *p, size_t len)
{
	const uint8_t	*nl;
	size_t		 n;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl - p) + 1 : len;
		if (opt.label) {
			write_all(STDERR_FILENO, m->m_name, strlen(m->m_name));
			write_all(STDERR_FILENO, ": ", 2);
		}
		write_all(STDERR_FILENO, p, n);
		if (nl == NULL)
			write_all(STDERR_FILENO, "\n", 1);
		p += n;
		len -= n;
	}
}

/* A member is done or failed. */
static void
member_end(struct member *m, enum mstate st)
{
	if (m->m_state == M_DONE || m->m_state == M_FAILED)
		return;
	m->m_state = st;
	nopen--;
	if (opt.json)
		member_json(m);
	else if (opt.label && m->m_outlen > 0)
		member_output(m, "\n", 1);
}

/*
 * A member failed; why is the worker's message (its last line, without
 * gm-work's tag, becomes the error) or, when empty, the message a
 * WORK_WARNING left before.
 */
static void
member_fail(struct member *m, const char *why, size_t len)
{
	const char	*e;
	char		*msg;

	if (len == 0 && m->m_error != NULL) {
		why = m->m_error;
		len = strlen(why);
	}
	while (len > 0 && (why[len - 1] == '\n' || why[len - 1] == '\r'))
		len--;
	for (e = why + len; e > why && e[-1] != '\n'; e--)
		;
	len -= (size_t)(e - why);
	if (len > 9 && memcmp(e, "gm-work: ", 9) == 0) {
		e += 9;
		len -= 9;
	}
	if (len == 0) {
		e = "failed";
		len = 6;
	}
	msg = xmemdup(e, len);
	free(m->m_error);
	m->m_error = msg;
	member_end(m, M_FAILED);
}

/* --json: one object per member, one line each. */
static void
member_json(const struct member *m)
{
	static const char *names[] = { "no answer", "no answer", "done",
	    "failed" };

	fputs("{\"member\": ", stdout);
	json_str(stdout, m->m_name);
	fputs(", \"server\": ", stdout);
	json_str(stdout, m->m_conn->s_c.name);
	printf(", \"status\": \"%s\", ", opt.background &&
	    m->m_state == M_DONE ? "queued" : names[m->m_state]);
	if (opt.background) {
		fputs("\"handle\": ", stdout);
		if (m->m_state == M_DONE)
			json_str(stdout, m->m_handle);
		else
			fputs("null", stdout);
	} else {
		fputs("\"result\": ", stdout);
		json_strn(stdout, (const char *)m->m_out, m->m_outlen);
	}
	fputs(", \"error\": ", stdout);
	if (m->m_state != M_DONE && m->m_error != NULL)
		json_str(stdout, m->m_error);
	else
		fputs("null", stdout);
	fputs("}\n", stdout);
	fflush(stdout);
}

/* The member of that handle on s, or NULL. */
static struct member *
by_handle(struct sconn *s, const struct gm_arg *h)
{
	size_t	 i;

	for (i = 0; i < nmembers; i++)
		if (members[i].m_conn == s &&
		    members[i].m_state == M_RUNNING &&
		    strlen(members[i].m_handle) == h->len &&
		    memcmp(members[i].m_handle, h->ptr, h->len) == 0)
			return &members[i];
	return NULL;
}

/* Act on one packet from a server. */
static void
on_packet(struct sconn *s, struct gm_packet *pkt)
{
	struct member	*m;
	size_t		 i;

	switch (pkt->hdr.type) {
	case GM_JOB_CREATED:
	case GM_ERROR:
		/* Replies come in order: the oldest member still M_SENT. */
		for (i = 0; i < nmembers; i++)
			if (members[i].m_conn == s &&
			    members[i].m_state == M_SENT)
				break;
		if (i == nmembers)
			return;
		m = &members[i];
		if (pkt->hdr.type == GM_ERROR) {
			say("%s: %s: job refused: %.*s %.*s", s->s_c.name,
			    m->m_name, (int)pkt->arg[0].len, pkt->arg[0].ptr,
			    (int)pkt->arg[1].len, pkt->arg[1].ptr);
			member_fail(m, (const char *)pkt->arg[1].ptr,
			    pkt->arg[1].len);
			return;
		}
		snprintf(m->m_handle, sizeof(m->m_handle), "%.*s",
		    (int)pkt->arg[0].len, pkt->arg[0].ptr);
		m->m_state = M_RUNNING;
		if (opt.background) {
			/* Queued for its member: the handle is the reply. */
			if (!opt.json) {
				member_output(m, m->m_handle,
				    strlen(m->m_handle));
				member_output(m, "\n", 1);
			}
			member_end(m, M_DONE);
		}
		return;
	}
	/* The WORK_* packets name a job; the others are not ours. */
	if (pkt->nargs == 0 || (m = by_handle(s, &pkt->arg[0])) == NULL)
		return;
	switch (pkt->hdr.type) {
	case GM_WORK_DATA:
		member_output(m, pkt->arg[1].ptr, pkt->arg[1].len);
		break;
	case GM_WORK_WARNING:
		if (!opt.json)
			label_stderr(m, pkt->arg[1].ptr, pkt->arg[1].len);
		/* Keep the message for the WORK_FAIL that may follow. */
		free(m->m_error);
		m->m_error = xmemdup(pkt->arg[1].ptr, pkt->arg[1].len);
		break;
	case GM_WORK_EXCEPTION:
		if (!opt.json)
			label_stderr(m, pkt->arg[1].ptr, pkt->arg[1].len);
		member_fail(m, (const char *)pkt->arg[1].ptr, pkt->arg[1].len);
		break;
	case GM_WORK_COMPLETE:
		member_output(m, pkt->arg[1].ptr, pkt->arg[1].len);
		member_end(m, M_DONE);
		break;
	case GM_WORK_FAIL:
		member_fail(m, "", 0);
		break;
	}
}

/* A server is gone: its members' jobs failed (never moved elsewhere). */
static void
conn_gone(struct sconn *s, const char *why)
{
	size_t	 i;

	say("%s: %s", s->s_c.name, why);
	client_close(&s->s_c);
	s->s_up = 0;
	for (i = 0; i < nmembers; i++)
		if (members[i].m_conn == s)
			member_fail(&members[i], why, strlen(why));
}

/*
 * stderr: "FUNC: 5 members: 4 done, 1 failed (web3: exit 1), 0 no
 * answer (...)", and the exit status.
 */
static void
summary(const char *func)
{
	size_t	 i, ndone = 0, nfail = 0, nlate = 0, k;
	char	*line = NULL;
	size_t	 len = 0;
	FILE	*f;

	for (i = 0; i < nmembers; i++) {
		if (members[i].m_state == M_DONE)
			ndone++;
		else if (members[i].m_state == M_FAILED)
			nfail++;
		else
			nlate++;
	}
	if ((f = open_memstream(&line, &len)) == NULL)
		err(ST_LOCAL, "open_memstream");
	fprintf(f, "%s: %zu member%s: %zu %s, %zu failed", func, nmembers,
	    nmembers == 1 ? "" : "s", ndone, opt.background ? "queued" :
	    "done", nfail);
	for (i = k = 0; i < nmembers; i++)
		if (members[i].m_state == M_FAILED)
			fprintf(f, "%s%s: %s", k++ ? ", " : " (",
			    members[i].m_name, members[i].m_error);
	fprintf(f, "%s, %zu no answer", k ? ")" : "", nlate);
	for (i = k = 0; i < nmembers; i++)
		if (members[i].m_state != M_DONE &&
		    members[i].m_state != M_FAILED)
			fprintf(f, "%s%s", k++ ? ", " : " (", members[i].m_name);
	fprintf(f, "%s", k ? ")" : "");
	if (fclose(f) == EOF)
		err(ST_LOCAL, "open_memstream");
	say("%s", line);
	free(line);
	if (nfail > 0)
		status_set(ST_FAILED);
	if (nlate > 0)
		status_set(ST_TIMEOUT);
}

/*
 * Broadcast data to the members of func (all, or the nto named in to);
 * returns the exit status.
 */
int
broadcast(const char *func, char **to, size_t nto, const void *data,
    size_t len)
{
	struct pollfd	*pfd;
	struct gm_arg	 a[3];
	struct sconn	*s;
	struct member	*keep;
	size_t		 i, k, nkeep;
	int64_t		 deadline = -1;
	int		 rv;
	char		*opt_target;

	list_members(func);
	if (nto > 0) {
		/* Keep the named members, in the order named. */
		keep = members;
		nkeep = nmembers;
		members = NULL;
		nmembers = 0;
		for (k = 0; k < nto; k++) {
			for (i = 0; i < nkeep; i++)
				if (strcmp(keep[i].m_name, to[k]) == 0)
					break;
			if (i == nkeep && opt.background) {
				/* Held for it until it connects. */
				if ((s = first_up()) == NULL)
					break;
				say("%s: %s is not a member now: its job waits "
				    "for it on %s", func, to[k], s->s_c.name);
				add_member(to[k], strlen(to[k]), s);
				continue;
			}
			if (i == nkeep) {
				say("%s: %s is not a member (not connected, "
				    "or not registered for %s)", func, to[k],
				    func);
				status_set(ST_FAILED);
				continue;
			}
			add_member(keep[i].m_name, strlen(keep[i].m_name),
			    keep[i].m_conn);
		}
		for (i = 0; i < nkeep; i++)
			free(keep[i].m_name);
		free(keep);
	}
	if (nmembers == 0) {
		say("%s: no members: no worker %sis registered for %s on any "
		    "server", func, nto > 0 ? "of those named " : "", func);
		status_set(ST_FAILED);
		return status_worst();
	}

	/* One targeted job per member, on the server that listed it. */
	for (i = 0; i < nmembers; i++) {
		s = members[i].m_conn;
		xasprintf(&opt_target, "target=%s", members[i].m_name);
		a[0] = gm_str(opt_target);
		client_queue(&s->s_c, GM_OPTION_REQ, a, 1);
		free(opt_target);
		a[0] = gm_str(func);
		a[1] = gm_str("");
		a[2].ptr = data;
		a[2].len = len;
		client_queue(&s->s_c, opt.background ? GM_SUBMIT_JOB_BG :
		    GM_SUBMIT_JOB, a, 3);
		members[i].m_state = M_SENT;
	}
	nopen = nmembers;
	if (opt.timeout > 0)
		deadline = client_now() + opt.timeout;
	pfd = xcalloc(nconns, sizeof(*pfd));
	while (nopen > 0) {
		for (i = 0; i < nconns; i++) {
			s = &conns[i];
			pfd[i].fd = s->s_up ? s->s_c.fd : -1;
			pfd[i].events = POLLIN;
			if (s->s_up && client_pending(&s->s_c) > 0)
				pfd[i].events |= POLLOUT;
			pfd[i].revents = 0;
		}
		rv = poll(pfd, nconns, client_remaining(deadline));
		if (rv == -1 && errno == EINTR)
			continue;
		if (rv == -1)
			err(ST_LOCAL, "poll");
		if (rv == 0)
			break;
		for (i = 0; i < nconns; i++) {
			s = &conns[i];
			if (!s->s_up || pfd[i].revents == 0)
				continue;
			if ((pfd[i].revents & POLLOUT) &&
			    client_write(&s->s_c) == -1) {
				conn_gone(s, lost_why(errno));
				continue;
			}
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				conn_input(s, on_packet, conn_gone);
		}
	}
	free(pfd);
	if (opt.json)
		for (i = 0; i < nmembers; i++)
			if (members[i].m_state != M_DONE &&
			    members[i].m_state != M_FAILED)
				member_json(&members[i]);
	summary(func);
	for (i = 0; i < nconns; i++)
		client_close(&conns[i].s_c);
	for (i = 0; i < nmembers; i++) {
		free(members[i].m_name);
		free(members[i].m_error);
		free(members[i].m_out);
	}
	free(members);
	return status_worst();
}
