/* schedule.c: when each deadline's reminders fire. Pure.
 *
 * Speed matters: the daemon asks about every deadline (200k and more) for a
 * one-day window, and converting a local time to UTC is the expensive step.
 * So candidate days go through two cheap filters first: a coarse one on UTC
 * days (no zone lookup at all), then a fine one on local wall-clock seconds
 * against the window's ends (two offset lookups per call, done lazily). Only
 * survivors are converted exactly. Overdue repeats are located
 * arithmetically, not by walking from the first one. */
#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include "deadlined/core/schedule.h"

#define DAY_SECS 86400
#define HOUR_SECS 3600
/* Real UTC offsets since 1900 lie within -12 h .. +14 h. */
#define MAX_OFFSET_SPAN (26 * HOUR_SECS)
/* Within a window this short, every offset in effect stays within 2 h of the
 * offsets at its ends, in every zone since 1900 (DST, Ramadan suspensions). */
#define SHORT_WINDOW (32 * DAY_SECS)

struct window {
        int64_t from, to; /* to == INT64_MAX: unbounded */
        dl_day lo, hi;    /* coarse: a local day outside [lo, hi] cannot fire in the window */
        bool fine;        /* lf, lt and slack computed */
        int64_t lf, lt;   /* from and to as local wall-clock seconds */
        int64_t slack;    /* how far wall clock and UTC order may disagree */
};

static dl_day utc_day_floor(int64_t t)
{
        int64_t q = t / DAY_SECS;

        if (t % DAY_SECS < 0)
                q--;
        if (q < INT32_MIN + 8)
                return INT32_MIN + 8;
        if (q > INT32_MAX - 8)
                return INT32_MAX - 8;
        return (dl_day)q;
}

static struct window window_make(int64_t from, int64_t to)
{
        return (struct window){
            .from = from,
            .to = to,
            .lo = utc_day_floor(from) - 2,
            .hi = utc_day_floor(to) + 2,
        };
}

static const struct tz *model_tz(const struct model *m)
{
        return m->set.tz ? m->set.tz : tz_utc();
}

/* For an instant at in [from, to), wall(at) - wall(from) >= off(at) - off(from),
 * and likewise at the other end. A time in a spring gap fires at the end of
 * the gap, as if at the offset before it, so the offset just before from
 * counts too (Samoa skipped a whole day in 2011). In a short window every
 * such offset is within 2 h of those sampled here; longer or unbounded
 * windows use the largest offset span. */
static void window_refine(const struct tz *tz, struct window *w)
{
        int32_t off_before = tz_offset_at(tz, w->from - MAX_OFFSET_SPAN, NULL);
        int32_t off_from = tz_offset_at(tz, w->from, NULL);
        int32_t off_to = w->to == INT64_MAX ? off_from : tz_offset_at(tz, w->to, NULL);
        int32_t lo = off_before, hi = off_before;

        lo = off_from < lo ? off_from : lo;
        lo = off_to < lo ? off_to : lo;
        hi = off_from > hi ? off_from : hi;
        hi = off_to > hi ? off_to : hi;
        w->lf = w->from + off_from;
        w->lt = w->to == INT64_MAX ? INT64_MAX : w->to + off_to;
        if (w->to - w->from <= SHORT_WINDOW)
                w->slack = (int64_t)hi - lo + 2 * HOUR_SECS;
        else
                w->slack = MAX_OFFSET_SPAN;
        w->fine = true;
}

/* -1: the reminder on this local day is surely before the window; +1: surely
 * at or after its end; 0: convert and compare exactly. */
static int window_place(const struct model *m, struct window *w, dl_day day)
{
        int64_t wall;

        if (day < w->lo)
                return -1;
        if (day > w->hi)
                return 1;
        /* Extreme ends (INT64_MIN/MAX) are open: the coarse test decides. */
        if (w->from < -(INT64_C(1) << 40) || (w->to != INT64_MAX && w->to > (INT64_C(1) << 40)))
                return 0;
        if (!w->fine)
                window_refine(model_tz(m), w);
        wall = (int64_t)day * DAY_SECS + (int64_t)m->set.send_at * 60;
        if (wall + w->slack < w->lf)
                return -1;
        if (w->lt != INT64_MAX && wall - w->slack >= w->lt)
                return 1;
        return 0;
}

