/* Public domain. See README.md for the licence of this project. */
/*
 * gm-server: start-up in the order of an OpenBSD daemon (logging, what
 * needs root, the journal as the user, then the user for good),
 * privileges, the pid file, detaching, journal replay, signals, the
 * event loop and the orderly shutdown.  The options are config.c's.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libutil.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "journal.h"
#include "gm-server.h"

static void	drop_privileges(void);
static void	become_user(void);
static void	prepare_journal_dir(void);
static __dead void startup_fail(void);
static void	detach_begin(void);
static void	detach_end(void);
static void	on_signal(evutil_socket_t, short, void *);
static void	on_graceful(evutil_socket_t, short, void *);
static void	replay_job(const struct journal_job *, void *);

struct config		 conf;
struct counters		 counters;
struct event_base	*base;
struct journal		*jnl;

static struct pidfh	*pfh;
static struct passwd	*user_pw;	/* -u, looked up while root */
static int		 ready_fd = -1;	/* -d: tells the parent we serve */
static int		 stopping;
static time_t		 started;	/* wall clock at start-up */
static struct event	*graceful_ev;

/*
 * Run as -u's user for now, keeping the way back to root, so what the
 * journal creates is the user's; threads started now follow the later
 * drop_privileges.
 */
static void
become_user(void)
{
	if (setegid(user_pw->pw_gid) == -1 ||
	    seteuid(user_pw->pw_uid) == -1) {
		log_warn("cannot become user %s", conf.user);
		startup_fail();
	}
}

/* Become -u's user for good. */
static void
drop_privileges(void)
{
	if (seteuid(0) == -1 ||
	    setgroups(1, &user_pw->pw_gid) == -1 ||
	    setresgid(user_pw->pw_gid, user_pw->pw_gid, user_pw->pw_gid) == -1 ||
	    setresuid(user_pw->pw_uid, user_pw->pw_uid, user_pw->pw_uid) == -1) {
		log_warn("cannot become user %s", conf.user);
		startup_fail();
	}
}

/*
 * With -u as root: a journal folder that does not exist yet is made now,
 * as root (its parent, such as /var/lib, is root's), and given to the user.
 */
static void
prepare_journal_dir(void)
{
	if (conf.journal_dir == NULL || geteuid() != 0)
		return;
	if (mkdir(conf.journal_dir, 0750) == -1) {
		if (errno == EEXIST)
			return;
		log_warn("journal directory %s", conf.journal_dir);
		startup_fail();
	}
	if (chown(conf.journal_dir, user_pw->pw_uid, user_pw->pw_gid) == -1) {
		log_warn("journal directory %s: chown to %s", conf.journal_dir,
		    conf.user);
		startup_fail();
	}
}

/*
 * A start-up check failed (its reason is logged, and on stderr): remove
 * the pid file we made, as root again if we can, and exit 1.
 */
static __dead void
startup_fail(void)
{
	if (pfh != NULL) {
		if (user_pw != NULL && geteuid() != 0)
			(void)seteuid(0);
		pidfile_remove(pfh);
		pfh = NULL;
	}
	exit(1);
}

/*
 * -d: fork before any check runs.  The parent waits until the child says
 * it serves (exit 0) or ends (exit with its status), so every start-up
 * failure reaches the terminal and the exit status.  Only the child
 * returns.
 */
static void
detach_begin(void)
{
	pid_t	 pid;
	ssize_t	 n;
	char	 c;
	int	 p[2], status;

	if (pipe2(p, O_CLOEXEC) == -1)
		err(1, "pipe");
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		close(p[0]);
		ready_fd = p[1];
		if (setsid() == -1)
			err(1, "setsid");
		return;
	}
	close(p[1]);
	while ((n = read(p[0], &c, 1)) == -1 && errno == EINTR)
		;
	if (n == 1)
		_exit(0);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
	fprintf(stderr, "%s: ended by signal %d while starting\n",
	    getprogname(), WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	_exit(1);
}

