/* command.c: the start and the loop the delivery commands share. tick and
 * send-test run the daemon's delivery code to completion on their own
 * sd_event loop, bounded by twice the send timeout, so cron and tests
 * exercise exactly the daemon's code. */
#include <errno.h>
#include <stdio.h>
#include <sysexits.h>
#include <time.h>

#include "deadlined/base/log.h"
#include "deadlined/cli/command.h"
#include "deadlined/core/tz.h"

int command_load(const char *config_path, const char *when, bool derive, struct loaded *l)
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

void command_unload(struct loaded *l)
{
        deadlines_free(&l->ds);
        if (l->m)
                model_free(l->m);
}

void command_done(void *userdata)
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

int command_run(sd_event *e, const struct model *m)
{
        return run_bounded(e, send_bound(m));
}

int command_open_deliverer(sd_event *e, const struct model *m, struct deliverer **d)
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
