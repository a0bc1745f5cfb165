/* Public domain. See README.md for the licence of this project. */
/*
 * gmstream: the stream fuzzer.  For a given time it opens connection after
 * connection to a Gearman server and sends each a stream made of inputs
 * from seed corpora (packets, admin lines), mutated: bytes flipped or
 * replaced, a size field changed, a piece cut, repeated or spliced in from
 * another input.  The stream goes out in random pieces; what the server
 * answers is read and dropped; the connection then ends by a close, a
 * half-close (reading to the end) or a reset.
 *
 * usage: gmstream -h HOST -p PORT -s SECONDS [-S SEED] CORPUS-DIR...
 *
 * Prints the number of connections and bytes sent.  Exit status: 0, or 1
 * when the server could no longer be reached (it died or hung).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "net.h"
#include "xmalloc.h"

#define MAXSTREAM	(256 * 1024)

struct input {
	uint8_t	*p;
	size_t	 len;
};

static struct input	*inputs;
static size_t		 ninputs;
static uint64_t		 rng;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n == 0 ? 0 : (uint32_t)(rng % n);
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read every file of dir as one input. */
static void
load(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	FILE		*fp;
	char		 path[4096];
	uint8_t		 buf[65536];
	size_t		 n;

	if ((d = opendir(dir)) == NULL)
		err(2, "%s", dir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((fp = fopen(path, "rb")) == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		inputs = xreallocarray(inputs, ninputs + 1, sizeof(*inputs));
		inputs[ninputs].p = xmalloc(n + 1);
		memcpy(inputs[ninputs].p, buf, n);
		inputs[ninputs++].len = n;
	}
	closedir(d);
}

/* Append a mutated input to s (of *len bytes, at most MAXSTREAM). */
static void
add_item(uint8_t *s, size_t *len)
{
	const struct input	*in = &inputs[rnd(ninputs)];
	const struct input	*other = &inputs[rnd(ninputs)];
	size_t			 n = in->len, start = *len, i, k, at;

	if (*len + n + 64 > MAXSTREAM)
		return;
	memcpy(s + *len, in->p, n);
	*len += n;
	switch (rnd(8)) {
	case 0:		/* flip bytes */
		for (k = rnd(4) + 1; k > 0 && n > 0; k--)
			s[start + rnd(n)] ^= (uint8_t)(1 << rnd(8));
		break;
	case 1:		/* a new size field */
		if (n >= 12) {
			i = rnd(4);
			s[start + 8 + i] = (uint8_t)rnd(256);
		}
		break;
	case 2:		/* cut */
		if (n > 0)
			*len = start + rnd(n);
		break;
	case 3:		/* splice a piece of another input */
		if (other->len > 0 && n > 0) {
			at = rnd(other->len);
			k = rnd(other->len - at) + 1;
			if (*len + k < MAXSTREAM) {
				memcpy(s + *len, other->p + at, k);
				*len += k;
			}
		}
		break;
	case 4:		/* random bytes */
		for (k = rnd(32); k > 0; k--)
			s[(*len)++] = (uint8_t)rnd(256);
		break;
	default:	/* as it is */
		break;
	}
}

/* Drop whatever the server sent; 0 at its end of stream or an error. */
static int
drain(int fd)
{
	uint8_t	 buf[65536];
	ssize_t	 n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	return !(n == 0 || (n == -1 && errno != EAGAIN));
}

/* One connection; -1 if the server cannot be reached. */
static int
one(const char *host, const char *port, uint64_t *sent)
{
	struct pollfd	 pfd;
	struct linger	 lg = { 1, 0 };
	static uint8_t	 s[MAXSTREAM];
	size_t		 len = 0, off = 0, piece;
	ssize_t		 n;
	double		 until;
	int		 fd, items, open = 1;

	if ((fd = net_connect(host, port, 1000)) == -1)
		return -1;
	for (items = (int)rnd(20) + 1; items > 0; items--)
		add_item(s, &len);
	pfd.fd = fd;
	until = now() + 2;
	while (off < len && open && now() < until) {
		piece = rnd(4) == 0 ? 1 + rnd(16) : len - off;
		if (piece > len - off)
			piece = len - off;
		n = write(fd, s + off, piece);
		if (n > 0) {
			off += (size_t)n;
			*sent += (uint64_t)n;
		} else if (n == -1 && errno != EAGAIN)
			break;
		pfd.events = POLLIN | (off < len ? POLLOUT : 0);
		poll(&pfd, 1, 10);
		open = drain(fd);
	}
	switch (rnd(3)) {
	case 0:		/* reset */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		break;
	case 1:		/* half-close, read to the end (briefly) */
		shutdown(fd, SHUT_WR);
		until = now() + 0.2;
		pfd.events = POLLIN;
		while (open && now() < until) {
			poll(&pfd, 1, 10);
			open = drain(fd);
		}
		break;
	default:
		break;
	}
	close(fd);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char	*host = NULL, *port = NULL, *errstr;
	uint64_t	 sent = 0, conns = 0;
	double		 until;
	int		 ch, seconds = 0, fails = 0;

	rng = (uint64_t)time(NULL) * 2654435761U | 1;
	while ((ch = getopt(argc, argv, "h:p:s:S:")) != -1) {
		switch (ch) {
		case 'h':
			host = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case 's':
			seconds = (int)strtonum(optarg, 1, 86400, &errstr);
			if (errstr != NULL)
				errx(2, "seconds %s: %s", optarg, errstr);
			break;
		case 'S':
			rng = strtoull(optarg, NULL, 10) | 1;
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (host == NULL || port == NULL || seconds == 0 || argc == 0)
		goto usage;
	for (; argc > 0; argc--, argv++)
		load(*argv);
	if (ninputs == 0)
		errx(2, "no inputs");
	until = now() + seconds;
	while (now() < until) {
		if (one(host, port, &sent) == -1) {
			/* Out of ports or fds for a moment, or the server is
			 * gone: give up after a second of failures. */
			if (++fails > 100) {
				printf("connections %llu bytes %llu: server "
				    "unreachable\n", (unsigned long long)conns,
				    (unsigned long long)sent);
				return 1;
			}
			usleep(10000);
			continue;
		}
		fails = 0;
		conns++;
	}
	printf("connections %llu bytes %llu\n", (unsigned long long)conns,
	    (unsigned long long)sent);
	return 0;
usage:
	fprintf(stderr, "usage: gmstream -h host -p port -s seconds [-S seed] "
	    "corpus-dir...\n");
	return 2;
}
