/* Public domain. See README.md for the licence of this project. */
/*
 * GET /metrics: the Prometheus text format (version 0.0.4): per-function
 * counters and gauges, the queue wait and run time histograms, the
 * connections, the failed list, HTTP, the journal and the process
 * metrics Prometheus client libraries give.  Routing and the answer are
 * http.c's.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/time.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "compat.h"
#include "log.h"
#include "journal.h"
#include "gm-server.h"

/*
 * Append a label value: \, " and newline escaped, as the text format
 * wants; bytes that are not UTF-8 become U+FFFD.
 */
static void
prom_label(struct evbuffer *b, const char *p, size_t len)
{
	const unsigned char	*s = (const unsigned char *)p;
	size_t			 i, k, n;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\' || s[i] == '"')
			evbuffer_add_printf(b, "\\%c", s[i]);
		else if (s[i] == '\n')
			evbuffer_add(b, "\\n", 2);
		else if (s[i] < 0x80)
			evbuffer_add(b, s + i, 1);
		else {
			n = s[i] >= 0xf0 && s[i] < 0xf5 ? 3 : s[i] >= 0xe0 ?
			    2 : s[i] >= 0xc2 && s[i] < 0xe0 ? 1 : 0;
			if (s[i] >= 0xf5)
				n = 0;
			for (k = 1; k <= n && i + k < len; k++)
				if ((s[i + k] & 0xc0) != 0x80)
					break;
			if (n == 0 || k <= n) {
				evbuffer_add(b, "\xef\xbf\xbd", 3);
				continue;
			}
			evbuffer_add(b, s + i, n + 1);
			i += n;
		}
	}
}

/* The function label of a series. */
static void
prom_func(struct evbuffer *b, const struct func *f)
{
	evbuffer_add(b, "function=\"", 10);
	prom_label(b, f->f_name, f->f_len);
	evbuffer_add(b, "\"", 1);
}

struct metric {
	const char	*name;
	const char	*type;
	const char	*help;
	int		 which;
};

/* Per-function series, one metric family at a time. */
static const struct metric func_metrics[] = {
	{ "gm_jobs_submitted_total", "counter",
	    "Jobs submitted (not coalesced onto another) since start.",
	    FE_SUBMITTED },
	{ "gm_jobs_completed_total", "counter",
	    "Jobs that ended with WORK_COMPLETE since start.", FE_COMPLETED },
	{ "gm_jobs_failed_total", "counter",
	    "Jobs that ended with WORK_FAIL or ran out of attempts.",
	    FE_FAILED },
	{ "gm_jobs_exceptions_total", "counter",
	    "Jobs that ended with WORK_EXCEPTION since start.", FE_EXCEPTIONS },
	{ "gm_jobs_retried_total", "counter",
	    "Jobs put back in their queue after a lost run.", FE_RETRIED },
	{ "gm_jobs_cancelled_total", "counter",
	    "Jobs cancelled by an admin since start.", FE_CANCELLED },
	{ "gm_jobs_queued", "gauge",
	    "Jobs waiting in the queue, by priority.", -1 },
	{ "gm_jobs_running", "gauge", "Jobs given to a worker.", -2 },
	{ "gm_workers", "gauge", "Workers registered for the function.", -3 },
	{ "gm_queue_max", "gauge",
	    "Queue limit by priority (maxqueue), 0 for none.", -4 },
};

struct prom {
	struct evbuffer		*b;
	const struct metric	*m;
	int			 run;	/* histograms: 0 wait, 1 run */
};

static void
prom_one(struct func *f, void *arg)
{
	static const char *const prio[PRIO_COUNT] = { "high", "normal",
	    "low" };
	struct prom	*pr = arg;
	struct evbuffer	*b = pr->b;
	int		 i;

	switch (pr->m->which) {
	case -1:
	case -4:
		for (i = 0; i < PRIO_COUNT; i++) {
			evbuffer_add_printf(b, "%s{", pr->m->name);
			prom_func(b, f);
			evbuffer_add_printf(b, ",priority=\"%s\"} %u\n",
			    prio[i], pr->m->which == -1 ? f->f_queued[i] :
			    f->f_maxq[i]);
		}
		return;
	default:
		evbuffer_add_printf(b, "%s{", pr->m->name);
		prom_func(b, f);
		if (pr->m->which == -2)
			evbuffer_add_printf(b, "} %u\n", f->f_running);
		else if (pr->m->which == -3)
			evbuffer_add_printf(b, "} %u\n", f->f_nregs);
		else
			evbuffer_add_printf(b, "} %" PRIu64 "\n",
			    func_stats(f)->fs_n[pr->m->which]);
	}
}

