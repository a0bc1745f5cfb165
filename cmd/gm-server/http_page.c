/* Public domain. See README.md for the licence of this project. */
/*
 * GET /: the HTML status page (functions, workers, running jobs, the
 * failed list and the journal), built from the same accessors admin.c
 * uses, with the text of every name escaped.  Routing, the answer and
 * its headers are http.c's.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "compat.h"
#include "log.h"
#include "journal.h"
#include "gm-server.h"

/* Append bytes to HTML, escaped; control bytes become U+FFFD. */
static void
html_esc(struct evbuffer *b, const char *p, size_t len)
{
	static const char	 special[] = "&<>\"'";
	static const char *const entity[] = { "&amp;", "&lt;", "&gt;",
	    "&quot;", "&#39;" };
	const char		*q;
	size_t			 i;

	for (i = 0; i < len; i++) {
		if (p[i] != '\0' && (q = strchr(special, p[i])) != NULL)
			evbuffer_add(b, entity[q - special],
			    strlen(entity[q - special]));
		else if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			evbuffer_add(b, "&#xfffd;", 8);
		else
			evbuffer_add(b, p + i, 1);
	}
}

/* A duration for people: 45s, 3m 12s, 2h 5m, 4d 3h. */
static void
age_str(char *buf, size_t len, int64_t s)
{
	if (s < 60)
		snprintf(buf, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm %llds", (long long)s / 60,
		    (long long)s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh %lldm", (long long)s / 3600,
		    (long long)s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd %lldh", (long long)s / 86400,
		    (long long)s % 86400 / 3600);
}

static const char page_head[] =
"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
"<title>gm-server %s</title>\n<style>\n"
":root{--fg:#1d232b;--mut:#5b6672;--bg:#f6f7f9;--card:#fff;--line:#dde1e6;"
"--acc:#2364d2;--bad:#c0392b;--ok:#1e8449}\n"
"*{box-sizing:border-box}\n"
"body{margin:0;font:15px/1.45 system-ui,-apple-system,\"Segoe UI\","
"sans-serif;color:var(--fg);background:var(--bg)}\n"
"header{background:#1d232b;color:#fff;padding:.8rem 1.2rem}\n"
"header h1{margin:0;font-size:1.25rem;font-weight:600}\n"
"header p{margin:.2rem 0 0;color:#c4ccd6;font-size:.85rem}\n"
"main{max-width:90rem;margin:0 auto;padding:1rem}\n"
"section{background:var(--card);border:1px solid var(--line);"
"border-radius:8px;margin:0 0 1rem;padding:.8rem 1rem;overflow-x:auto}\n"
"h2{font-size:1rem;margin:0 0 .6rem}\n"
"table{border-collapse:collapse;width:100%%}\n"
"th,td{padding:.35rem .45rem;border-bottom:1px solid var(--line);"
"text-align:left;white-space:nowrap}\n"
"th{font-size:.7rem;text-transform:uppercase;letter-spacing:.03em;"
"color:var(--mut);white-space:normal;vertical-align:bottom}\n"
"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\n"
"td.bad{color:var(--bad);font-weight:600}\n"
".empty{color:var(--mut);margin:0}\n"
".sum{margin:0 0 .5rem;color:var(--mut)}\n"
"td.err{white-space:normal;overflow-wrap:anywhere;min-width:12rem;"
"color:var(--bad)}\n"
"td.act{white-space:nowrap}td.act form{display:inline;margin:0 .3rem 0 0}\n"
"button{font:inherit;font-size:.85rem;padding:.2rem .7rem;border-radius:4px;"
"border:1px solid var(--acc);background:var(--card);color:var(--acc);"
"cursor:pointer}\n"
"button.purge{border-color:var(--bad);color:var(--bad)}\n"
".bar{display:inline-block;width:8rem;height:.6rem;background:var(--line);"
"border-radius:4px;overflow:hidden;vertical-align:middle}\n"
".bar i{display:block;height:100%%;background:var(--acc)}\n"
"dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;"
"margin:0}\n"
"dt{color:var(--mut)}dd{margin:0;font-variant-numeric:tabular-nums}\n"
"footer{color:var(--mut);font-size:.8rem;text-align:center;"
"padding:0 1rem 1.5rem}\n"
"footer a{color:var(--acc)}\n"
"@media (max-width:640px){main{padding:.5rem}"
"section{padding:.6rem}"
"table,tbody,tr,td{display:block;width:100%%}thead{display:none}"
"tr{border-bottom:2px solid var(--line);padding:.3rem 0;display:grid;"
"grid-template-columns:1fr 1fr;column-gap:1.2rem}"
"td{border:0;padding:.15rem 0;display:flex;justify-content:space-between;"
"white-space:normal;min-width:0;overflow-wrap:anywhere}"
"td:first-child{grid-column:1/-1;font-weight:600}"
"td::before{content:attr(data-label);color:var(--mut);font-size:.8rem;"
"margin-right:1rem;flex-shrink:0}td.n{text-align:right}"
"td.when,td.err,td.act{grid-column:1/-1}td.err{display:block}"
"td.err::before{display:block}td.act{padding-top:.3rem;"
"justify-content:flex-start}}\n"
"</style></head><body>\n";

