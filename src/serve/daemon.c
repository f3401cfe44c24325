/* daemon.c: `deadlined run`. One single-threaded sd_event loop owns
 * everything: signals, the HTTP server, inotify on the configuration, and
 * the one timer for "the next instant something is due". Between those
 * instants the process sleeps; nothing polls.
 *
 * A reload builds a complete new model, deadlines and feed bytes off to the
 * side and swaps them in only when all of it succeeded; on any error the
 * old content keeps being served.
 *
 * Delivery: one struct deliverer on the loop. A pass runs after READY=1 (it
 * resends what a crash left pending), whenever the timer fires, after a
 * reload and after the wall clock was set; the timer is re-armed when a pass
 * finishes. Sends share the loop with the HTTP server through curl multi. */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <sysexits.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "deadlined/serve/cache.h"
#include "deadlined/serve/compress.h"
#include "deadlined/config/config.h"
#include "deadlined/serve/daemon.h"
#include "deadlined/deliver/deliver.h"
#include "deadlined/serve/http.h"
#include "deadlined/base/log.h"
#include "deadlined/core/schedule.h"
#include "deadlined/core/tz.h"

#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MSEC 1000ULL
#define TIME_T_MAX ((time_t)((UINTMAX_C(1) << (sizeof(time_t) * 8 - 1)) - 1))
/* While the ledger refuses writes (full, locked) delivery is paused and a
 * pass is tried again this often; the fault build retries quickly for tests. */
#ifdef DEADLINED_FAULTS
#define PASS_RETRY_SEC 5
#else
#define PASS_RETRY_SEC 60
#endif
/* The loop must not stall on a locked ledger for SQLite's usual 5 s: a pass
 * that gives up is retried, and serving feeds goes on meanwhile. */
#define DAEMON_BUSY_TIMEOUT_MS 250
#define RELOAD_DEBOUNCE_USEC (200 * USEC_PER_MSEC) /* editors write in bursts */
#define WATCH_MASK                                                                                 \
        (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB |        \
         IN_DELETE_SELF | IN_MOVE_SELF)

struct daemon {
        const struct daemon_opts *o;
        sd_event *e;
        struct http_content *cur; /* what is served; holds the model */
        struct http_server *http;
        char *http_listen; /* the [http] listen the server runs on; NULL: none */
        int listen_fd;     /* socket-activated listener, or -1 */
        struct http_metrics metrics; /* also the delivery totals since start */
        sd_event_source *debounce, *next_timer, *clock_watch;
        sd_event_source **watches;
        size_t nwatches;
        /* Delivery. */
        struct deliverer *dl;
        char *state_dir;      /* the ledger's directory, fixed until restart */
        int64_t clock_offset; /* test hook (DEADLINED_FAULTS builds only) */
        int64_t next_due;     /* next reminder or retry; INT64_MAX: none */
        bool pass_again;      /* the timer fired while a pass was running */
        bool have_pass;
        struct deliver_stats last; /* of the last finished pass */
        int pause_error;           /* why delivery is paused (metrics.paused) */
        bool reload_retry;         /* a reload failed on the ledger, not the files */
        struct compress_job *gz;   /* the gzip copies of d->cur's big feeds */
};

static int64_t daemon_now(const struct daemon *d)
{
        return d->o->now != NOW_REAL ? d->o->now : (int64_t)time(NULL) + d->clock_offset;
}

static void *mfree(void *p)
{
        free(p);
        return NULL;
}

static uint64_t monotonic_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static const struct model *cur_model(const struct daemon *d)
{
        return d->cur->hm->m;
}

/* Diagnostics as log lines, "FILE:LINE: message", with journal priorities. */
static void log_diags(const struct diags *dg)
{
        for (size_t i = 0; i < dg->n; i++) {
                const struct diag *x = &dg->v[i];
                int prio = x->sev == DIAG_ERROR ? LOG_ERR : LOG_WARNING;
                const char *w = x->sev == DIAG_ERROR ? "" : "warning: ";

                if (x->file && x->line > 0)
                        log_msg(prio, "%s:%d: %s%s", x->file, x->line, w, x->msg);
                else if (x->file)
                        log_msg(prio, "%s: %s%s", x->file, w, x->msg);
                else
                        log_msg(prio, "%s%s", w, x->msg);
        }
        if (dg->n < dg->nerrors + dg->nwarnings)
                log_errx("... and %zu more", dg->nerrors + dg->nwarnings - dg->n);
}

