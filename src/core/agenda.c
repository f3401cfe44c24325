/* agenda.c: the window view behind `deadlined agenda`: which deadlines and
 * reminders fall in a window, pure. Printing is src/cli/agenda-print.c. */
#include <string.h>

#include "deadlined/core/agenda.h"
#include "deadlined/core/tz.h"


static int row_cmp(const void *a, const void *b)
{
        const struct agenda_row *x = a, *y = b;

        if (x->overdue != y->overdue)
                return y->overdue - x->overdue; /* overdue first */
        if (x->due != y->due)
                return x->due < y->due ? -1 : 1;
        /* Derivation order is deterministic: use it to break ties. */
        return x->d < y->d ? -1 : x->d > y->d;
}

size_t agenda_rows(const struct model *m, const struct deadlines *ds, const struct agenda_opts *o,
                   struct agenda_row **rows)
{
        int64_t from_t = tz_local_to_utc(m->set.tz, o->from, 0);
        int64_t to_t = tz_local_to_utc(m->set.tz, o->from + (dl_day)o->days, 0);
        dl_day end = o->from + (dl_day)o->days;
        struct agenda_row *v = NULL;
        size_t n = 0, cap = 0;

        for (size_t i = 0; i < ds->n; i++) {
                const struct deadline *d = &ds->v[i];
                struct agenda_row row = {.d = d, .due = d->due.day,
                                         .overdue = d->status == ST_OVERDUE};
                row.has_next = schedule_next(m, d, from_t, &row.next) == 0;
                bool in_window = d->due.day >= o->from && d->due.day < end;
                bool reminded = row.has_next && row.next.at < to_t;
                if (!in_window && !reminded && d->status != ST_OVERDUE)
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 64;
                        v = xreallocarray(v, cap, sizeof(*v));
                }
                v[n++] = row;
        }
        if (n)
                qsort(v, n, sizeof(*v), row_cmp);
        *rows = v;
        return n;
}
