/* agenda.h: what is due, overdue or reminded about in a window of days. */
#pragma once
#include <stdbool.h>
#include "deadlined/core/deadline.h"
#include "deadlined/core/schedule.h"

struct agenda_opts {
        dl_day today; /* for days left */
        dl_day from;  /* first local day of the window */
        long days;    /* window length */
        bool json;
};

struct agenda_row {
        const struct deadline *d;
        dl_day due;      /* copies of what the sort compares, so qsort does not */
        uint8_t overdue; /* chase d into a 200k-entry array on every comparison */
        struct reminder next; /* first reminder in the window, or at >= window start */
        bool has_next;
};

/* Pure: the rows of the window, overdue ones first, then by due day and id.
 * A deadline is listed when it is overdue, due in the window, or has a reminder
 * in the window. Returns the count; *rows is malloc'ed. */
size_t agenda_rows(const struct model *m, const struct deadlines *ds, const struct agenda_opts *o,
                   struct agenda_row **rows);