static int64_t next_reminder(const struct model *m, const struct deadlines *ds, int64_t now)
{
        int64_t best = INT64_MAX;

        for (size_t i = 0; i < ds->n; i++) {
                struct reminder r;
                if (deadline_active(&ds->v[i]) && schedule_next(m, &ds->v[i], now, &r) == 0 &&
                    r.at < best)
                        best = r.at;
        }
        return best;
}

/* Last-Modified is the model's mtime, but the bytes also change when the
 * day rolls over with the files untouched. Keep If-Modified-Since honest:
 * same bytes keep the old date; changed bytes never get an older one. */
static void carry_last_modified(const struct http_content *prev, struct feedset *fs, int64_t now)
{
        if (!prev)
                return;
        for (size_t i = 0; i < fs->n; i++) {
                struct feed_bytes *fb = &fs->v[i];
                for (size_t j = 0; j < prev->fs.n; j++) {
                        const struct feed_bytes *old = &prev->fs.v[j];
                        if (strcmp(old->feed->name, fb->feed->name) != 0)
                                continue;
                        if (!strcmp(old->etag, fb->etag))
                                fb->last_modified = old->last_modified;
                        else if (fb->last_modified <= old->last_modified)
                                fb->last_modified =
                                    now > old->last_modified ? now : old->last_modified + 1;
                }
        }
}

/* Deadlines for today and every feed's bytes, from a loaded model. Each
 * event's SEQUENCE and LAST-MODIFIED come from the ledger, as for export. */
static int build_content(struct daemon *d, struct http_model *hm, const struct feeds_prev *prev,
                         struct http_content **out)
{
        const struct model *m = hm->m;
        struct deadlines ds = {0};
        struct feedset fs = {0};
        struct diags warn = {0};
        int64_t now = daemon_now(d);
        dl_day today;
        int minute, r;

        uint64_t t0 = monotonic_usec();

        tz_utc_to_local(m->set.tz, now, &today, &minute);
        r = deadline_derive(m, today, &ds, &warn);
        log_diags(&warn);
        diag_free(&warn);
        if (r < 0) {
                deadlines_free(&ds);
                return log_error_errno(r, "Failed to derive deadlines");
        }
        uint64_t t1 = monotonic_usec();
        r = feeds_render_all_history(m, &ds, deliver_ledger(d->dl), now, prev, &fs);
        if (r < 0) {
                deadlines_free(&ds);
                /* While paused the ledger's trouble has been reported once. */
                log_msg(d->metrics.paused ? LOG_DEBUG : LOG_ERR, "Failed to render the feeds: %s",
                        strerror(-r));
                return r;
        }
        carry_last_modified(d->cur, &fs, now);
        *out = http_content_new(hm, today, &ds, &fs);
        (*out)->next_reminder = next_reminder(m, &(*out)->ds, now);
        log_debug("Derived %zu deadlines in %llu ms, rendered %zu feeds in %llu ms",
                  (*out)->ds.n, (unsigned long long)((t1 - t0) / USEC_PER_MSEC), (*out)->fs.n,
                  (unsigned long long)((monotonic_usec() - t1) / USEC_PER_MSEC));
        return 0;
}

/* A reload or a new day: unchanged events are copied from what is served. */
static int build_content_again(struct daemon *d, struct http_model *hm, struct http_content **out)
{
        struct feeds_prev prev;
        int r;

        feeds_prev_from(&d->cur->fs, &prev);
        r = build_content(d, hm, &prev, out);
        feeds_prev_free(&prev);
        return r;
}

static int load_model(struct daemon *d, struct model **out)
{
        struct diags dg = {0};
        int r;

        r = config_load(d->o->config_path, out, &dg);
        log_diags(&dg);
        diag_free(&dg);
        if (r < 0)
                log_errx("%s: configuration has errors", d->o->config_path);
        return r;
}

/* The ledger lives where the first model says; a later state_dir needs a restart. */
static void check_state_dir(const struct daemon *d, const struct model *m)
{
        const char *want = ledger_state_dir(m->set.state_dir);

        if (strcmp(want, d->state_dir) != 0)
                log_warnx("state_dir changed to %s; the ledger stays in %s until restart", want,
                          d->state_dir);
}

