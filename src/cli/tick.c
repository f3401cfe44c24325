/* tick.c: `tick`, one delivery pass as of a time, run to completion (or
 * with --dry-run, the plan printed and nothing claimed or sent). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <sysexits.h>
#include <unistd.h>

#include "deadlined/base/log.h"
#include "deadlined/cli/command.h"
#include "deadlined/cli/tick.h"
#include "deadlined/core/plan.h"

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
        r = command_open_deliverer(e, l->m, &d);
        if (r)
                return r;
        r = tick_lock(d, l->m);
        if (r) {
                deliver_free(d);
                return r;
        }
        deliver_set_output(d, stdout);
        r = deliver_pass(d, l->m, &l->ds, l->now, command_done, e);
        if (r < 0) {
                deliver_free(d);
                /* A locked or full ledger is worth retrying (cron will); anything else is not. */
                return r == -EBUSY || r == -ENOSPC || r == -EAGAIN ? EX_TEMPFAIL : EX_SOFTWARE;
        }
        r = command_run(e, l->m);
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
        r = command_load(config_path, when, true, &l);
        if (r == 0)
                r = dry ? tick_dry(&l) : tick_run(&l);
        command_unload(&l);
        return r;
}