static const char page_tail[] =
"<footer>JSON: <a href=\"/api/status\">/api/status</a> "
"<a href=\"/api/priority-status\">priority-status</a> "
"<a href=\"/api/workers\">workers</a> <a href=\"/api/members\">members</a> "
"<a href=\"/api/jobs\">jobs</a> "
"<a href=\"/api/stats\">stats</a> <a href=\"/api/journal\">journal</a> "
"<a href=\"/api/failed\">failed</a>"
" &middot; <a href=\"/metrics\">/metrics</a></footer>\n"
"<script>\n"
"(function(){\n"
"  async function tick(){\n"
"    try{\n"
"      const r=await fetch(location.pathname,{cache:'no-store'});\n"
"      if(!r.ok)return;\n"
"      const d=new DOMParser().parseFromString(await r.text(),'text/html');\n"
"      for(const id of ['meta','m']){\n"
"        const n=d.getElementById(id);\n"
"        if(n)document.getElementById(id).replaceWith(n);\n"
"      }\n"
"    }catch(e){}\n"
"  }\n"
"  setInterval(tick,2000);\n"
"})();\n"
"</script>\n</body></html>\n";

/* A table cell with a number: data-f/data-c name it for scripts. */
static void
cell_num(struct evbuffer *b, const struct func *f, const char *key,
    const char *label, uint64_t v, int bad)
{
	evbuffer_add_printf(b, "<td class=\"n%s\" data-label=\"%s\" "
	    "data-f=\"", bad && v > 0 ? " bad" : "", label);
	html_esc(b, f->f_name, f->f_len);
	evbuffer_add_printf(b, "\" data-c=\"%s\">%" PRIu64 "</td>", key, v);
}

static void
page_func(struct func *f, void *arg)
{
	struct evbuffer		*b = arg;
	const struct func_stats	*st = func_stats(f);
	int64_t			 t = queue_oldest_us(f);
	char			 age[32];

	evbuffer_add(b, "<tr><td data-label=\"Function\">", 30);
	html_esc(b, f->f_name, f->f_len);
	evbuffer_add(b, "</td>", 5);
	cell_num(b, f, "total", "Jobs", f->f_total, 0);
	cell_num(b, f, "high", "High", f->f_queued[PRIO_HIGH], 0);
	cell_num(b, f, "normal", "Normal", f->f_queued[PRIO_NORMAL], 0);
	cell_num(b, f, "low", "Low", f->f_queued[PRIO_LOW], 0);
	cell_num(b, f, "running", "Running", f->f_running, 0);
	cell_num(b, f, "workers", "Workers", f->f_nregs, 0);
	cell_num(b, f, "submitted", "Submitted", st->fs_n[FE_SUBMITTED], 0);
	cell_num(b, f, "completed", "Done", st->fs_n[FE_COMPLETED], 0);
	cell_num(b, f, "failed", "Failed", st->fs_n[FE_FAILED], 1);
	cell_num(b, f, "exceptions", "Exceptions", st->fs_n[FE_EXCEPTIONS],
	    1);
	cell_num(b, f, "retried", "Retried", st->fs_n[FE_RETRIED], 0);
	cell_num(b, f, "cancelled", "Cancelled", st->fs_n[FE_CANCELLED], 0);
	if (t == -1)
		strlcpy(age, "-", sizeof(age));
	else
		age_str(age, sizeof(age), (timer_mono_us() - t) / 1000000);
	evbuffer_add_printf(b, "<td class=\"n\" data-label=\"Oldest queued\">"
	    "%s</td></tr>\n", age);
}