/* config_load plus build_content: everything a reload needs, or nothing. */
static int load_content(struct daemon *d, struct http_content **out)
{
        struct model *m = NULL;
        int r;

        r = load_model(d, &m);
        if (r < 0)
                return r;
        check_state_dir(d, m);
        struct http_model *hm = http_model_new(m);
        r = build_content_again(d, hm, out);
        http_model_unref(hm); /* the content holds its own reference */
        return r;
}

static const char *pause_reason(int r)
{
        if (r == -EWOULDBLOCK)
                return "another deadlined process is delivering";
        return r == -EBUSY ? "locked by another process" : strerror(-r);
}

static void notify_status(struct daemon *d, const char *extra)
{
        const struct http_content *c = d->cur;
        int64_t next = d->have_pass ? d->next_due : c->next_reminder;
        char when[64] = "none", pass[96] = "";

        if (next != INT64_MAX)
                tz_format_local(cur_model(d)->set.tz, next, when, sizeof(when));
        d->metrics.next_reminder = next;
        if (d->metrics.paused)
                snprintf(pass, sizeof(pass), "; ledger: %s; delivery paused",
                         pause_reason(d->pause_error));
        else if (d->have_pass)
                snprintf(pass, sizeof(pass), "; last pass: sent %u, retry %u, failed %u",
                         d->last.sent, d->last.retry, d->last.failed);
        else if (d->dl && deliver_busy(d->dl))
                snprintf(pass, sizeof(pass), "; delivering");
        sd_notifyf(0, "%sSTATUS=%zu deadlines, %zu overdue, next reminder %s; %zu feeds on %s%s",
                   extra, c->ds.n, c->by_status[ST_OVERDUE], when, c->fs.n,
                   d->http ? http_address(d->http) : "no HTTP", pass);
}

static void log_urls(const struct model *m)
{
        for (uint32_t i = 0; i < m->nfeeds; i++) {
                const struct feed *f = &m->feeds[i];
                _cleanup_free_ char *url = feeds_url(m, f);
                /* Never the token itself: only where to find it. */
                _cleanup_free_ char *q =
                    f->public ? xstrdup("")
                              : xasprintf("?token=<contents of %s>",
                                          f->token_file ? f->token_file : "TOKEN_FILE");
                const char *rest = strstr(url, "://");

                rest = rest ? rest + 3 : url;
                log_info("Feed %s: %s%s  webcal://%s%s", f->name, url, q, rest, q);
        }
}

static bool http_enabled(const char *listen)
{
        return listen && *listen && strcmp(listen, "none") != 0;
}

/* Bring the HTTP server in line with the new model's [http] listen: *next
 * is the server to use from now on (the current one, a new one, or NULL). */
static int apply_http(struct daemon *d, const struct model *m, struct http_server **next)
{
        const char *want = m->set.http_listen;
        struct http_server *s = NULL;
        int r;

        *next = d->http;
        if (d->listen_fd >= 0) /* socket activation overrides listen, for good */
                return 0;
        if (!http_enabled(want))
                want = NULL;
        if ((!want && !d->http_listen) || (want && d->http_listen && !strcmp(want, d->http_listen)))
                return 0;
        *next = NULL;
        if (!want)
                return 0;
        r = http_start(d->e, want, -1, &d->metrics, &s);
        if (r == -EADDRINUSE && d->http) {
                /* Same port on an overlapping address: let the old one go first,
                 * and bring it back if the new one still fails. */
                http_stop(d->http);
                d->http = NULL;
                r = http_start(d->e, want, -1, &d->metrics, &s);
                if (r < 0 && http_start(d->e, d->http_listen, -1, &d->metrics, &d->http) >= 0)
                        http_set_content(d->http, d->cur);
                else if (r < 0)
                        d->http_listen = mfree(d->http_listen);
        }
        if (r < 0) {
                *next = d->http;
                return r;
        }
        *next = s;
        return 0;
}

static void on_inotify_changed(struct daemon *d);

static int on_inotify(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
        const char *name = ev->len ? ev->name : "";
        size_t n = strlen(name);

        /* Editor droppings, SQLite side files and our locks are not configuration. */
        if (name[0] == '.' || (n && name[n - 1] == '~') ||
            (n > 4 && (!strcmp(name + n - 4, ".swp") || !strcmp(name + n - 4, ".swx"))) ||
            strstr(name, ".db") || strstr(name, ".tmp") ||
            (n > 5 && !strcmp(name + n - 5, ".lock")))
                return 0;
        log_debug("Configuration directory changed: %s", *name ? name : "(directory)");
        on_inotify_changed(userdata);
        return 0;
}

