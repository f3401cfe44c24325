/* config.h: load the main file, its include = DIR drop-ins and the CSV roster
 * into a model, validating every value. This is shell code (it reads files);
 * what it builds is the pure core's input. */
#pragma once
#include "deadlined/base/diag.h"
#include "deadlined/core/model.h"

#define CONFIG_DEFAULT_PATH "/etc/deadlined/deadlined.conf"
#define ROSTER_MAX_BYTES (512ull << 20) /* a bigger roster is refused, not OOM'd */

/* Returns 0 and a model, or a negative errno with every problem recorded in d
 * (as many as found, not just the first). Warnings may be recorded on success. */
int config_load(const char *path, struct model **out, struct diags *d);
/* One-line summary for `check`: "12 people, 14 rules, 30 commitments, 3 feeds ...". */
char *config_summary(const struct model *m);