static void
page_worker(struct conn *c, void *arg)
{
	struct evbuffer	*b = arg;
	const char	*id = conn_client_id(c);
	struct reg	*r;

	if (c->c_nregs == 0)
		return;
	evbuffer_add_printf(b, "<tr><td class=\"n\" data-label=\"FD\">%d</td>"
	    "<td data-label=\"Address\">", c->c_fd);
	html_esc(b, c->c_peer, strlen(c->c_peer));
	evbuffer_add(b, "</td><td data-label=\"Client id\">", 32);
	html_esc(b, id, strlen(id));
	evbuffer_add(b, "</td><td data-label=\"Functions\">", 32);
	TAILQ_FOREACH(r, &c->c_regs, r_wentry) {
		html_esc(b, r->r_func->f_name, r->r_func->f_len);
		if (TAILQ_NEXT(r, r_wentry) != NULL)
			evbuffer_add(b, " ", 1);
	}
	evbuffer_add(b, "</td></tr>\n", 11);
}

struct page_jobs {
	struct evbuffer	*b;
	int		 n;
};

static void
page_job(struct job *j, void *arg)
{
	struct page_jobs	*pj = arg;
	struct evbuffer		*b = pj->b;
	struct conn		*w;
	char			 h[GM_HANDLE_SIZE], age[32];
	unsigned		 pct = 0;

	if (j->j_state != JOB_RUNNING)
		return;
	if (pj->n++ == 0)
		evbuffer_add_printf(b, "<table><thead><tr><th>Handle</th>"
		    "<th>Function</th><th>Worker</th><th>Progress</th>"
		    "<th class=\"n\">Running for</th></tr></thead><tbody>\n");
	w = j->j_u.worker;
	queue_handle(j, h, sizeof(h));
	if (j->j_denominator > 0)
		pct = (unsigned)((uint64_t)(j->j_numerator >
		    j->j_denominator ? j->j_denominator : j->j_numerator) *
		    100 / j->j_denominator);
	age_str(age, sizeof(age), (timer_mono_us() - j->j_since) / 1000000);
	evbuffer_add(b, "<tr><td data-label=\"Handle\">", 28);
	html_esc(b, h, strlen(h));
	evbuffer_add(b, "</td><td data-label=\"Function\">", 31);
	html_esc(b, j->j_func->f_name, j->j_func->f_len);
	evbuffer_add(b, "</td><td data-label=\"Worker\">", 29);
	html_esc(b, conn_client_id(w), strlen(conn_client_id(w)));
	evbuffer_add_printf(b, " (%s)</td><td data-label=\"Progress\">",
	    w->c_peer);
	if (j->j_denominator > 0)
		evbuffer_add_printf(b, "<span class=\"bar\" role=\"progressbar\" "
		    "aria-valuenow=\"%u\" aria-valuemin=\"0\" "
		    "aria-valuemax=\"100\"><i style=\"width:%u%%\"></i></span>"
		    " %u/%u", pct, pct, j->j_numerator, j->j_denominator);
	else
		evbuffer_add(b, "-", 1);
	evbuffer_add_printf(b, "</td><td class=\"n\" data-label=\"Running for\">"
	    "%s</td></tr>\n", age);
}

/* A queued broadcast job: a row naming the member it waits for. */
static void
page_targeted(struct job *j, void *arg)
{
	struct page_jobs	*pj = arg;
	struct evbuffer		*b = pj->b;
	char			 h[GM_HANDLE_SIZE], age[32];

	if (pj->n++ == 0)
		evbuffer_add_printf(b, "<table><thead><tr><th>Handle</th>"
		    "<th>Function</th><th>Member</th>"
		    "<th class=\"n\">Waiting for</th></tr></thead><tbody>\n");
	queue_handle(j, h, sizeof(h));
	age_str(age, sizeof(age), (timer_mono_us() - j->j_since) / 1000000);
	evbuffer_add(b, "<tr><td data-label=\"Handle\">", 28);
	html_esc(b, h, strlen(h));
	evbuffer_add(b, "</td><td data-label=\"Function\">", 31);
	html_esc(b, j->j_func->f_name, j->j_func->f_len);
	evbuffer_add(b, "</td><td data-label=\"Member\">", 29);
	html_esc(b, j->j_target, strlen(j->j_target));
	evbuffer_add_printf(b, "</td><td class=\"n\" data-label=\"Waiting "
	    "for\">%s</td></tr>\n", age);
}

