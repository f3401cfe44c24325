/* deadline.h: rules x people -> deadlines; commitments -> deadlines. Pure:
 * `today` (a local day in the model's zone) is an argument. */
#pragma once
#include <stddef.h>
#include "deadlined/base/diag.h"
#include "deadlined/core/model.h"

enum dl_kind { DL_COMMITMENT, DL_RULE };
enum dl_status { ST_UPCOMING, ST_OVERDUE, ST_MET, ST_LATE_MET, ST_MISSED, ST_DROPPED };

struct deadline {
        uint32_t src;    /* rule or commitment index */
        uint32_t person; /* IDX_NONE for commitments */
        struct dl_date due;
        dl_day done; /* DATE_NONE unless met */
        uint8_t kind, status;
};

struct deadlines {
        struct deadline *v;
        size_t n, cap;
};

/* Derive every deadline: commitments in config order, then each rule (config
 * order) for each person it applies to (roster order). Status follows DESIGN:
 * met (done <= due), late-met (done > due), overdue (due < today, not done),
 * upcoming; commitments keep their configured status, open past due -> overdue.
 * Recurring rules (every =): due = done + every once done is set, else anchor + within.
 * A person the rule applies to but who lacks the anchor date gets a warning in
 * warn (may be NULL), not a deadline. */
int deadline_derive(const struct model *m, dl_day today, struct deadlines *out,
                    struct diags *warn);
void deadlines_free(struct deadlines *ds);

/* "rule/RULE/PERSON" or "commitment/ID". Returns the length (snprintf-style). */
size_t deadline_id(const struct model *m, const struct deadline *d, char *buf, size_t len);
const char *deadline_title(const struct model *m, const struct deadline *d);
const struct remind_spec *deadline_remind(const struct model *m, const struct deadline *d);
const char *deadline_status_name(int status); /* "upcoming", "late-met", ... */
bool deadline_active(const struct deadline *d); /* upcoming or overdue: reminders apply */
bool deadline_selected(const struct model *m, const struct selector *s, const struct deadline *d);
/* Days from today to due (negative when past). */
int32_t deadline_days_left(const struct deadline *d, dl_day today);
