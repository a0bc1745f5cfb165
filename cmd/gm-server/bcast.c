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
 * see ordinary JOB_ASSIGNs.  This file owns the targeted jobs, held per
 * member name (struct target, indexed by name) and priority, so that a
 * grab looks only at the head of the grabbing member's own queues,
 * however many jobs wait for it or for members that are away.
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "gm-server.h"

#define TARGET_OPT	"target="
#define TARGET_OPT_LEN	(sizeof(TARGET_OPT) - 1)

/* The queued jobs of one member name by priority, oldest first (j_entry). */
struct target {
	TAILQ_HEAD(, job)	 t_jobs[PRIO_COUNT];
	void			*t_hnext;	/* name index chain (htable) */
	uint32_t		 t_hash;
	char			 t_name[];
};

static struct htable	targets;	/* struct target by name */
static size_t		ntargeted;	/* jobs on every target's list */

static uint32_t
target_hash(const void *e)
{
	return ((const struct target *)e)->t_hash;
}

/* The target named name, made when create is set; or NULL. */
static struct target *
target_get(const char *name, int create)
{
	struct target	*t;
	size_t		 len = strlen(name);
	uint32_t	 h = htable_hash(name, len, HTABLE_SEED);
	int		 p;

	if (targets.t_b == NULL)
		htable_init(&targets, offsetof(struct target, t_hnext),
		    target_hash);
	for (t = htable_first(&targets, h); t != NULL; t = t->t_hnext)
		if (t->t_hash == h && strcmp(t->t_name, name) == 0)
			return t;
	if (!create)
		return NULL;
	t = xcalloc(1, sizeof(*t) + len + 1);
	memcpy(t->t_name, name, len);
	t->t_hash = h;
	for (p = 0; p < PRIO_COUNT; p++)
		TAILQ_INIT(&t->t_jobs[p]);
	htable_insert(&targets, t, h);
	return t;
}

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

/* queue.c: a targeted job is runnable; wake its member if it sleeps. */
void
bcast_enqueue(struct job *j)
{
	struct target	*t = target_get(j->j_target, 1);
	struct reg	*r;

	TAILQ_INSERT_TAIL(&t->t_jobs[j->j_prio], j, j_entry);
	ntargeted++;
	TAILQ_FOREACH(r, &j->j_func->f_sleepers, r_sentry) {
		if (strcmp(bcast_member(r->r_conn), j->j_target) == 0) {
			worker_noop(r->r_conn);
			break;
		}
	}
}

/* queue.c: a targeted job leaves its list (assigned or ended). */
void
bcast_remove(struct job *j)
{
	struct target	*t = target_get(j->j_target, 0);
	int		 p;

	if (t == NULL)
		fatalx("bcast_remove: no target %s", j->j_target);
	TAILQ_REMOVE(&t->t_jobs[j->j_prio], j, j_entry);
	ntargeted--;
	for (p = 0; p < PRIO_COUNT; p++)
		if (!TAILQ_EMPTY(&t->t_jobs[p]))
			return;
	htable_remove(&targets, t, t->t_hash);
	free(t);
}

/*
 * The job for c alone that c runs next: of the highest priority, oldest
 * first, of a function c can do; or NULL.  *rp, when not NULL, is set to
 * c's registration of the job's function.
 */
struct job *
bcast_best(struct conn *c, struct reg **rp)
{
	struct target	*t;
	struct job	*j;
	struct reg	*r;
	int		 p;

	if (ntargeted == 0 || (t = target_get(bcast_member(c), 0)) == NULL)
		return NULL;
	for (p = 0; p < PRIO_COUNT; p++)
		TAILQ_FOREACH(j, &t->t_jobs[p], j_entry)
			if ((r = worker_reg(c, j->j_func)) != NULL) {
				if (rp != NULL)
					*rp = r;
				return j;
			}
	return NULL;
}

struct target_walk {
	void	(*fn)(struct job *, void *);
	void	 *arg;
};

static void
target_walk(void *e, void *arg)
{
	struct target		*t = e;
	struct target_walk	*w = arg;
	struct job		*j, *next;
	int			 p;

	for (p = 0; p < PRIO_COUNT; p++)
		TAILQ_FOREACH_SAFE(j, &t->t_jobs[p], j_entry, next)
			w->fn(j, w->arg);
}

/*
 * Call fn for every queued targeted job: member by member, by priority,
 * oldest first.
 */
void
bcast_foreach(void (*fn)(struct job *, void *), void *arg)
{
	struct target_walk	 w = { fn, arg };

	if (ntargeted > 0)
		htable_foreach(&targets, target_walk, &w);
}

struct oldest {
	const struct func	*f;
	int64_t			 us;
};

static void
oldest_of(struct job *j, void *arg)
{
	struct oldest	*o = arg;

	if (j->j_func == o->f && (o->us == -1 || j->j_since < o->us))
		o->us = j->j_since;
}

/* When f's oldest targeted job was queued (monotonic us), or -1. */
int64_t
bcast_oldest_us(const struct func *f)
{
	struct oldest	 o = { f, -1 };

	bcast_foreach(oldest_of, &o);
	return o.us;
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

static void
target_free(void *e, void *arg __unused)
{
	free(e);
}

/* At exit, after queue_free_all freed the jobs: free the targets. */
void
bcast_free_all(void)
{
	if (targets.t_b == NULL)
		return;
	htable_foreach(&targets, target_free, NULL);
	htable_free(&targets);
	ntargeted = 0;
}
