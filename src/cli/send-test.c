/* send-test.c: `send-test`, one test message through a channel (an address
 * or a named webhook), sent by the daemon's delivery code. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <sysexits.h>

#include "deadlined/cli/command.h"
#include "deadlined/cli/send-test.h"

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
        r = command_load(config_path, now_arg, false, &l);
        if (r == 0 && sd_event_new(&e) < 0)
                r = EX_OSERR;
        if (r == 0)
                r = command_open_deliverer(e, l.m, &d);
        if (r == 0) {
                deliver_set_output(d, stdout);
                int k = deliver_test(d, l.m, to, hook, l.now, command_done, e);
                if (k == -ENOENT || k == -EINVAL)
                        fprintf(stderr, "deadlined: send-test: %s '%s'\n",
                                hook ? "no such webhook" : "invalid address", hook ? hook : to);
                r = k < 0 ? EX_USAGE : 0;
        }
        if (r == 0) {
                command_run(e, l.m);
                r = deliver_busy(d) || deliver_stats(d)->sent == 0 ? EX_UNAVAILABLE : 0;
        }
        deliver_free(d);
        command_unload(&l);
        return r;
}
