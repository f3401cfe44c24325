/* tick.c: `tick`, `history` and `send-test`. tick runs the daemon's delivery
 * pass to completion on its own sd_event loop, bounded by twice the send
 * timeout, so cron and tests exercise exactly the daemon's code. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "deadlined/config/config.h"
#include "deadlined/deliver/deliver.h"
#include "deadlined/base/log.h"
#include "deadlined/core/plan.h"
#include "deadlined/cli/tick.h"

struct loaded {
        struct model *m;
        struct deadlines ds;
        int64_t now;
};

static void loaded_free(struct loaded *l)
{
        deadlines_free(&l->ds);
        if (l->m)
                model_free(l->m);
}

static int load(const char *config_path, const char *when, bool derive, struct loaded *l)
{
        struct diags d = {0};
        dl_day today;
        int r, minute;

        r = config_load(config_path, &l->m, &d);
        diag_print(&d, stderr);
        diag_free(&d);
        if (r < 0) {
                fprintf(stderr, "%s: configuration has errors\n", config_path);
                return EX_CONFIG;
        }
        l->now = time(NULL);
        if (when && time_parse_instant(when, l->m->set.tz, &l->now) < 0) {
                fprintf(stderr, "deadlined: '%s' is not a time (use YYYY-MM-DD or "
                                "YYYY-MM-DDTHH:MM, optionally with Z or +HH:MM)\n",
                        when);
                return EX_USAGE;
        }
        if (!derive)
                return 0;
        tz_utc_to_local(l->m->set.tz, l->now, &today, &minute);
        r = deadline_derive(l->m, today, &l->ds, NULL);
        if (r < 0) {
                log_error_errno(r, "Failed to derive deadlines");
                return EX_SOFTWARE;
        }
        return 0;
}

static void on_done(void *userdata)
{
        sd_event_exit(userdata, 0);
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
        return sd_event_exit(sd_event_source_get_event(s), ETIMEDOUT);
}

/* Run e until done or until timeout seconds have passed. */
static int run_bounded(sd_event *e, long timeout)
{
        _cleanup_(sd_event_source_unrefp) sd_event_source *t = NULL;
        int r = sd_event_add_time_relative(e, &t, CLOCK_MONOTONIC,
                                           (uint64_t)timeout * 1000000, 0, on_deadline, NULL);

        if (r < 0)
                return r;
        return sd_event_loop(e);
}

static long send_bound(const struct model *m)
{
        return 2L * (m->set.send_timeout > 0 ? m->set.send_timeout : 30) + 5;
}

static int open_deliverer(sd_event *e, const struct model *m, struct deliverer **d)
{
        const char *dir = ledger_state_dir(m->set.state_dir);
        int r = deliver_new(e, dir, d);

        if (r == -EBADMSG)
                return EX_SOFTWARE; /* logged; never resend from a damaged ledger */
        if (r < 0) {
                log_error_errno(r, "Cannot open the ledger in %s", dir);
                return EX_CANTCREAT;
        }
        return 0;
}

static int dry_known(void *userdata, const char *key)
{
        return userdata ? ledger_known(userdata, key) : 0;
}

/* --dry-run: the plan, printed; nothing is claimed or sent. */
static int tick_dry(const struct loaded *l)
{
        const char *dir = ledger_state_dir(l->m->set.state_dir);
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, LEDGER_FILE);
        struct ledger *led = NULL;
        struct plan p = {0};
        int64_t last = -1;
        int r;

        if (access(path, F_OK) == 0 && ledger_open(dir, &led) < 0)
                return EX_SOFTWARE;
        if (led && ledger_meta_get(led, "last_pass", &last) < 0)
                last = -1;
        r = plan_build(l->m, &l->ds, plan_window_start(l->m, l->now, last), l->now, dry_known, led,
                       &p);
        for (size_t i = 0; r >= 0 && i < p.n; i++)
                if (p.items[i].act == PLAN_SKIP)
                        printf("would skip %s\n", p.items[i].key);
        for (size_t k = 0; r >= 0 && k < p.ndigests; k++)
                printf("would send %s %zu deadline%s %s\n", p.digests[k].recipient,
                       p.digests[k].n, p.digests[k].n == 1 ? "" : "s", p.digests[k].message_id);
        plan_free(&p);
        ledger_close(led);
        return r < 0 ? EX_SOFTWARE : 0;
}