static void reminder_at(const struct model *m, dl_day day, struct reminder *r)
{
        r->day = day;
        r->at = tz_local_to_utc(model_tz(m), day, m->set.send_at);
}

/* Lead days in time order. Leads are stored longest first, but mixed units
 * (1m vs 30d) need not give ascending days, so sort: at most MAX_LEADS items.
 * Equal days keep lead order; a later day never fires at an earlier instant. */
static unsigned lead_days(const struct remind_spec *rs, dl_day due, dl_day days[MAX_LEADS],
                          int16_t idx[MAX_LEADS])
{
        unsigned n = 0;

        for (unsigned i = 0; i < rs->nleads && i < MAX_LEADS; i++) {
                dl_day day = date_sub(due, rs->leads[i]);
                unsigned j = n++;

                for (; j > 0 && days[j - 1] > day; j--) {
                        days[j] = days[j - 1];
                        idx[j] = idx[j - 1];
                }
                days[j] = day;
                idx[j] = (int16_t)i;
        }
        return n;
}

/* An upper bound in days on the longest lead, without calendar arithmetic. */
static int64_t lead_span(const struct remind_spec *rs)
{
        int64_t span = 0;

        for (unsigned i = 0; i < rs->nleads && i < MAX_LEADS; i++) {
                int64_t s = (int64_t)rs->leads[i].months * 31 + rs->leads[i].days;

                if (s > span)
                        span = s;
        }
        return span;
}

static int32_t overdue_count(const struct remind_spec *rs)
{
        return dur_is_zero(rs->overdue_every) ? 1 : OVERDUE_MAX;
}

/* The first repeat that may land on or after day lo. Every repeat n < the
 * result is before lo, because n periods span at most n * (31 * months + days). */
static int32_t overdue_first(const struct remind_spec *rs, dl_day base, dl_day lo)
{
        int64_t maxp = (int64_t)rs->overdue_every.months * 31 + rs->overdue_every.days;
        int64_t n;

        if (lo <= base || maxp <= 0)
                return 0;
        n = ((int64_t)lo - base) / maxp;
        while (n < OVERDUE_MAX && date_add_n(base, rs->overdue_every, (int32_t)n) < lo)
                n++;
        return (int32_t)n;
}

/* One deadline's reminders within one window, as they are handed to fn. */
struct emit {
        const struct model *m;
        const struct deadline *d;
        struct window w;
        schedule_fn fn;
        void *userdata;
};

/* Hand fn the reminder r on day if it falls in the window; fn's nonzero
 * result is returned. *past is set once day is after the window: later
 * days cannot fall in it either. */
static int emit_one(struct emit *e, dl_day day, struct reminder *r, bool *past)
{
        int where = window_place(e->m, &e->w, day);

        *past = where > 0;
        if (where != 0)
                return 0;
        reminder_at(e->m, day, r);
        if (r->at < e->w.from)
                return 0;
        *past = r->at >= e->w.to;
        return *past ? 0 : e->fn(e->d, r, e->userdata);
}

static int emit_leads(struct emit *e)
{
        const struct remind_spec *rs = deadline_remind(e->m, e->d);
        dl_day due = e->d->due.day, days[MAX_LEADS];
        int16_t idx[MAX_LEADS];
        unsigned n;

        /* Every lead is on or before the due day and within the longest span. */
        if (rs->nleads == 0 || due < e->w.lo || due - lead_span(rs) > e->w.hi)
                return 0;
        n = lead_days(rs, due, days, idx);
        for (unsigned i = 0; i < n; i++) {
                struct reminder r = {.lead = idx[i], .repeat = -1};
                bool past;
                int k = emit_one(e, days[i], &r, &past);

                if (k != 0 || past)
                        return k;
        }
        return 0;
}

