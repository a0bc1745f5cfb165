/* Public domain. See README.md for the licence of this project. */
/*
 * What the journal's unit tests share: a scratch directory and event base,
 * jobs as a test expects them, and helpers to open, fill and inspect a
 * journal.  journal_helper.c holds them; each test_journal*.objs lists it.
 */
#ifndef GM_JOURNAL_HELPER_H
#define GM_JOURNAL_HELPER_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "../../cmd/gm-server/journal.h"

extern struct event_base	*base;
extern char			 top[];

/* What a test expects a job to look like. */
struct tjob {
	uint64_t	 id;
	int		 prio;
	int64_t		 when;
	uint32_t	 attempts;
	char		*func;
	size_t		 func_len;
	char		*unique;
	size_t		 unique_len;
	char		*reducer;
	size_t		 reducer_len;
	char		*target;	/* broadcast member, or NULL */
	size_t		 target_len;
	char		*data;
	size_t		 data_len;
	int		 ended;
	int		 fate;		/* replayed: its last FATE */
	uint32_t	 tries;
	int64_t		 due;
	char		*error;
	size_t		 error_len;
};

/* Done callbacks seen: the order of their args and their errors. */
struct seen {
	int	 n;
	int	 order[4096];
	int	 err[4096];
};

/* Jobs replay gave back. */
struct got {
	int		 n;
	struct tjob	 j[4096];
};

/* A done callback argument: which add this was, and where to report. */
struct donearg {
	struct seen	*s;
	int		 k;
};

void		 jt_begin(void);
int		 jt_end(void);
void		 on_done2(int, void *);
char		*dup_mem(const void *, size_t);
void		 on_replay(const struct journal_job *, void *);
void		 got_free(struct got *);
int		 run_until(int *, int);
char		*newdir(const char *);
struct journal	*jopen(const char *, enum journal_sync, int, char **);
int		 replay_count(const char *, int);
int		 open_refused(const char *, int, const char *,
		    const char *);
void		 tjob_init(struct tjob *, char *, char *, size_t);
int		 add_job(struct journal *, struct tjob *, int, struct donearg *);
int		 same_job(const struct tjob *, const struct tjob *);
const char	*last_seg(const char *);
int		 count_files(const char *, const char *);
off_t		 file_size(const char *);
off_t		 rec_offset(const char *, int);
int		 fill(const char *, int, uint64_t *, enum journal_sync);
int		 copy_file(const char *, const char *);
int		 flip_byte(const char *, off_t);

#endif /* GM_JOURNAL_HELPER_H */