static void unwatch(struct daemon *d)
{
        for (size_t i = 0; i < d->nwatches; i++)
                sd_event_source_disable_unref(d->watches[i]);
        free(d->watches);
        d->watches = NULL;
        d->nwatches = 0;
}

static void watch_dir(struct daemon *d, const char *file, char ***seen)
{
        _cleanup_free_ char *copy = xstrdup(file);
        const char *dir = dirname(copy);
        size_t i;
        int r;

        for (i = 0; i < d->nwatches; i++)
                if (!strcmp((*seen)[i], dir))
                        return;
        d->watches = xreallocarray(d->watches, d->nwatches + 1, sizeof(*d->watches));
        *seen = xreallocarray(*seen, d->nwatches + 1, sizeof(**seen));
        r = sd_event_add_inotify(d->e, &d->watches[d->nwatches], dir, WATCH_MASK, on_inotify, d);
        if (r < 0) {
                log_warn_errno(r, "Cannot watch %s for changes", dir);
                return;
        }
        (*seen)[d->nwatches++] = xstrdup(dir);
}

/* Watch the directory of every file the model was read from: the main
 * file, the include drop-ins and the roster. */
static void rewatch(struct daemon *d)
{
        const struct model *m = cur_model(d);
        char **seen = NULL;

        unwatch(d);
        watch_dir(d, d->o->config_path, &seen);
        for (uint32_t i = 0; i < m->nfiles; i++)
                watch_dir(d, m->files[i], &seen);
        for (size_t i = 0; i < d->nwatches; i++)
                free(seen[i]);
        free(seen);
}

static int64_t next_local_midnight(const struct model *m, int64_t now)
{
        dl_day today;
        int minute;

        tz_utc_to_local(m->set.tz, now, &today, &minute);
        return tz_local_to_utc(m->set.tz, today + 1, 0);
}

static bool fixed_clock(const struct daemon *d)
{
        return d->o->now != NOW_REAL;
}

/* The one place that decides when the loop next wakes up for work of its
 * own (the watchdog aside): the next local midnight (statuses change) or the
 * next reminder or retry, whichever comes first. While a pass runs nothing
 * is decided: its done callback comes back here. With a fixed --now the
 * clock never moves, so nothing is armed. */
static void arm_next_wakeup_before(struct daemon *d, int64_t limit)
{
        const struct model *m = cur_model(d);
        int64_t now = daemon_now(d), next;
        int r;

        if (deliver_busy(d->dl))
                return;
        d->next_due = deliver_next_wakeup(d->dl, m, &d->cur->ds, now);
        if (fixed_clock(d)) {
                sd_event_source_set_enabled(d->next_timer, SD_EVENT_OFF);
                return;
        }
        next = next_local_midnight(m, now);
        if (d->next_due < next)
                next = d->next_due;
        /* While paused, a pending retry would make next_due "now + 1 s": a pass
         * every second, each waiting on the lock, would stall serving. Retry
         * at the pause interval instead. */
        if (limit < next || (d->metrics.paused && limit != INT64_MAX))
                next = limit;
        /* The timer runs on the real clock; the offset is a test hook. */
        r = sd_event_source_set_time(d->next_timer, (uint64_t)(next - d->clock_offset) * USEC_PER_SEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->next_timer, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_error_errno(r, "Failed to arm the next wake-up timer");
                return;
        }
        char when[64];
        log_debug("Next wake-up at %s (%s)", tz_format_local(m->set.tz, next, when, sizeof(when)),
                  next == d->next_due ? "reminder or retry" : "local midnight");
}

/* The served content is of an earlier local day: its re-render failed. */
static bool day_behind(const struct daemon *d)
{
        dl_day today;
        int minute;

        tz_utc_to_local(cur_model(d)->set.tz, daemon_now(d), &today, &minute);
        return today != d->cur->today;
}

/* A failed reload or day-change re-render is retried soon, not at the next
 * reminder (possibly days away). */
static void arm_next_wakeup(struct daemon *d)
{
        bool retry = d->reload_retry || day_behind(d);

        arm_next_wakeup_before(d, retry ? daemon_now(d) + PASS_RETRY_SEC : INT64_MAX);
}

static void start_pass(struct daemon *d, const char *why);