static int emit_overdue(struct emit *e)
{
        const struct remind_spec *rs = deadline_remind(e->m, e->d);
        dl_day base = e->d->due.day + 1;
        int32_t nmax = overdue_count(rs);

        if (base > e->w.hi)
                return 0;
        for (int32_t n = overdue_first(rs, base, e->w.lo); n < nmax; n++) {
                struct reminder r = {.lead = -1, .repeat = n};
                bool past;
                int k = emit_one(e, date_add_n(base, rs->overdue_every, n), &r, &past);

                if (k != 0 || past)
                        return k;
        }
        return 0;
}

int schedule_between(const struct model *m, const struct deadline *d, int64_t from, int64_t to,
                     schedule_fn fn, void *userdata)
{
        struct emit e = {.m = m, .d = d, .fn = fn, .userdata = userdata};
        int k;

        if (!deadline_active(d) || from >= to)
                return 0;
        e.w = window_make(from, to);
        /* Leads end on the due day and overdue notices start the day after. */
        k = emit_leads(&e);
        if (k != 0)
                return k;
        return emit_overdue(&e);
}

static int take_first(const struct deadline *d, const struct reminder *r, void *userdata)
{
        *(struct reminder *)userdata = *r;
        return 1;
}

int schedule_next(const struct model *m, const struct deadline *d, int64_t after,
                  struct reminder *out)
{
        if (schedule_between(m, d, after, INT64_MAX, take_first, out) == 1)
                return 0;
        return -ENOENT;
}

size_t schedule_key(const struct model *m, const struct deadline *d, const struct reminder *r,
                    char *buf, size_t len)
{
        const struct remind_spec *rs = deadline_remind(m, d);
        char day[16], dur[32], tail[48];
        size_t n;
        int k;

        date_format(d->due.day, day, sizeof(day));
        if (r->lead >= 0 && r->lead < rs->nleads)
                snprintf(tail, sizeof(tail), "lead:%s",
                         dur_format(rs->leads[r->lead], dur, sizeof(dur)));
        else
                snprintf(tail, sizeof(tail), "overdue:%d", (int)r->repeat);

        n = deadline_id(m, d, buf, len);
        if (n < len)
                k = snprintf(buf + n, len - n, "|%s|%s", day, tail);
        else
                k = snprintf(NULL, 0, "|%s|%s", day, tail);
        return n + (k < 0 ? 0 : (size_t)k);
}

static bool have_email(const struct recipient *out, size_t n, const char *email)
{
        for (size_t i = 0; i < n; i++)
                if (out[i].kind == RCPT_EMAIL && strcasecmp(out[i].email, email) == 0)
                        return true;
        return false;
}

static bool have_webhook(const struct recipient *out, size_t n, uint32_t webhook)
{
        for (size_t i = 0; i < n; i++)
                if (out[i].kind == RCPT_WEBHOOK && out[i].webhook == webhook)
                        return true;
        return false;
}

/* The email a notify entry names, or NULL when there is none on file. */
static const char *spec_email(const struct model *m, const struct deadline *d,
                              const struct recipient_spec *s)
{
        const struct person *p;

        if (s->kind == RCPT_EMAIL)
                return s->email;
        if (d->kind != DL_RULE || d->person == IDX_NONE)
                return NULL;
        p = &m->people[d->person];
        if (s->kind == RCPT_MANAGER) {
                if (p->manager == IDX_NONE)
                        return NULL;
                p = &m->people[p->manager];
        }
        return p->email;
}

size_t schedule_recipients(const struct model *m, const struct deadline *d,
                           struct recipient out[MAX_NOTIFY])
{
        const struct remind_spec *rs = deadline_remind(m, d);
        size_t n = 0;

        for (unsigned i = 0; i < rs->nnotify && i < MAX_NOTIFY; i++) {
                const struct recipient_spec *s = &rs->notify[i];
                const char *email;

                if (s->kind == RCPT_WEBHOOK) {
                        if (!have_webhook(out, n, s->webhook))
                                out[n++] =
                                    (struct recipient){.kind = RCPT_WEBHOOK, .webhook = s->webhook};
                        continue;
                }
                email = spec_email(m, d, s);
                if (!email || !*email || have_email(out, n, email))
                        continue;
                out[n++] =
                    (struct recipient){.kind = RCPT_EMAIL, .email = email, .webhook = IDX_NONE};
        }
        return n;
}
