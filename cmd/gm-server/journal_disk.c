/* Public domain. See README.md for the licence of this project. */
/* The journal's directory: its lock, segment files, maps and repair. */

#include <sys/types.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal_int.h"
#include "log.h"
#include "xmalloc.h"

#define SEG_NAME_LEN	24	/* "seg-" 16 hex digits ".jnl" */

/* Path of segment seq.  Caller frees. */
char *
seg_path(struct journal *j, uint64_t seq)
{
	char	*p;

	xasprintf(&p, "%s/seg-%016" PRIx64 ".jnl", j->dir, seq);
	return p;
}

/* Write all of buf at off; 0 or an errno value. */
int
pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
	const uint8_t	*p = buf;
	ssize_t		 w;

	while (n > 0) {
		w = pwrite(fd, p, n, off);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (w == 0)
			return EIO;
		p += w;
		n -= w;
		off += w;
	}
	return 0;
}

/*
 * Create segment seq with a header; return its fd or -1 with errno.  The
 * file appears under its name with its header whole, so a segment shorter
 * than a header is always damage, never a crash during its creation.
 */
int
seg_create(struct journal *j, uint64_t seq, uint32_t flags, uint64_t next_id)
{
	struct jbuf	 h = { NULL, 0, 0 };
	char		*path;
	int		 fd, e;

	hdr_make(jbuf_grow(&h, HDR_SIZE), flags, next_id);
	e = seg_install(j, "segment.tmp", &h, seq);
	free(h.b);
	if (e != 0) {
		errno = e;
		return -1;
	}
	path = seg_path(j, seq);
	fd = open(path, O_RDWR | O_CLOEXEC);
	e = errno;
	free(path);
	errno = e;
	return fd;
}

/* Write out to a temp file, sync it and rename it to segment seq. */
int
seg_install(struct journal *j, const char *tmpname, struct jbuf *out,
    uint64_t seq)
{
	char	*tmp, *path;
	int	 fd, e = 0;

	xasprintf(&tmp, "%s/%s", j->dir, tmpname);
	path = seg_path(j, seq);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd == -1)
		e = errno;
	else {
		e = pwrite_all(fd, out->b, out->len, 0);
		if (e == 0 && fsync(fd) == -1)
			e = errno;
		if (close(fd) == -1 && e == 0)
			e = errno;
		if (e == 0 && rename(tmp, path) == -1)
			e = errno;
		if (e == 0 && fsync(j->dirfd) == -1)
			e = errno;
		if (e != 0)
			unlink(tmp);
	}
	free(tmp);
	free(path);
	return e;
}

/* Lock the directory; fill *cause when another process holds it. */
static int
dir_lock(struct journal *j, char **cause)
{
	char	*path, buf[32];
	ssize_t	 n;
	int	 fd;

	xasprintf(&path, "%s/lock", j->dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		xasprintf(cause, "journal %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			n = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			xasprintf(cause, "journal directory %s is in use by "
			    "another gm-server (pid %s)", j->dir,
			    buf[0] != '\0' ? buf : "unknown");
		} else
			xasprintf(cause, "journal %s: lock: %s", path,
			    strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	j->lockfd = fd;
	return 0;
}

/* Write our pid into the lock file. */
void
dir_lock_pid(struct journal *j)
{
	char	 buf[32];
	int	 n;

	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(j->lockfd, 0) == 0 && pwrite(j->lockfd, buf, n, 0) == -1)
		log_debug("%s: %s", __func__, strerror(errno));
}