#define PAGE_FAILED_MAX	50	/* failed jobs listed; /api/failed has all */

struct page_failed {
	struct evbuffer	*b;
	uint64_t	 n;
};

/* One failed job: a row with Retry and Purge forms for its handle. */
static void
page_failed(const struct failed_info *fi, void *arg)
{
	struct page_failed	*pf = arg;
	struct evbuffer		*b = pf->b;
	char			 h[GM_HANDLE_SIZE], when[32], *u;
	const char		*e, *end, *nl;
	time_t			 t = (time_t)(fi->last / 1000);
	static const char *const act[] = { "retry", "Retry", "purge",
	    "Purge" };
	int			 i;

	if (pf->n++ >= PAGE_FAILED_MAX)
		return;
	queue_handle_num(fi->num, h, sizeof(h));
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
	evbuffer_add(b, "<tr><td data-label=\"Function\">", 30);
	html_esc(b, fi->job.func, fi->job.func_len);
	evbuffer_add(b, "</td><td data-label=\"Handle\">", 29);
	html_esc(b, h, strlen(h));
	evbuffer_add_printf(b, "</td><td class=\"n\" data-label=\"Tries\">%u"
	    "</td><td class=\"when\" data-label=\"Last failure\">%s</td>"
	    "<td class=\"err\" data-label=\"Error\">", fi->tries, when);
	/* The error's lines (a worker's stderr) as lines. */
	for (e = fi->error, end = e + fi->error_len; e < end; e = nl + 1) {
		if ((nl = memchr(e, '\n', end - e)) == NULL)
			nl = end;
		if (e > fi->error)
			evbuffer_add(b, "<br>", 4);
		html_esc(b, e, nl - e);
	}
	evbuffer_add_printf(b, "</td><td class=\"act\" data-label=\"\">");
	if ((u = evhttp_uriencode(h, -1, 0)) == NULL)
		fatalx("http: evhttp_uriencode");
	for (i = 0; i < 4; i += 2) {
		evbuffer_add_printf(b, "<form method=\"post\" "
		    "action=\"/api/failed/%s/", act[i]);
		html_esc(b, u, strlen(u));
		evbuffer_add_printf(b, "\"><button class=\"%s\">%s</button>"
		    "</form>", act[i], act[i + 1]);
	}
	free(u);
	evbuffer_add(b, "</td></tr>\n", 11);
}

/* The failed list's section: its figures and its first rows. */
static void
page_failed_list(struct evbuffer *b)
{
	struct failed_stats	 fs;
	struct page_failed	 pf;

	failed_stats(&fs);
	evbuffer_add_printf(b, "<section><h2>Failed jobs</h2>\n<p class=\"sum\">"
	    "<span data-x=\"count\">%" PRIu64 "</span> in the list "
	    "(<span data-x=\"bytes\">%" PRIu64 "</span> bytes), "
	    "<span data-x=\"retrying\">%" PRIu64 "</span> waiting for a "
	    "retry, <span data-x=\"evicted\">%" PRIu64 "</span> evicted "
	    "since start</p>\n", fs.count, fs.bytes, fs.retrying, fs.evicted);
	if (fs.count == 0) {
		evbuffer_add_printf(b, "</section>\n");
		return;
	}
	evbuffer_add_printf(b, "<table><thead><tr><th>Function</th>"
	    "<th>Handle</th><th class=\"n\">Tries</th><th>Last failure</th>"
	    "<th>Error</th><th></th></tr></thead><tbody>\n");
	pf.b = b;
	pf.n = 0;
	failed_foreach(NULL, 0, page_failed, &pf);
	evbuffer_add_printf(b, "</tbody></table>");
	if (pf.n > PAGE_FAILED_MAX)
		evbuffer_add_printf(b, "<p class=\"empty\">%" PRIu64 " more in "
		    "<a href=\"/api/failed\">/api/failed</a></p>",
		    pf.n - PAGE_FAILED_MAX);
	evbuffer_add_printf(b, "</section>\n");
}

