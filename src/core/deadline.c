/* deadline.c: rules x people -> deadlines; commitments -> deadlines. Pure. */
#include <stdio.h>
#include <string.h>

#include "deadlined/core/deadline.h"

/* Amortised O(1) append: the array doubles, so 200k deadlines cost ~18 reallocs. */
static struct deadline *deadlines_push(struct deadlines *ds)
{
        if (ds->n == ds->cap) {
                size_t cap = ds->cap ? ds->cap * 2 : 64;

                ds->v = xreallocarray(ds->v, cap, sizeof(*ds->v));
                ds->cap = cap;
        }
        return &ds->v[ds->n++];
}

static bool term_matches_person(const struct model *m, const struct sel_term *t, uint32_t pi)
{
        const struct person *p = &m->people[pi];

        switch (t->kind) {
        case SEL_ALL:
        case SEL_PEOPLE:
                return true;
        case SEL_ROLE:
                return person_has_role(m, p, t->ref);
        case SEL_ORG:
                return p->org == t->ref;
        case SEL_PERSON:
                return pi == t->ref;
        default:
                return false;
        }
}

static bool selector_matches_person(const struct model *m, const struct selector *s, uint32_t pi)
{
        for (uint32_t i = 0; i < s->n; i++)
                if (term_matches_person(m, &s->terms[i], pi))
                        return true;
        return false;
}

/* First-cycle due day: anchor + within, capped by not_after; only a cap -> the cap. */
static dl_day rule_first_due(const struct rule *r, dl_day anchor)
{
        dl_day due;

        if (!r->has_within)
                /* Config requires within or not_after; the anchor is the safe fallback. */
                return r->not_after != DATE_NONE ? r->not_after : anchor;
        due = date_add(anchor, r->within);
        if (r->not_after != DATE_NONE && r->not_after < due)
                due = r->not_after;
        return due;
}

static uint8_t open_status(dl_day due, dl_day today)
{
        return due < today ? ST_OVERDUE : ST_UPCOMING;
}

static void rule_fill(const struct rule *r, dl_day anchor, dl_day done, dl_day today,
                      struct deadline *d)
{
        d->kind = DL_RULE;
        d->due = (struct dl_date){.day = rule_first_due(r, anchor), .prec = PREC_DAY, .minute = -1};
        d->done = DATE_NONE;

        if (done == DATE_NONE) {
                d->status = open_status(d->due.day, today);
        } else if (r->recurring) {
                /* The completion closed the previous cycle; this is the next one. */
                d->due.day = date_add(done, r->every);
                if (r->not_after != DATE_NONE && r->not_after < d->due.day)
                        d->due.day = r->not_after;
                d->status = open_status(d->due.day, today);
        } else {
                d->done = done;
                d->status = done <= d->due.day ? ST_MET : ST_LATE_MET;
        }
}

static void derive_rule(const struct model *m, uint32_t ri, dl_day today, struct deadlines *out,
                        struct diags *warn)
{
        const struct rule *r = &m->rules[ri];

        for (uint32_t pi = 0; pi < m->npeople; pi++) {
                const struct person *p = &m->people[pi];
                dl_day anchor, done = DATE_NONE;
                struct deadline *d;

                if (!selector_matches_person(m, &r->applies_to, pi))
                        continue;
                anchor = p->dates[r->anchor_field];
                if (anchor == DATE_NONE) {
                        if (warn)
                                diag_warn(warn, p->file, p->line,
                                          "person '%s' has no '%s' date; rule '%s' skipped", p->id,
                                          m->fields[r->anchor_field], r->id);
                        continue;
                }
                if (r->done_field != IDX_NONE)
                        done = p->dates[r->done_field];
                d = deadlines_push(out);
                d->src = ri;
                d->person = pi;
                rule_fill(r, anchor, done, today, d);
        }
}

static uint8_t commitment_status(const struct commitment *c, dl_day today)
{
        switch (c->status) {
        case CST_MET:
                return ST_MET;
        case CST_MISSED:
                return ST_MISSED;
        case CST_DROPPED:
                return ST_DROPPED;
        default:
                return open_status(c->due.day, today);
        }
}

int deadline_derive(const struct model *m, dl_day today, struct deadlines *out, struct diags *warn)
{
        *out = (struct deadlines){0};

        for (uint32_t ci = 0; ci < m->ncommitments; ci++) {
                const struct commitment *c = &m->commitments[ci];
                struct deadline *d = deadlines_push(out);

                *d = (struct deadline){
                    .src = ci,
                    .person = IDX_NONE,
                    .due = c->due,
                    .done = DATE_NONE,
                    .kind = DL_COMMITMENT,
                    .status = commitment_status(c, today),
                };
        }
        for (uint32_t ri = 0; ri < m->nrules; ri++)
                derive_rule(m, ri, today, out, warn);
        return 0;
}

void deadlines_free(struct deadlines *ds)
{
        free(ds->v);
        *ds = (struct deadlines){0};
}

size_t deadline_id(const struct model *m, const struct deadline *d, char *buf, size_t len)
{
        int r;

        if (d->kind == DL_RULE)
                r = snprintf(buf, len, "rule/%s/%s", m->rules[d->src].id, m->people[d->person].id);
        else
                r = snprintf(buf, len, "commitment/%s", m->commitments[d->src].id);
        return r < 0 ? 0 : (size_t)r;
}

const char *deadline_title(const struct model *m, const struct deadline *d)
{
        const char *t, *id;

        if (d->kind == DL_RULE) {
                t = m->rules[d->src].title;
                id = m->rules[d->src].id;
        } else {
                t = m->commitments[d->src].title;
                id = m->commitments[d->src].id;
        }
        return t ? t : id;
}

const struct remind_spec *deadline_remind(const struct model *m, const struct deadline *d)
{
        if (d->kind == DL_RULE)
                return &m->rules[d->src].remind;
        return &m->commitments[d->src].remind;
}

const char *deadline_status_name(int status)
{
        static const char *const names[] = {
            [ST_UPCOMING] = "upcoming", [ST_OVERDUE] = "overdue", [ST_MET] = "met",
            [ST_LATE_MET] = "late-met", [ST_MISSED] = "missed",   [ST_DROPPED] = "dropped",
        };

        if (status < 0 || (size_t)status >= ELEMENTSOF(names))
                return "unknown";
        return names[status];
}

bool deadline_active(const struct deadline *d)
{
        return d->status == ST_UPCOMING || d->status == ST_OVERDUE;
}

static bool term_selects(const struct model *m, const struct sel_term *t, const struct deadline *d)
{
        switch (t->kind) {
        case SEL_ALL:
                return true;
        case SEL_COMMITMENTS:
                return d->kind == DL_COMMITMENT;
        case SEL_PEOPLE:
                return d->kind == DL_RULE;
        case SEL_RULE:
                return d->kind == DL_RULE && d->src == t->ref;
        case SEL_ROLE:
        case SEL_ORG:
        case SEL_PERSON:
                return d->kind == DL_RULE && term_matches_person(m, t, d->person);
        default:
                return false;
        }
}

bool deadline_selected(const struct model *m, const struct selector *s, const struct deadline *d)
{
        for (uint32_t i = 0; i < s->n; i++)
                if (term_selects(m, &s->terms[i], d))
                        return true;
        return false;
}

int32_t deadline_days_left(const struct deadline *d, dl_day today)
{
        return d->due.day - today;
}