/* Make a new directory's entry durable: sync its parent. */
static void
sync_parent(const char *path)
{
	char	*s, *p;
	int	 fd;

	s = xstrdup(path);
	if ((p = strrchr(s, '/')) != NULL && p != s)
		*p = '\0';
	else if (p == s)
		s[1] = '\0';
	else
		strlcpy(s, ".", strlen(s) + 1);
	if ((fd = open(s, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(fd);
		close(fd);
	}
	free(s);
}

/* Create dir and its parents. */
static int
mkdir_p(const char *dir)
{
	char	*p, *s;
	int	 rc = 0;

	s = xstrdup(dir);
	for (p = s + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(s, 0750) == 0)
			sync_parent(s);
		else if (errno != EEXIST) {
			rc = -1;
			break;
		}
		*p = '/';
	}
	if (rc == 0) {
		if (mkdir(s, 0750) == 0)
			sync_parent(s);
		else if (errno != EEXIST)
			rc = -1;
	}
	free(s);
	return rc;
}

/* Create and open the directory, lock it and leave our pid in the lock. */
int
dir_open(struct journal *j, char **cause)
{
	if (mkdir_p(j->dir) == -1 || (j->dirfd = open(j->dir,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "journal directory %s: %s", j->dir,
		    strerror(errno));
		return -1;
	}
	if (dir_lock(j, cause) == -1)
		return -1;
	dir_lock_pid(j);
	return 0;
}

static int
seq_cmp(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * List the segments of the directory in *seqs, oldest first, and remove
 * the temp files of a compaction, repair or new segment that did not
 * finish.
 */
int
dir_list(struct journal *j, uint64_t **seqs, size_t *nseqs, char **cause)
{
	struct dirent	*de;
	DIR		*d;
	char		 tmp[17];

	*seqs = NULL;
	*nseqs = 0;
	if ((d = opendir(j->dir)) == NULL) {
		xasprintf(cause, "journal directory %s: %s", j->dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) == SEG_NAME_LEN &&
		    strncmp(de->d_name, "seg-", 4) == 0 &&
		    strcmp(de->d_name + 20, ".jnl") == 0 &&
		    strspn(de->d_name + 4, "0123456789abcdef") == 16) {
			memcpy(tmp, de->d_name + 4, 16);
			tmp[16] = '\0';
			*seqs = xreallocarray(*seqs, *nseqs + 1,
			    sizeof(**seqs));
			(*seqs)[(*nseqs)++] = strtoull(tmp, NULL, 16);
		} else if (strcmp(de->d_name, "compact.tmp") == 0 ||
		    strcmp(de->d_name, "repair.tmp") == 0 ||
		    strcmp(de->d_name, "segment.tmp") == 0) {
			log_info("journal %s: removing unfinished %s", j->dir,
			    de->d_name);
			unlinkat(j->dirfd, de->d_name, 0);
		}
	}
	closedir(d);
	if (*nseqs > 1)
		qsort(*seqs, *nseqs, sizeof(**seqs), seq_cmp);
	return 0;
}

/* Rename a damaged file aside, never over another file.  Caller frees. */
static char *
set_aside(const char *path)
{
	struct stat	 sb;
	char		*to;
	int		 i;

	for (i = 0;; i++) {
		if (i == 0)
			xasprintf(&to, "%s.damaged", path);
		else
			xasprintf(&to, "%s.damaged.%d", path, i);
		if (stat(to, &sb) == -1 && errno == ENOENT)
			break;
		free(to);
	}
	if (rename(path, to) == -1) {
		free(to);
		return NULL;
	}
	return to;
}

/* Unmap a segment mapped by seg_map. */
void
seg_unmap(struct jmap *mp)
{
	if (mp->p != NULL)
		munmap(mp->p, mp->len);
	mp->p = NULL;
	mp->len = 0;
}

/*
 * Map segment seq and check its header into hd.  A damaged header (a file
 * cut to fewer bytes than a header among them) stops the start, or with
 * repair marks the segment damaged and leaves it unmapped.
 */
int
seg_map(struct journal *j, uint64_t seq, struct jmap *mp,
    struct jhdr *hd, char **cause)
{
	struct stat	 sb;
	enum jhdr_err	 he;
	char		*path, *c;
	int		 fd;

	memset(mp, 0, sizeof(*mp));
	memset(hd, 0, sizeof(*hd));
	mp->seq = seq;
	path = seg_path(j, seq);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		xasprintf(cause, "journal %s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		free(path);
		return -1;
	}
	mp->len = sb.st_size;
	if (mp->len > 0) {
		mp->p = mmap(NULL, mp->len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (mp->p == MAP_FAILED) {
			mp->p = NULL;
			xasprintf(cause, "journal %s: mmap: %s", path,
			    strerror(errno));
			close(fd);
			free(path);
			return -1;
		}
		madvise(mp->p, mp->len, MADV_SEQUENTIAL);
	}
	close(fd);
	he = hdr_parse(mp->p, mp->len, hd);
	if (he == JHDR_OK) {
		free(path);
		return 0;
	}
	if (he == JHDR_VERSION) {
		xasprintf(cause, "journal %s: format version %u is not "
		    "supported (this gm-server reads versions %u to %u)",
		    path, hd->version, JOURNAL_VERSION_MIN, JOURNAL_VERSION);
		free(path);
		return -1;
	}
	xasprintf(&c, "journal %s: damaged header at offset 0 (%s)", path,
	    hdr_strerror(he));
	free(path);
	if (j->opts.repair) {
		log_warnx("%s; skipping the file", c);
		free(c);
		mp->damage = JDAMAGE_HEADER;
		seg_unmap(mp);
		return 0;
	}
	xasprintf(cause, "%s; start with --journal-repair to salvage the "
	    "valid records and set the damaged file aside", c);
	free(c);
	return -1;
}

/*
 * Salvage after damage: write every live job to a new base segment, set
 * the damaged segments aside and remove the others.
 */
int
repair(struct journal *j, char **cause)
{
	struct jbuf	 out = { NULL, 0, 0 };
	struct jent	*e;
	uint64_t	 seq;
	size_t		 i;
	char		*path, *to;
	int		 err;

	seq = j->maps[j->nmaps - 1].seq + 1;
	hdr_make(jbuf_grow(&out, HDR_SIZE), HDR_BASE, j->next_id);
	for (i = 0; i < j->idx.n; i++) {
		e = &j->idx.e[i];
		if (e->seg == JENT_DEAD)
			continue;
		rec_copy_add(&out, j->maps[e->seg].p + e->off, e->attempts);
		fate_copy(j, e->id, &out);
	}
	if ((err = seg_install(j, "repair.tmp", &out, seq)) != 0) {
		xasprintf(cause, "journal %s: writing the repaired journal: "
		    "%s", j->dir, strerror(err));
		free(out.b);
		return -1;
	}
	for (i = 0; i < j->nmaps; i++) {
		path = seg_path(j, j->maps[i].seq);
		if (j->maps[i].damage != JDAMAGE_NONE) {
			if ((to = set_aside(path)) == NULL) {
				xasprintf(cause, "journal %s: rename: %s",
				    path, strerror(errno));
				free(path);
				free(out.b);
				return -1;
			}
			log_warnx("journal: damaged %s kept as %s", path, to);
			free(to);
		} else if (unlink(path) == -1)
			log_warn("journal: unlink %s", path);
		free(path);
	}
	fsync(j->dirfd);
	log_warnx("journal %s: repaired, %" PRIu64 " jobs kept", j->dir,
	    idx_live(&j->idx));
	j->segs = xreallocarray(NULL, 1, sizeof(*j->segs));
	j->nsegs = 1;
	j->segs[0].seq = seq;
	j->segs[0].size = out.len;
	j->records = idx_live(&j->idx) + j->nfates;
	free(out.b);
	return 0;
}