/* -d: every check passed; leave the terminal and let the parent go. */
static void
detach_end(void)
{
	int	 fd;

	if (ready_fd == -1)
		return;
	if (chdir("/") == -1)
		log_warn("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (write(ready_fd, "", 1) != 1)
		log_warn("cannot tell the parent we started");
	close(ready_fd);
	ready_fd = -1;
}

/* SIGTERM, SIGINT: stop; SIGHUP: reopen the log; SIGUSR1: graceful. */
static void
on_signal(evutil_socket_t sig, short what __unused, void *arg __unused)
{
	switch (sig) {
	case SIGHUP:
		if (log_reopen() == -1)
			log_warn("reopen log file %s", conf.logfile);
		else
			log_info("log file reopened");
		break;
	case SIGUSR1:
		server_shutdown(1);
		break;
	default:
		log_info("received signal %d, stopping", (int)sig);
		server_shutdown(0);
		break;
	}
}

/* While stopping gracefully: exit once no job runs. */
static void
on_graceful(evutil_socket_t fd __unused, short what __unused,
    void *arg __unused)
{
	if (queue_running() == 0) {
		log_info("graceful shutdown: no job running, stopping");
		event_base_loopbreak(base);
	}
}

/*
 * Stop the server: at once, or gracefully (no new connections; exit once
 * no job is running).
 */
void
server_shutdown(int graceful)
{
	struct timeval	 tv = { 0, 100000 };

	if (!graceful) {
		event_base_loopbreak(base);
		return;
	}
	if (stopping)
		return;
	stopping = 1;
	log_info("graceful shutdown: no longer accepting connections");
	listen_stop();
	http_stop();
	graceful_ev = event_new(base, -1, EV_PERSIST, on_graceful, NULL);
	event_add(graceful_ev, &tv);
}

/* When the server started (epoch seconds). */
long long
server_started(void)
{
	return (long long)started;
}

/* Whether a graceful shutdown is under way. */
int
server_stopping(void)
{
	return stopping;
}

/* Re-create one job from the journal. */
static void
replay_job(const struct journal_job *jj, void *arg)
{
	struct submit		 s;
	struct journal_fate	 jf;
	struct failed_info	 fi;
	uint64_t		*n = arg;
	char			*target = NULL;

	memset(&s, 0, sizeof(s));
	if (jj->target != NULL) {
		/* A broadcast job: its member's name, a string here. */
		target = xmalloc(jj->target_len + 1);
		memcpy(target, jj->target, jj->target_len);
		target[jj->target_len] = '\0';
		s.target = target;
	}
	s.func = jj->func;
	s.func_len = jj->func_len;
	s.unique = jj->unique;
	s.unique_len = jj->unique_len;
	s.reducer = jj->reducer;
	s.reducer_len = jj->reducer != NULL ? jj->reducer_len : 0;
	s.data = jj->data_ptr;
	s.data_len = jj->data_len;
	s.prio = jj->prio >= 0 && jj->prio < PRIO_COUNT ? jj->prio :
	    PRIO_NORMAL;
	s.bg = 1;
	s.when = jj->when;
	memset(&jf, 0, sizeof(jf));
	jf.state = jj->fate;
	jf.tries = jj->tries;
	jf.due = jj->due;
	jf.first = jj->first;
	jf.last = jj->last;
	jf.error = jj->error;
	jf.error_len = jj->error_len;
	if (jj->fate == JOURNAL_FATE_FAILED) {
		memset(&fi, 0, sizeof(fi));
		fi.num = fi.jid = jj->id;
		fi.journaled = 1;
		fi.tries = jj->tries;
		fi.first = jj->first;
		fi.last = jj->last;
		fi.job = s;
		fi.error = jj->error;
		fi.error_len = jj->error_len;
		queue_handle_floor(jj->id);
		failed_add(&fi, 0);
	} else
		queue_replay(&s, jj->id, jj->attempts,
		    jj->fate == JOURNAL_FATE_RETRY ? &jf : NULL);
	free(target);
	(*n)++;
}

int
main(int argc, char *argv[], char *envp[])
{
	struct journal_opts	 jo;
	struct event_config	*evcfg;
	struct utsname		 un;
	struct rlimit		 rl;
	struct event		*sigev[5];
	const int		 sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	char			*cause = NULL, *prefix = NULL, sid[16];
	enum log_dest		 dest;
	uint64_t		 replayed = 0;
	size_t			 i;
	pid_t			 otherpid;

	setproctitle_init(argc, argv, envp);
	config_parse(argc, argv, &prefix, &user_pw);

	if (conf.logfile != NULL && strcmp(conf.logfile, "stderr") == 0)
		dest = LOG_TO_STDERR;
	else if (conf.logfile != NULL && strcmp(conf.logfile, "none") == 0)
		dest = LOG_TO_NONE;
	else if (conf.logfile != NULL)
		dest = LOG_TO_FILE;
	else if (conf.syslog || conf.daemonize)
		dest = LOG_TO_SYSLOG;
	else
		dest = LOG_TO_STDERR;
	log_init(dest, dest == LOG_TO_FILE ? conf.logfile : NULL, LOG_DAEMON);
	log_setverbose(conf.verbose >= V_DEBUG);
	/* Until we serve, every failure also reaches the terminal. */
	log_set_startup(1);
	if (conf.daemonize)
		detach_begin();

	if (conf.fd_limit > 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)conf.fd_limit;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("cannot set file descriptor limit to %lld",
			    conf.fd_limit);
	}
	signal(SIGPIPE, SIG_IGN);

	/*
	 * The order of an OpenBSD daemon: what needs root first (ports,
	 * the pid file, the journal folder), then the journal as the user,
	 * then the user for good.
	 */
	if (listen_open() == -1 || http_open() == -1)
		startup_fail();
	if (conf.pidfile != NULL) {
		pfh = pidfile_open(conf.pidfile, 0644, &otherpid);
		if (pfh == NULL) {
			if (errno == EEXIST)
				log_warnx("already running as pid %ld",
				    (long)otherpid);
			else
				log_warn("pid file %s", conf.pidfile);
			startup_fail();
		}
	}
	if (user_pw != NULL) {
		prepare_journal_dir();
		become_user();
	}

	/*
	 * The changelist folds the enable/disable of a connection's write
	 * event within one loop pass into at most one epoll_ctl.
	 */
	if ((evcfg = event_config_new()) == NULL)
		fatalx("cannot create the event configuration");
	event_config_set_flag(evcfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(evcfg);
	event_config_free(evcfg);
	if (base == NULL)
		fatalx("cannot create the event base");
	memset(&jo, 0, sizeof(jo));
	jo.sync = conf.journal_sync;
	jo.interval_ms = conf.journal_interval;
	jo.repair = conf.journal_repair;
	if ((jnl = journal_open(base, conf.journal_dir, &jo, &cause)) == NULL) {
		/* The cause names the journal file or folder. */
		log_warnx("%s", cause ? cause : "journal: cannot open");
		free(cause);
		startup_fail();
	}
	if (user_pw != NULL)
		drop_privileges();
	log_info("journal: %s", conf.journal_dir ? conf.journal_dir :
	    "none (background jobs are kept in memory only)");
	/* Handles name their server: H:host-id, the id kept by the journal. */
	if (prefix != NULL)
		conf.handle_prefix = xstrdup(prefix);
	else if (journal_server_id(jnl, sid, sizeof(sid), &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		startup_fail();
	} else {
		if (uname(&un) == -1)
			strlcpy(un.nodename, "localhost", sizeof(un.nodename));
		un.nodename[30] = '\0';
		xasprintf(&conf.handle_prefix, "H:%s-%s", un.nodename, sid);
	}
	log_info("job handles: %s:N", conf.handle_prefix);
	func_init();
	queue_init();
	failed_init();
	ended_init();
	timer_init();
	conn_init();
	if (func_policy_load(conf.journal_dir, &cause) == -1) {
		log_warnx("%s", cause);
		if (!conf.daemonize && dest != LOG_TO_STDERR)
			fprintf(stderr, "%s: %s\n", getprogname(), cause);
		exit(1);
	}
	journal_replay(jnl, replay_job, &replayed);
	queue_handle_floor(journal_next_id(jnl) - 1);
	if (replayed > 0)
		log_info("journal: %llu jobs restored",
		    (unsigned long long)replayed);
	listen_start();
	if (pfh != NULL && pidfile_write(pfh) == -1) {
		log_warn("write pid file %s", conf.pidfile);
		startup_fail();
	}
	http_start();
	started = time(NULL);

	for (i = 0; i < nitems(sigs); i++) {
		sigev[i] = evsignal_new(base, sigs[i], on_signal, NULL);
		evsignal_add(sigev[i], NULL);
	}
	log_info("gm-server %s started, pid %ld", GM_VERSION, (long)getpid());
	detach_end();
	log_set_startup(0);
	event_base_dispatch(base);
	log_info("gm-server stopping");

	for (i = 0; i < nitems(sigs); i++)
		event_free(sigev[i]);
	if (graceful_ev != NULL)
		event_free(graceful_ev);
	listen_free();
	http_free();
	/* Jobs go before the journal: freeing them must not record anything. */
	queue_stop_running();
	conn_free_all();
	queue_free_all();
	bcast_free_all();
	failed_free_all();
	ended_free();
	func_free_all();
	journal_close(jnl);
	conn_cleanup();
	tlsconn_cleanup();
	acl_free();
	timer_free();
	event_base_free(base);
	libevent_global_shutdown();
	if (pfh != NULL)
		pidfile_remove(pfh);
	if (conf.port_file != NULL)
		unlink(conf.port_file);
	free(conf.listen);
	free(conf.http_addr);
	free(conf.handle_prefix);
	free(conf.journal_dir);
	log_info("gm-server stopped");
	config_free();
	return 0;
}
