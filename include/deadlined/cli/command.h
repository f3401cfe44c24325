/* command.h: what the delivery commands (tick, history, send-test) share:
 * the configuration loaded as of a time, the deliverer over its ledger, and
 * a loop run to completion within a bound. Each returns a sysexits code. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include "deadlined/config/config.h"
#include "deadlined/deliver/deliver.h"

struct loaded {
        struct model *m;
        struct deadlines ds;
        int64_t now;
};

/* Load config_path as of when (NULL: the clock); derive the deadlines too. */
int command_load(const char *config_path, const char *when, bool derive, struct loaded *l);
void command_unload(struct loaded *l);
/* A deliverer over the model's state directory. */
int command_open_deliverer(sd_event *e, const struct model *m, struct deliverer **d);
/* Run e until command_done, or for at most twice the model's send timeout. */
int command_run(sd_event *e, const struct model *m);
/* A deliver_done_fn: userdata is the sd_event to leave. */
void command_done(void *userdata);