static void on_pass_done(void *userdata)
{
        struct daemon *d = userdata;
        const struct deliver_stats *st = deliver_stats(d->dl);

        d->last = *st;
        d->have_pass = true;
        d->metrics.passes++;
        d->metrics.sent += st->sent;
        d->metrics.retry += st->retry;
        d->metrics.failed += st->failed;
        d->metrics.skipped += st->skipped;
        d->metrics.last_pass = daemon_now(d);
        if (st->sent || st->retry || st->failed || st->skipped)
                log_info("Delivery pass: sent %u, retry %u, failed %u, skipped %u", st->sent,
                         st->retry, st->failed, st->skipped);
        if (d->pass_again) {
                d->pass_again = false;
                start_pass(d, "due during the last pass");
                return;
        }
        arm_next_wakeup(d);
        notify_status(d, "");
}

/* The ledger refused the pass (full disk, locked, I/O error), or another
 * process (a cron tick) holds the delivery lock. Said once, not once per
 * retry: the journal would fill with the same line. */
static void pause_delivery(struct daemon *d, int r)
{
        bool lock = r == -EWOULDBLOCK;
        pid_t pid = lock ? deliver_lock_holder(d->dl) : 0;

        if (!lock)
                d->metrics.ledger_errors++;
        d->pause_error = r;
        if (d->metrics.paused)
                return;
        d->metrics.paused = true;
        deliver_set_quiet(d->dl, true);
        if (lock && pid > 0)
                log_warnx("%s/%s: another deadlined process (pid %ld) is delivering; delivery "
                          "paused, retrying every %d s",
                          d->state_dir, DELIVER_LOCK_FILE, (long)pid, PASS_RETRY_SEC);
        else if (lock)
                log_warnx("%s/%s: another deadlined process is delivering; delivery paused, "
                          "retrying every %d s",
                          d->state_dir, DELIVER_LOCK_FILE, PASS_RETRY_SEC);
        else
                log_errx("Ledger %s/%s: %s; delivery paused, retrying every %d s", d->state_dir,
                         LEDGER_FILE, pause_reason(r), PASS_RETRY_SEC);
}

static void resume_delivery(struct daemon *d)
{
        if (!d->metrics.paused)
                return;
        d->metrics.paused = false;
        deliver_set_quiet(d->dl, false);
        log_info("%s; delivery resumed", d->pause_error == -EWOULDBLOCK
                                              ? "Delivery lock taken"
                                              : "Ledger writable again");
}

/* Claim and start sending everything due now; a pass already running takes
 * this one over when it finishes. */
static void start_pass(struct daemon *d, const char *why)
{
        int r;

        if (deliver_busy(d->dl)) {
                d->pass_again = true;
                return;
        }
        log_debug("Delivery pass (%s)", why);
        r = deliver_pass(d->dl, cur_model(d), &d->cur->ds, daemon_now(d), on_pass_done, d);
        if (r >= 0) {
                resume_delivery(d);
                return;
        }
        if (r == -EBADMSG) {
                log_errx("%s/%s is damaged; stopping (restore it from a backup or move it "
                         "aside: a fresh ledger sends only what is due within catch_up)",
                         d->state_dir, LEDGER_FILE);
                sd_event_exit(d->e, r);
                return;
        }
        pause_delivery(d, r);
        /* Nothing was claimed, so nothing was sent: try again soon, not at the
         * next due instant. */
        arm_next_wakeup_before(d, daemon_now(d) + PASS_RETRY_SEC);
        notify_status(d, "");
}

/* Big feeds get their gzip copy after they are served; a compression still
 * running for the content being replaced is called off. */
static void compress_cur(struct daemon *d)
{
        d->gz = compress_free(d->gz);
        if (compress_start_cached(d->e, d->cur, d->state_dir, &d->gz) < 0)
                log_warnx("Serving the feeds uncompressed");
}

static void swap_content(struct daemon *d, struct http_content *c)
{
        if (d->http)
                http_set_content(d->http, c);
        http_content_unref(d->cur);
        d->cur = c;
        compress_cur(d);
}

static void reload_failed(struct daemon *d, int r)
{
        bool again = d->reload_retry;

        /* Feed history needs the ledger: locked or full is worth retrying. */
        d->reload_retry = r == -EBUSY || r == -ENOSPC || r == -EIO;
        d->metrics.reloads_failed++;
        log_msg(again && d->reload_retry ? LOG_DEBUG : LOG_ERR,
                "Reload failed; still serving the previous configuration%s",
                d->reload_retry ? " (retrying while the ledger is unavailable)" : "");
}

