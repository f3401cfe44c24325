/* agenda-print.h: the agenda command's output (table or JSON). */
#pragma once
#include <stdio.h>
#include "deadlined/core/agenda.h"

/* Print the table (or JSON, o->json) of agenda_rows(). Returns 0 or -EIO
 * (also when the flush fails: a full disk, a closed pipe). */
int agenda_print(FILE *f, const struct model *m, const struct deadlines *ds,
                 const struct agenda_opts *o);
