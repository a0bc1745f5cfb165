/* Public domain. See README.md for the licence of this project. */
/*
 * Broadcast (gm's extension): the members of a function, and jobs
 * targeted at one member.  A member is a connection that registered the
 * function; its name is its client id (SET_CLIENT_ID), else its peer
 * address.  A client sends OPTION_REQ "target=NAME"; its later
 * submissions on that connection (foreground or background, not reduce)
 * are held here, on the targeted list, until a connection named NAME that
 * can do the function grabs them; NAME need not be connected yet.  A
 * background one is journaled with NAME (a TADD record), so it waits for
 * its member across restarts of the server and of the member.  Workers
 * see ordinary JOB_ASSIGNs.  This file owns the targeted list.
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "gm-server.h"

#define TARGET_OPT	"target="
#define TARGET_OPT_LEN	(sizeof(TARGET_OPT) - 1)

/* Queued targeted jobs, oldest first (j_entry). */
static TAILQ_HEAD(, job) targeted = TAILQ_HEAD_INITIALIZER(targeted);

/* A member's name: its client id, else its peer address. */
const char *
bcast_member(const struct conn *c)
{
	if (c->c_client_id != NULL && c->c_client_id[0] != '\0')
		return c->c_client_id;
	return c->c_peer;
}

/*
 * OPTION_REQ "target=NAME": later submissions on c go to member NAME
 * only; "target=" alone ends that.  0 if the option is not ours.
 */
int
bcast_option(struct conn *c, const void *opt, size_t len)
{
	const char	*p = opt;
	size_t		 i;

	if (len < TARGET_OPT_LEN || memcmp(p, TARGET_OPT, TARGET_OPT_LEN) != 0)
		return 0;
	/* No control bytes: the name goes into admin lines (show jobs). */
	for (i = TARGET_OPT_LEN; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			break;
	if (len - TARGET_OPT_LEN > GM_UNIQUE_SIZE || i < len) {
		conn_error(c, "INVALID_TARGET", "Target member name too long "
		    "or holds a control character");
		return 1;
	}
	free(c->c_target);
	c->c_target = NULL;
	if (len > TARGET_OPT_LEN) {
		c->c_target = xmalloc(len - TARGET_OPT_LEN + 1);
		memcpy(c->c_target, p + TARGET_OPT_LEN, len - TARGET_OPT_LEN);
		c->c_target[len - TARGET_OPT_LEN] = '\0';
	}
	conn_send(c, GM_OPTION_RES, NULL, 0, opt, len);
	return 1;
}

/* Whether c is member target of f. */
static int
is_member(struct conn *c, const struct func *f, const char *target)
{
	struct reg	*r;

	if (strcmp(bcast_member(c), target) != 0)
		return 0;
	TAILQ_FOREACH(r, &c->c_regs, r_wentry)
		if (r->r_func == f)
			return 1;
	return 0;
}

/* queue.c: a targeted job is runnable; wake its member if it sleeps. */
void
bcast_enqueue(struct job *j)
{
	struct reg	*r;

	TAILQ_INSERT_TAIL(&targeted, j, j_entry);
	TAILQ_FOREACH(r, &j->j_func->f_sleepers, r_sentry) {
		if (strcmp(bcast_member(r->r_conn), j->j_target) == 0) {
			worker_noop(r->r_conn);
			break;
		}
	}
}

/* queue.c: a targeted job leaves the list (assigned or ended). */
void
bcast_remove(struct job *j)
{
	TAILQ_REMOVE(&targeted, j, j_entry);
}

/* The oldest targeted job of priority prio that c may run, or NULL. */
struct job *
bcast_best(struct conn *c, int prio)
{
	struct job	*j;

	TAILQ_FOREACH(j, &targeted, j_entry)
		if (j->j_prio == prio && is_member(c, j->j_func, j->j_target))
			return j;
	return NULL;
}

/* Call fn for every queued targeted job, oldest first. */
void
bcast_foreach(void (*fn)(struct job *, void *), void *arg)
{
	struct job	*j;

	TAILQ_FOREACH(j, &targeted, j_entry)
		fn(j, arg);
}

/* When f's oldest targeted job was queued (monotonic us), or -1. */
int64_t
bcast_oldest_us(const struct func *f)
{
	struct job	*j;

	TAILQ_FOREACH(j, &targeted, j_entry)
		if (j->j_func == f)
			return j->j_since;
	return -1;
}

/* Admin `members`: f's member lines, a connection registered twice once. */
static void
members_of(struct func *f, void *arg)
{
	struct conn	*c = arg;
	struct reg	*r, *s;

	TAILQ_FOREACH(r, &f->f_regs, r_fentry) {
		for (s = TAILQ_FIRST(&f->f_regs); s != r;
		    s = TAILQ_NEXT(s, r_fentry))
			if (s->r_conn == r->r_conn)
				break;
		if (s != r)
			continue;
		conn_printf(c, "%s\t%d\t%s\t%s\n", bcast_member(r->r_conn),
		    r->r_conn->c_fd, r->r_conn->c_peer, f->f_name);
	}
}

/*
 * Admin `members [FUNC]`: one line per member connection of FUNC, or of
 * every function, "NAME<TAB>fd<TAB>peer<TAB>function", then ".".
 */
void
bcast_members(struct conn *c, const char *name)
{
	struct func	*f;

	if (name == NULL)
		func_foreach(members_of, c);
	else if ((f = func_get(name, strlen(name), 0)) != NULL)
		members_of(f, c);
	conn_printf(c, ".\n");
}