static void daemon_reload(struct daemon *d, const char *why)
{
        uint64_t t0 = monotonic_usec();
        struct http_content *c = NULL;
        struct http_server *next = NULL;
        const char *pass = NULL;
        int r;

        sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading (%s)",
                   (unsigned long long)t0, why);
        log_msg(d->reload_retry ? LOG_DEBUG : LOG_INFO, "Reloading the configuration (%s)", why);
        r = load_content(d, &c);
        if (r >= 0)
                r = apply_http(d, c->hm->m, &next);
        if (r < 0) {
                http_content_unref(c);
                reload_failed(d, r);
                /* SIGHUP also means "look again now": a paused delivery retries. */
                pass = "reload (failed)";
        } else {
                if (next != d->http) {
                        http_stop(d->http);
                        d->http = next;
                        free(d->http_listen);
                        d->http_listen = next ? xstrdup(c->hm->m->set.http_listen) : NULL;
                        log_info("HTTP: %s", next ? http_address(next) : "disabled");
                }
                swap_content(d, c);
                d->reload_retry = false;
                d->metrics.reloads_ok++;
                d->metrics.last_reload = (int64_t)time(NULL);
                rewatch(d);
                log_info("Reloaded: %zu deadlines, %zu feeds", c->ds.n, c->fs.n);
                /* New reminders may be due already (within catch_up): a pass,
                 * which re-arms when it is done. */
                if (fixed_clock(d))
                        arm_next_wakeup(d);
                else
                        pass = "reload";
        }
        log_debug("reload took %llu ms",
                  (unsigned long long)((monotonic_usec() - t0) / USEC_PER_MSEC));
        notify_status(d, "READY=1\n");
        /* After READY=1: planning every deadline (0.1 s at 100k people) is the
         * pass's work, not the reload's. */
        if (pass && !fixed_clock(d))
                start_pass(d, pass);
}

static int on_debounce(sd_event_source *s, uint64_t usec, void *userdata)
{
        daemon_reload(userdata, "files changed");
        return 0;
}

/* Each change pushes the reload back, so a burst of writes loads once. */
static void on_inotify_changed(struct daemon *d)
{
        int r = sd_event_source_set_time_relative(d->debounce, RELOAD_DEBOUNCE_USEC);

        if (r >= 0)
                r = sd_event_source_set_enabled(d->debounce, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Failed to arm the reload timer");
}

/* Statuses depend on the local day: re-derive and re-render from the same
 * model (no file is read) once the day has changed. */
static void check_day(struct daemon *d)
{
        struct http_content *c = NULL;
        int r = 0;

        if (!day_behind(d))
                return;
        log_info("New local day: re-deriving deadlines");
#ifdef DEADLINED_FAULTS
        /* Test hook: the first re-render fails, as with a ledger locked too long. */
        static bool failed;
        const char *f = getenv("DEADLINED_FAULT");
        if (f && !strcmp(f, "day-render-fail") && !failed) {
                failed = true;
                r = log_error_errno(-EBUSY, "Test hook: the day's re-render fails");
        }
#endif
        if (r >= 0)
                r = build_content_again(d, d->cur->hm, &c);
        if (r < 0) {
                /* arm_next_wakeup sees the day behind and retries soon. */
                log_info("Still serving the previous day's feeds; retrying in %d s",
                         PASS_RETRY_SEC);
                return;
        }
        swap_content(d, c);
        notify_status(d, "");
}

static int on_next_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;

        if (d->reload_retry) {
                daemon_reload(d, "the ledger was unavailable");
                return 0;
        }
        check_day(d);
        start_pass(d, "timer");
        return 0;
}

static int watch_clock(struct daemon *d);

/* The wall clock was set (settimeofday, NTP step, a VM restored). The
 * timer is absolute and fires by itself if the clock jumped past it, but
 * "today" may have changed and reminders may have become due: re-derive,
 * run a pass, re-arm. */
static int on_clock_set(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct daemon *d = userdata;
        uint64_t n;

        if (read(fd, &n, sizeof(n)) >= 0 || errno != ECANCELED)
                return 0; /* the far-future expiry cannot have come: spurious */
        log_info("The system clock was set; re-deriving and re-arming");
        d->clock_watch = sd_event_source_disable_unref(d->clock_watch);
        watch_clock(d);
        check_day(d);
        start_pass(d, "clock set");
        return 0;
}