/* Only one process delivers from a state directory (the daemon, or one
 * tick): a second one would send rows the first has claimed and not yet
 * marked. Cron simply tries again later. */
static int tick_lock(struct deliverer *d, const struct model *m)
{
        int r = deliver_lock(d);
        char pid[24] = "unknown";

        if (r == -EWOULDBLOCK) {
                if (deliver_lock_holder(d) > 0)
                        snprintf(pid, sizeof(pid), "%ld", (long)deliver_lock_holder(d));
                fprintf(stderr,
                        "deadlined: another deadlined process is delivering from %s (pid %s); "
                        "try again later\n",
                        ledger_state_dir(m->set.state_dir), pid);
                return EX_TEMPFAIL;
        }
        return r < 0 ? EX_CANTCREAT : 0;
}

static int tick_run(const struct loaded *l)
{
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        struct deliverer *d = NULL;
        int r;

        if (sd_event_new(&e) < 0)
                return EX_OSERR;
        r = open_deliverer(e, l->m, &d);
        if (r)
                return r;
        r = tick_lock(d, l->m);
        if (r) {
                deliver_free(d);
                return r;
        }
        deliver_set_output(d, stdout);
        r = deliver_pass(d, l->m, &l->ds, l->now, on_done, e);
        if (r < 0) {
                deliver_free(d);
                /* A locked or full ledger is worth retrying (cron will); anything else is not. */
                return r == -EBUSY || r == -ENOSPC || r == -EAGAIN ? EX_TEMPFAIL : EX_SOFTWARE;
        }
        r = run_bounded(e, send_bound(l->m));
        const struct deliver_stats *st = deliver_stats(d);
        bool unfinished = deliver_busy(d);
        if (unfinished)
                printf("timeout: sends still in flight were left pending\n");
        r = unfinished || st->retry > 0 ? EX_UNAVAILABLE : 0;
        /* Results the ledger would not take are sends it still thinks pending:
         * worth a retry (cron will), and not a success. */
        if (deliver_close(d) < 0)
                r = EX_TEMPFAIL;
        return r;
}

int tick_main(const char *config_path, const char *now_arg, int argc, char **argv)
{
        static const struct option opts[] = {
                {"at", required_argument, NULL, 'a'},
                {"dry-run", no_argument, NULL, 'n'},
                {0},
        };
        const char *when = now_arg;
        bool dry = false;
        struct loaded l = {0};
        int opt, r;

        optind = 1;
        while ((opt = getopt_long(argc, argv, "a:n", opts, NULL)) != -1) {
                if (opt == 'a')
                        when = optarg;
                else if (opt == 'n')
                        dry = true;
                else
                        return EX_USAGE;
        }
        if (optind != argc) {
                fprintf(stderr, "deadlined: tick: unexpected argument '%s'\n", argv[optind]);
                return EX_USAGE;
        }
        r = load(config_path, when, true, &l);
        if (r == 0)
                r = dry ? tick_dry(&l) : tick_run(&l);
        loaded_free(&l);
        return r;
}

struct hist {
        const struct model *m;
        json_t *json; /* NULL: table */
};