/*
 * One histogram's series from bucket counts (not cumulative; the last is
 * +Inf) and their bounds in microseconds.  f labels them with its
 * function, or NULL for none.
 */
static void
prom_buckets(struct evbuffer *b, const char *name, const struct func *f,
    const uint64_t *count, const uint64_t *bounds_us, int nb, uint64_t sum_us)
{
	uint64_t	 cum = 0;
	int		 i;

	for (i = 0; i < nb; i++) {
		cum += count[i];
		evbuffer_add_printf(b, "%s_bucket{", name);
		if (f != NULL) {
			prom_func(b, f);
			evbuffer_add(b, ",", 1);
		}
		if (i < nb - 1)
			evbuffer_add_printf(b, "le=\"%g\"} %" PRIu64 "\n",
			    (double)bounds_us[i] / 1e6, cum);
		else
			evbuffer_add_printf(b, "le=\"+Inf\"} %" PRIu64 "\n",
			    cum);
	}
	evbuffer_add_printf(b, "%s_sum", name);
	if (f != NULL) {
		evbuffer_add(b, "{", 1);
		prom_func(b, f);
		evbuffer_add(b, "}", 1);
	}
	evbuffer_add_printf(b, " %.6f\n%s_count", (double)sum_us / 1e6, name);
	if (f != NULL) {
		evbuffer_add(b, "{", 1);
		prom_func(b, f);
		evbuffer_add(b, "}", 1);
	}
	evbuffer_add_printf(b, " %" PRIu64 "\n", cum);
}

static void
prom_hist(struct func *f, void *arg)
{
	struct prom		*pr = arg;
	const struct func_stats	*st = func_stats(f);
	const struct hist	*h = pr->run ? &st->fs_run : &st->fs_wait;

	prom_buckets(pr->b, pr->m->name, f, h->h_count, hist_bounds_us,
	    HIST_BUCKETS, h->h_sum_us);
}

struct conn_kinds {
	uint64_t	 worker, client, other;
};

static void
count_kind(struct conn *c, void *arg)
{
	struct conn_kinds	*k = arg;

	if (c->c_nregs > 0)
		k->worker++;
	else if (!LIST_EMPTY(&c->c_attached))
		k->client++;
	else
		k->other++;
}

/* A metric family header. */
static void
prom_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* A metric with one unlabelled sample. */
static void
prom_u64(struct evbuffer *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	prom_family(b, name, type, help);
	evbuffer_add_printf(b, "%s %" PRIu64 "\n", name, v);
}

/* A gauge of seconds, from microseconds. */
static void
prom_secs(struct evbuffer *b, const char *name, const char *help,
    uint64_t us)
{
	prom_family(b, name, "gauge", help);
	evbuffer_add_printf(b, "%s %.6f\n", name, (double)us / 1e6);
}

