/* history.c: `history`, the reminder ledger newest first, as a table or as
 * JSON. Reads the ledger only: it needs no deadlines. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <sysexits.h>

#include "deadlined/cli/command.h"
#include "deadlined/cli/history.h"
#include "deadlined/core/tz.h"
#include "deadlined/deliver/ledger.h"

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
        r = command_load(config_path, NULL, false, &l);
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
        command_unload(&l);
        return r;
}