static int print_row(const struct ledger_row *row, void *userdata)
{
        struct hist *h = userdata;
        char when[48], fire[48];

        if (h->json) {
                json_array_append_new(
                        h->json,
                        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:s?, s:s?, s:I, s:I}",
                                  "key", row->key, "deadline", row->deadline, "due", row->due,
                                  "slot", row->slot, "recipient", row->recipient, "fire_at",
                                  (json_int_t)row->fire_at, "state", row->state, "attempts",
                                  (json_int_t)row->attempts, "next_attempt",
                                  (json_int_t)row->next_attempt, "last_error", row->last_error,
                                  "message_id", row->message_id, "created",
                                  (json_int_t)row->created, "updated", (json_int_t)row->updated));
                return 0;
        }
        printf("%s  %-7s  %s  %s  %s  %s  fired %s  attempts %lld%s%s\n",
               tz_format_local(h->m->set.tz, row->updated, when, sizeof(when)), row->state,
               row->recipient, row->deadline, row->due, row->slot,
               tz_format_local(h->m->set.tz, row->fire_at, fire, sizeof(fire)),
               (long long)row->attempts, row->last_error ? "  " : "",
               row->last_error ? row->last_error : "");
        return 0;
}

int history_main(const char *config_path, int argc, char **argv)
{
        static const struct option opts[] = {
                {"json", no_argument, NULL, 'j'},
                {"deadline", required_argument, NULL, 'd'},
                {0},
        };
        const char *deadline = NULL;
        struct hist h = {0};
        struct loaded l = {0};
        struct ledger *led = NULL;
        bool json = false;
        int opt, r;

        optind = 1;
        while ((opt = getopt_long(argc, argv, "jd:", opts, NULL)) != -1) {
                if (opt == 'j')
                        json = true;
                else if (opt == 'd')
                        deadline = optarg;
                else
                        return EX_USAGE;
        }
        if (optind != argc) {
                fprintf(stderr, "deadlined: history: unexpected argument '%s'\n", argv[optind]);
                return EX_USAGE;
        }
        r = load(config_path, NULL, false, &l);
        if (r == 0 && ledger_open(ledger_state_dir(l.m->set.state_dir), &led) < 0)
                r = EX_SOFTWARE;
        if (r == 0) {
                h.m = l.m;
                h.json = json ? json_array() : NULL;
                r = ledger_history(led, deadline, print_row, &h) < 0 ? EX_SOFTWARE : 0;
        }
        if (r == 0 && h.json) {
                json_dumpf(h.json, stdout, JSON_INDENT(2));
                printf("\n");
        }
        json_decref(h.json);
        ledger_close(led);
        loaded_free(&l);
        return r;
}

int send_test_main(const char *config_path, const char *now_arg, int argc, char **argv)
{
        static const struct option opts[] = {
                {"to", required_argument, NULL, 't'},
                {"webhook", required_argument, NULL, 'w'},
                {0},
        };
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        const char *to = NULL, *hook = NULL;
        struct deliverer *d = NULL;
        struct loaded l = {0};
        int opt, r;

        optind = 1;
        while ((opt = getopt_long(argc, argv, "t:w:", opts, NULL)) != -1) {
                if (opt == 't')
                        to = optarg;
                else if (opt == 'w')
                        hook = optarg;
                else
                        return EX_USAGE;
        }
        if (optind != argc || !to == !hook) {
                fprintf(stderr, "deadlined: send-test needs exactly one of --to ADDR or "
                                "--webhook NAME\n");
                return EX_USAGE;
        }
        r = load(config_path, now_arg, false, &l);
        if (r == 0 && sd_event_new(&e) < 0)
                r = EX_OSERR;
        if (r == 0)
                r = open_deliverer(e, l.m, &d);
        if (r == 0) {
                deliver_set_output(d, stdout);
                int k = deliver_test(d, l.m, to, hook, l.now, on_done, e);
                if (k == -ENOENT || k == -EINVAL)
                        fprintf(stderr, "deadlined: send-test: %s '%s'\n",
                                hook ? "no such webhook" : "invalid address", hook ? hook : to);
                r = k < 0 ? EX_USAGE : 0;
        }
        if (r == 0) {
                run_bounded(e, send_bound(l.m));
                r = deliver_busy(d) || deliver_stats(d)->sent == 0 ? EX_UNAVAILABLE : 0;
        }
        deliver_free(d);
        loaded_free(&l);
        return r;
}