/* A CLOCK_REALTIME timerfd that never expires but is cancelled when the
 * clock is set (TFD_TIMER_CANCEL_ON_SET): its read then fails with ECANCELED.
 * Half of TIME_T_MAX: far enough, and an LD_PRELOAD clock shim (libfaketime,
 * in tests) that shifts the expiry by its offset does not overflow. */
static int watch_clock(struct daemon *d)
{
        struct itimerspec its = {.it_value.tv_sec = TIME_T_MAX / 2};
        int fd, r;

        fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to create the clock-change timer");
        if (timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0) {
                r = log_error_errno(-errno, "Failed to arm the clock-change timer");
                close(fd);
                return r;
        }
        r = sd_event_add_io(d->e, &d->clock_watch, fd, EPOLLIN, on_clock_set, d);
        if (r < 0) {
                close(fd);
                return log_error_errno(r, "Failed to watch for clock changes");
        }
        sd_event_source_set_io_fd_own(d->clock_watch, true);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct daemon *d = userdata;

        if (si->ssi_signo == SIGHUP) {
                daemon_reload(d, "SIGHUP");
                return 0;
        }
        log_info("Received %s, stopping", strsignal((int)si->ssi_signo));
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int setup_loop(struct daemon *d)
{
        static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
        sigset_t ss;
        int r;

        r = sd_event_new(&d->e);
        if (r < 0)
                return log_error_errno(r, "Failed to create the event loop");
        /* sd_event_add_signal needs the signals blocked; signalfd delivers them. */
        sigemptyset(&ss);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                sigaddset(&ss, sigs[i]);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return log_error_errno(-errno, "Failed to block signals");
        signal(SIGPIPE, SIG_IGN); /* a client hanging up is an error return, not a death */
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++) {
                r = sd_event_add_signal(d->e, NULL, sigs[i], on_signal, d);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch signal %d", sigs[i]);
        }
        r = sd_event_add_time_relative(d->e, &d->debounce, CLOCK_MONOTONIC, RELOAD_DEBOUNCE_USEC,
                                       10 * USEC_PER_MSEC, on_debounce, d);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->debounce, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time(d->e, &d->next_timer, CLOCK_REALTIME, 0, USEC_PER_SEC,
                                      on_next_timer, d);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->next_timer, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "Failed to create timers");
        /* Pings at half of WATCHDOG_USEC when systemd asks for them; else nothing. */
        r = sd_event_set_watchdog(d->e, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable the watchdog");
        if (r > 0)
                log_debug("Watchdog enabled");
        return 0;
}

