/* Public domain. See README.md for the licence of this project. */
/*
 * libFuzzer harness: the journal reader.  The input becomes the journal's
 * one segment file; the journal is opened (with --journal-repair when the
 * input's last byte is odd), its jobs replayed and it is closed.  Damage
 * must be refused or repaired, never crash or read out of bounds.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "journal.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char		 dir[64];
static volatile uint8_t	 sink;	/* keeps the reads of replayed() */
static struct event_base *ebase;

/* Count the job and touch every byte it points to. */
static void
replayed(const struct journal_job *jj, void *arg)
{
	uint8_t		 x = 0;
	size_t		 i;

	for (i = 0; i < jj->func_len; i++)
		x ^= (uint8_t)jj->func[i];
	for (i = 0; i < jj->unique_len; i++)
		x ^= (uint8_t)jj->unique[i];
	for (i = 0; jj->reducer != NULL && i < jj->reducer_len; i++)
		x ^= (uint8_t)jj->reducer[i];
	for (i = 0; i < jj->data_len; i++)
		x ^= ((const uint8_t *)jj->data_ptr)[i];
	sink ^= x;
	(*(size_t *)arg)++;
}

/* Remove every file of the journal folder. */
static void
clean(void)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[512];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct journal_opts	 jo;
	struct journal		*j;
	char			 path[512], *cause = NULL;
	size_t			 jobs = 0;
	int			 fd;

	if (ebase == NULL) {
		snprintf(dir, sizeof(dir), "/tmp/gm-fuzz-journal.%ld",
		    (long)getpid());
		mkdir(dir, 0700);
		log_init(LOG_TO_NONE, NULL, 0);
		if ((ebase = event_base_new()) == NULL)
			abort();
	}
	clean();
	snprintf(path, sizeof(path), "%s/seg-0000000000000001.jnl", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
	memset(&jo, 0, sizeof(jo));
	jo.sync = JOURNAL_SYNC_NEVER;
	jo.repair = len > 0 && (data[len - 1] & 1);
	if ((j = journal_open(ebase, dir, &jo, &cause)) != NULL) {
		journal_replay(j, replayed, &jobs);
		journal_close(j);
	}
	free(cause);
	clean();
	return 0;
}
