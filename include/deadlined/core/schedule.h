/* schedule.h: when each deadline's reminders fire, as data. Pure.
 * Lead reminders fire at send_at local time, lead before the due day; overdue
 * notices fire the day after the due day, then every overdue_every until done. */
#pragma once
#include <stdint.h>
#include "deadlined/core/deadline.h"
#include "deadlined/core/tz.h"

#define OVERDUE_MAX 520 /* a bound on repeats: ten years of weekly nagging */

struct reminder {
        int64_t at; /* UTC instant */
        dl_day day; /* local day it fires */
        int16_t lead;   /* index into remind.leads, or -1 for an overdue notice */
        int32_t repeat; /* overdue notice number (0 = the day after due), -1 for leads */
};

typedef int (*schedule_fn)(const struct deadline *d, const struct reminder *r, void *userdata);

/* Call fn for each reminder of d with from <= at < to, in time order. Inactive
 * deadlines (met, dropped, missed) have none. Stops early if fn returns nonzero
 * and returns that value. */
int schedule_between(const struct model *m, const struct deadline *d, int64_t from, int64_t to,
                     schedule_fn fn, void *userdata);
/* The first reminder with at >= after. Returns 0, or -ENOENT if there is none. */
int schedule_next(const struct model *m, const struct deadline *d, int64_t after,
                  struct reminder *out);
/* Stable reminder key without recipient: "ID|DUE|lead:6m" or "ID|DUE|overdue:3".
 * DUE keeps keys of different cycles of a recurring rule apart. */
size_t schedule_key(const struct model *m, const struct deadline *d, const struct reminder *r,
                    char *buf, size_t len);

/* Resolved recipient of one notify entry: an email address or a webhook. */
struct recipient {
        uint8_t kind; /* RCPT_EMAIL or RCPT_WEBHOOK after resolution */
        const char *email;
        uint32_t webhook;
};
/* Resolve d's notify list (person -> their email, manager -> the manager's
 * email). Entries that resolve to nothing (no email on file) are skipped;
 * duplicates are removed. Returns the count written to out (<= MAX_NOTIFY). */
size_t schedule_recipients(const struct model *m, const struct deadline *d,
                           struct recipient out[MAX_NOTIFY]);