static int setup_http(struct daemon *d)
{
        const char *listen = cur_model(d)->set.http_listen;
        int n, r;

        n = sd_listen_fds(1);
        if (n < 0)
                return log_error_errno(n, "Failed to read the sockets passed by systemd");
        if (n > 1)
                log_warnx("%d sockets passed; serving on the first only", n);
        if (n > 0) {
                d->listen_fd = SD_LISTEN_FDS_START;
                if (sd_is_socket(d->listen_fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
                        log_errx("The socket passed by systemd is not a listening stream socket");
                        return -EINVAL;
                }
        } else if (!http_enabled(listen)) {
                log_info("HTTP disabled (listen = none)");
                return 0;
        }
        r = http_start(d->e, listen, d->listen_fd, &d->metrics, &d->http);
        if (r < 0)
                return r;
        if (d->listen_fd < 0)
                d->http_listen = xstrdup(listen);
        http_set_content(d->http, d->cur);
        log_info("HTTP: serving on %s%s", http_address(d->http),
                 d->listen_fd >= 0 ? " (socket activation)" : "");
        return 0;
}

/* SIGTERM: sends in flight are aborted and their rows stay pending (the next
 * start resends them with the same Message-ID). */
static void daemon_done(struct daemon *d)
{
        d->gz = compress_free(d->gz);
        unwatch(d);
        deliver_free(d->dl);
        http_stop(d->http);
        http_content_unref(d->cur);
        free(d->http_listen);
        free(d->state_dir);
        sd_event_source_disable_unref(d->debounce);
        sd_event_source_disable_unref(d->next_timer);
        sd_event_source_disable_unref(d->clock_watch);
        sd_event_unref(d->e);
}

static int ledger_damaged(const struct daemon *d)
{
        log_errx("%s/%s is damaged; not starting (restore it from a backup or move it "
                 "aside: a fresh ledger sends only what is due within catch_up)",
                 d->state_dir, LEDGER_FILE);
        return EX_SOFTWARE;
}

/* A damaged ledger must stop the daemon: sending from it could resend
 * everything, or nothing. */
static int open_delivery(struct daemon *d, const struct model *m)
{
        int r;

        d->state_dir = xstrdup(ledger_state_dir(m->set.state_dir));
        /* The integrity check overlaps the first render; READY=1 waits for it. */
        ledger_defer_check(true);
        r = deliver_new(d->e, d->state_dir, &d->dl);
        ledger_defer_check(false);
        if (r == -EBADMSG)
                return ledger_damaged(d);
        if (r < 0) {
                log_error_errno(r, "Cannot open the ledger in %s", d->state_dir);
                return EX_CANTCREAT;
        }
        ledger_set_busy_timeout(deliver_ledger(d->dl), DAEMON_BUSY_TIMEOUT_MS);
        return 0;
}

static void clock_hook(struct daemon *d)
{
#ifdef DEADLINED_FAULTS
        const char *s = getenv("DEADLINED_CLOCK_OFFSET");

        if (s && *s) {
                d->clock_offset = strtoll(s, NULL, 10);
                log_warnx("Test hook: the clock runs %lld s off", (long long)d->clock_offset);
        }
#endif
}

static int daemon_start(struct daemon *d)
{
        struct model *m = NULL;
        int r;

        clock_hook(d);
        if (setup_loop(d) < 0)
                return EX_OSERR;
        uint64_t t0 = monotonic_usec();
        if (load_model(d, &m) < 0)
                return EX_CONFIG;
        uint64_t t1 = monotonic_usec();
        r = open_delivery(d, m);
        log_debug("Loaded the configuration in %llu ms, opened the ledger in %llu ms",
                  (unsigned long long)((t1 - t0) / USEC_PER_MSEC),
                  (unsigned long long)((monotonic_usec() - t1) / USEC_PER_MSEC));
        struct http_model *hm = http_model_new(m);
        struct feeds_cache *cache = NULL;
        if (r == 0) /* the last run's render: its unchanged events are copied */
                feeds_cache_load(d->state_dir, m, &cache);
        int rb = r == 0 ? build_content(d, hm, feeds_cache_prev(cache), &d->cur) : 0;
        feeds_cache_free(cache);
        http_model_unref(hm);
        if (r != 0)
                return r;
        /* The render commits, so a damaged ledger has been reported by now. */
        if (ledger_check_wait(deliver_ledger(d->dl)) < 0 || rb == -EBADMSG)
                return ledger_damaged(d);
        if (rb == -EBUSY) /* the first render stores feed history: worth a restart */
                return EX_TEMPFAIL;
        if (rb == -ENOSPC || rb == -EIO)
                return EX_IOERR;
        if (rb < 0)
                return EX_CONFIG;
        if (r != 0)
                return r;
        d->metrics.last_reload = (int64_t)time(NULL);
        r = setup_http(d);
        if (r < 0)
                return EX_UNAVAILABLE;
        compress_cur(d);
        rewatch(d);
        /* Without it a clock step is noticed at the next wake-up: degraded, not fatal. */
        if (!fixed_clock(d) && watch_clock(d) < 0)
                log_warnx("Clock changes are not watched; a step is seen at the next wake-up");
        log_urls(cur_model(d));
        return 0;
}

int daemon_run(const struct daemon_opts *o)
{
        struct daemon d = {
            .o = o, .listen_fd = -1, .next_due = INT64_MAX, .metrics.next_reminder = INT64_MAX};
        int r, ex;

        log_init(o->verbosity);
        ex = daemon_start(&d);
        if (ex != 0) {
                daemon_done(&d);
                return ex;
        }
        log_info("Started: %zu deadlines, %zu feeds", d.cur->ds.n, d.cur->fs.n);
        notify_status(&d, "READY=1\n");
        /* Also resends what a crashed run left pending; re-arms when done. */
        start_pass(&d, "start-up");
        r = sd_event_loop(d.e);
        if (r < 0 && r != -EBADMSG) /* a damaged ledger was logged as such */
                log_error_errno(r, "Event loop failed");
        sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
        if (deliver_busy(d.dl))
                log_info("Stopping with sends in flight; they stay pending and go out at the "
                         "next start");
        daemon_done(&d);
        return r != 0 ? EX_SOFTWARE : 0;
}