/* The process metrics Prometheus client libraries give. */
static void
prom_process(struct evbuffer *b)
{
	struct rusage	 ru;
	struct rlimit	 rl;
	struct dirent	*de;
	DIR		*d;
	FILE		*f;
	unsigned long	 vm = 0, rss = 0;
	long		 page = sysconf(_SC_PAGESIZE);
	int		 fds = 0;

	getrusage(RUSAGE_SELF, &ru);
	prom_family(b, "process_cpu_seconds_total", "counter",
	    "User and system CPU time spent in seconds.");
	evbuffer_add_printf(b, "process_cpu_seconds_total %.6f\n",
	    (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	if ((f = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(f, "%lu %lu", &vm, &rss) != 2)
			vm = rss = 0;
		fclose(f);
	}
	prom_u64(b, "process_resident_memory_bytes", "gauge",
	    "Resident memory size in bytes.", (uint64_t)rss * page);
	prom_u64(b, "process_virtual_memory_bytes", "gauge",
	    "Virtual memory size in bytes.", (uint64_t)vm * page);
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				fds++;
		closedir(d);
		fds--;	/* the directory itself */
	}
	prom_u64(b, "process_open_fds", "gauge",
	    "Number of open file descriptors.", (uint64_t)fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		prom_u64(b, "process_max_fds", "gauge",
		    "Maximum number of open file descriptors.",
		    (uint64_t)rl.rlim_cur);
	prom_u64(b, "process_start_time_seconds", "gauge",
	    "Start time of the process since the epoch in seconds.",
	    (uint64_t)server_started());
}

/* GET /metrics: the Prometheus text format (version 0.0.4). */
void
http_metrics(struct evhttp_request *req)
{
	static const struct metric hists[] = {
		{ "gm_job_queue_wait_seconds", "histogram",
		    "Time from queueing to being given to a worker.", 0 },
		{ "gm_job_run_seconds", "histogram",
		    "Time from being given to a worker to the end.", 1 },
	};
	struct evbuffer		*b = evbuffer_new();
	struct journal_stats	 js;
	struct failed_stats	 fs;
	struct conn_kinds	 k;
	struct prom		 pr;
	size_t			 i;

	prom_family(b, "gm_build_info", "gauge",
	    "The gm-server version, always 1.");
	evbuffer_add_printf(b, "gm_build_info{version=\"%s\"} 1\n",
	    GM_VERSION);
	pr.b = b;
	for (i = 0; i < nitems(func_metrics); i++) {
		pr.m = &func_metrics[i];
		prom_family(b, pr.m->name, pr.m->type, pr.m->help);
		func_foreach(prom_one, &pr);
	}
	for (i = 0; i < nitems(hists); i++) {
		pr.m = &hists[i];
		pr.run = hists[i].which;
		prom_family(b, pr.m->name, pr.m->type, pr.m->help);
		func_foreach(prom_hist, &pr);
	}

	memset(&k, 0, sizeof(k));
	conn_foreach(count_kind, &k);
	prom_family(b, "gm_connections", "gauge", "Open Gearman connections "
	    "by kind: workers (registered a function), clients (wait on a "
	    "job), other (admin, idle).");
	evbuffer_add_printf(b, "gm_connections{kind=\"worker\"} %" PRIu64 "\n"
	    "gm_connections{kind=\"client\"} %" PRIu64 "\n"
	    "gm_connections{kind=\"other\"} %" PRIu64 "\n", k.worker, k.client,
	    k.other);
	failed_stats(&fs);
	prom_u64(b, "gm_failed_jobs", "gauge",
	    "Jobs in the failed list.", fs.count);
	prom_u64(b, "gm_failed_jobs_bytes", "gauge",
	    "Payload and error bytes held by the failed list.", fs.bytes);
	prom_u64(b, "gm_failed_jobs_evicted_total", "counter",
	    "Failed jobs pushed out of the list by its bounds since start.",
	    fs.evicted);
	prom_u64(b, "gm_jobs_retrying", "gauge",
	    "Failed background jobs waiting for their next try.", fs.retrying);
	prom_u64(b, "gm_http_requests_total", "counter",
	    "HTTP requests routed since start.", nrequests);
	prom_u64(b, "gm_http_requests_rejected_total", "counter",
	    "HTTP requests refused with a 4xx since start.", nrejected);

	journal_stats(jnl, &js);
	prom_u64(b, "gm_journal_enabled", "gauge",
	    "1 if background jobs are journaled.", (uint64_t)js.enabled);
	prom_u64(b, "gm_journal_bytes", "gauge",
	    "Size of the journal files in bytes.", js.bytes);
	prom_u64(b, "gm_journal_live_records", "gauge",
	    "Journal records of jobs still pending.", js.live);
	prom_u64(b, "gm_journal_dead_records", "gauge",
	    "Journal records of ended jobs not compacted yet.", js.dead);
	prom_u64(b, "gm_journal_flushes_total", "counter",
	    "Journal batches written (and synced per the sync mode).",
	    js.flushes);
	prom_secs(b, "gm_journal_last_flush_seconds",
	    "Duration of the latest journal flush.", js.last_flush_us);
	prom_secs(b, "gm_journal_peak_flush_seconds",
	    "Duration of the slowest journal flush since start.",
	    js.peak_flush_us);
	prom_family(b, "gm_journal_flush_seconds", "histogram",
	    "Duration of journal flushes (write, and sync per the mode).");
	prom_buckets(b, "gm_journal_flush_seconds", NULL, js.flush_hist,
	    journal_flush_bounds_us, JOURNAL_FLUSH_BUCKETS, js.flush_sum_us);
	prom_u64(b, "gm_journal_compactions_total", "counter",
	    "Journal compactions since start.", js.compactions);
	prom_u64(b, "gm_journal_write_errors_total", "counter",
	    "Journal writes that failed since start.", js.write_errors);
	prom_process(b);

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	http_reply(req, 200, "OK", NULL, b);
	evbuffer_free(b);
}