/* GET /: the status page, built from the accessors admin uses. */
void
http_page(struct evhttp_request *req)
{
	struct evbuffer		*b = evbuffer_new();
	struct journal_stats	 js;
	struct page_jobs	 pj;
	char			 up[32], now[32];
	time_t			 t = time(NULL);

	age_str(up, sizeof(up), (int64_t)(t - server_started()));
	strftime(now, sizeof(now), "%H:%M:%S", localtime(&t));
	evbuffer_add_printf(b, page_head, listen_name());
	evbuffer_add_printf(b, "<header><h1>gm-server %s</h1><p id=\"meta\">"
	    "version %s &middot; pid %ld &middot; up %s &middot; "
	    "updated %s</p></header>\n<main id=\"m\">\n", listen_name(),
	    GM_VERSION, (long)getpid(), up, now);

	evbuffer_add_printf(b, "<section><h2>Functions</h2>\n");
	evbuffer_add_printf(b, "<table><thead><tr><th>Function</th>"
	    "<th class=\"n\">Jobs</th><th class=\"n\">High</th>"
	    "<th class=\"n\">Normal</th><th class=\"n\">Low</th>"
	    "<th class=\"n\">Running</th><th class=\"n\">Workers</th>"
	    "<th class=\"n\">Submitted</th><th class=\"n\">Done</th>"
	    "<th class=\"n\">Failed</th><th class=\"n\">Exceptions</th>"
	    "<th class=\"n\">Retried</th><th class=\"n\">Cancelled</th>"
	    "<th class=\"n\">Oldest queued</th></tr></thead><tbody>\n");
	func_foreach(page_func, b);
	evbuffer_add_printf(b, "</tbody></table></section>\n");

	evbuffer_add_printf(b, "<section><h2>Workers</h2>\n<table><thead><tr>"
	    "<th class=\"n\">FD</th><th>Address</th><th>Client id</th>"
	    "<th>Functions</th></tr></thead><tbody>\n");
	conn_foreach(page_worker, b);
	evbuffer_add_printf(b, "</tbody></table></section>\n");

	evbuffer_add_printf(b, "<section><h2>Running jobs</h2>\n");
	pj.b = b;
	pj.n = 0;
	queue_foreach_job(page_job, &pj);
	if (pj.n == 0)
		evbuffer_add_printf(b, "<p class=\"empty\">No job is "
		    "running.</p>");
	else
		evbuffer_add_printf(b, "</tbody></table>");
	evbuffer_add_printf(b, "</section>\n");

	/* Broadcast jobs held for their member, when there are any. */
	pj.b = evbuffer_new();
	pj.n = 0;
	bcast_foreach(page_targeted, &pj);
	if (pj.n > 0) {
		evbuffer_add_printf(b, "<section><h2>Broadcast jobs waiting for "
		    "their member</h2>\n");
		evbuffer_add_buffer(b, pj.b);
		evbuffer_add_printf(b, "</tbody></table></section>\n");
	}
	evbuffer_free(pj.b);

	page_failed_list(b);

	journal_stats(jnl, &js);
	evbuffer_add_printf(b, "<section><h2>Journal</h2>\n<dl>");
	if (!js.enabled)
		evbuffer_add_printf(b, "<dt>journal</dt><dd data-j=\"enabled\">"
		    "off: background jobs are kept in memory only</dd>");
	else {
		evbuffer_add_printf(b, "<dt>folder</dt><dd>");
		html_esc(b, js.dir, strlen(js.dir));
		evbuffer_add_printf(b, "</dd><dt>sync</dt><dd>%s</dd>"
		    "<dt>size</dt><dd data-j=\"bytes\">%" PRIu64 "</dd>"
		    "<dt>live records</dt><dd data-j=\"live\">%" PRIu64 "</dd>"
		    "<dt>dead records</dt><dd data-j=\"dead\">%" PRIu64 "</dd>"
		    "<dt>flushes</dt><dd data-j=\"flushes\">%" PRIu64 "</dd>"
		    "<dt>last flush</dt><dd>%" PRIu64 " &micro;s</dd>"
		    "<dt>slowest flush</dt><dd>%" PRIu64 " &micro;s</dd>"
		    "<dt>compactions</dt><dd>%" PRIu64 "</dd>"
		    "<dt>write errors</dt><dd data-j=\"write_errors\">%" PRIu64
		    "</dd>", js.sync != NULL ? js.sync : "none", js.bytes,
		    js.live, js.dead, js.flushes, js.last_flush_us,
		    js.peak_flush_us, js.compactions, js.write_errors);
	}
	evbuffer_add_printf(b, "</dl></section>\n</main>\n");
	evbuffer_add(b, page_tail, sizeof(page_tail) - 1);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/html; charset=utf-8");
	http_reply(req, 200, "OK", NULL, b);
	evbuffer_free(b);
}
