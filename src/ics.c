/* ics.c: render deadlines as an iCalendar feed (RFC 5545 + RFC 7986).
 *
 * Every VEVENT is built as its own small libical tree, serialised with
 * icalcomponent_as_ical_string_r, appended and freed. A tree of the whole
 * calendar would cost memory proportional to the number of events times
 * libical's per-property overhead; this way the peak is the output bytes plus
 * one event. libical does the TEXT escaping, the CRLF line endings and the
 * folding at 75 octets (3.0.16 never splits a UTF-8 sequence: tested; it can
 * split a CRLF, which mend_split_crlf repairs).
 *
 * The text of each event is first assembled into struct ev (NUL-separated
 * fields in one reused buffer). ics_event_hash hashes exactly those bytes, so
 * the hash covers the content and nothing else (not DTSTAMP, LAST-MODIFIED or
 * SEQUENCE, which derive from it). */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <libical/ical.h>

#include "deadlined/date.h"
#include "deadlined/deadline.h"
#include "deadlined/ics.h"
#include "deadlined/model.h"
#include "deadlined/util.h"

#define ICS_PRODID "-//deadlined//deadlined 0.1//EN"
#define ICS_DEFAULT_TITLE "deadlined: all deadlines"
#define ICS_LIST_TITLE "deadlined reminder"
#define ICS_DEFAULT_DOMAIN "deadlined.invalid"

enum ev_field { F_UID, F_SUMMARY, F_DESC, F_URL, F_CATS, F_REST, F_N };

/* One event's content. Field texts live NUL-separated in sb; off[] indexes them
 * (offsets, not pointers, because sb may move while growing). F_REST spells out
 * the non-text fields so that sb alone is what ics_event_hash hashes. */
struct ev {
        struct strbuf sb;
        size_t off[F_N];
        dl_day start;
        bool cancelled;
        int32_t alarm_days[MAX_LEADS]; /* lead -> days before the due day */
        uint8_t nalarms;
};

/* Plain concatenation: sb_appendf formats twice per call, and this runs
 * about ten times per event. */
__attribute__((sentinel)) static void cat(struct strbuf *sb, ...)
{
        va_list ap;

        va_start(ap, sb);
        for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
                sb_puts(sb, s);
        va_end(ap);
}

/* " <n>", for the non-text part of the hashed content. */
static void put_int(struct strbuf *sb, int32_t v)
{
        char buf[16], *p = buf + sizeof(buf);
        uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;

        do
                *--p = (char)('0' + u % 10);
        while (u /= 10);
        if (v < 0)
                *--p = '-';
        *--p = ' ';
        sb_append(sb, p, (size_t)(buf + sizeof(buf) - p));
}

static const char *ev_get(const struct ev *e, enum ev_field f)
{
        return e->sb.buf + e->off[f];
}

/* Close the field being written and open the next one. */
static void ev_next(struct ev *e, enum ev_field next)
{
        sb_append(&e->sb, "", 1);
        e->off[next] = e->sb.len;
}

static void ev_uid(const struct model *m, const struct deadline *d, struct ev *e)
{
        char buf[256];
        const char *domain = m->set.uid_domain ? m->set.uid_domain : ICS_DEFAULT_DOMAIN;
        size_t n = deadline_id(m, d, buf, sizeof(buf));

        if (n < sizeof(buf)) {
                sb_append(&e->sb, buf, n);
        } else {
                _cleanup_free_ char *big = xmalloc(n + 1);
                deadline_id(m, d, big, n + 1);
                sb_append(&e->sb, big, n);
        }
        cat(&e->sb, "@", domain, NULL);
}

static const char *person_name(const struct person *p)
{
        return p->name ? p->name : p->id;
}

static void ev_summary(const struct model *m, const struct deadline *d, struct ev *e)
{
        char label[64];

        if (d->kind == DL_RULE) {
                cat(&e->sb, deadline_title(m, d), ": ", person_name(&m->people[d->person]), NULL);
                return;
        }
        sb_puts(&e->sb, deadline_title(m, d));
        /* An all-day event on the 31st must not read as a real day. */
        if (d->due.prec != PREC_DAY)
                cat(&e->sb, " (", date_label(d->due, label, sizeof(label)), ")", NULL);
}

static void ev_who(const struct model *m, const struct deadline *d, struct strbuf *sb)
{
        const struct person *p = &m->people[d->person];

        cat(sb, "Who: ", person_name(p), NULL);
        for (uint8_t i = 0; i < p->nroles; i++)
                cat(sb, i ? ", " : " (", m->roles[p->roles[i]], NULL);
        if (p->nroles)
                sb_putc(sb, ')');
        if (p->org != IDX_NONE)
                cat(sb, ", ", m->orgs[p->org], NULL);
        cat(sb, "\nRule: ", deadline_title(m, d), "\n", NULL);
}

static void ev_description(const struct model *m, const struct deadline *d, struct ev *e)
{
        const bool rule = d->kind == DL_RULE;
        const char *source = rule ? m->rules[d->src].source : m->commitments[d->src].source;
        const char *text = rule ? m->rules[d->src].description : m->commitments[d->src].description;
        const char *owner = rule ? NULL : m->commitments[d->src].owner;
        char label[64], day[16];

        if (rule)
                ev_who(m, d, &e->sb);
        else if (owner)
                cat(&e->sb, "Owner: ", owner, "\n", NULL);
        cat(&e->sb, "Due: ", date_label(d->due, label, sizeof(label)), NULL);
        cat(&e->sb, "\nStatus: ", deadline_status_name(d->status), NULL);
        if ((d->status == ST_MET || d->status == ST_LATE_MET) && d->done != DATE_NONE)
                cat(&e->sb, " on ", date_format(d->done, day, sizeof(day)), NULL);
        if (source)
                cat(&e->sb, "\nSource: ", source, NULL);
        if (d->due.prec != PREC_DAY)
                sb_appendf(&e->sb, "\nThe %s gives only a %s; shown on its last day.",
                           rule ? "rule" : "commitment",
                           d->due.prec == PREC_MONTH ? "month" : "year");
        if (text)
                cat(&e->sb, "\n\n", text, NULL);
}

static void ev_alarms(const struct model *m, const struct deadline *d, struct ev *e)
{
        const struct remind_spec *rs = deadline_remind(m, d);

        e->nalarms = 0;
        if (!rs || !deadline_active(d))
                return;
        for (uint8_t i = 0; i < rs->nleads && i < MAX_LEADS; i++)
                e->alarm_days[e->nalarms++] = d->due.day - date_sub(d->due.day, rs->leads[i]);
}

/* Assemble the content of d into e (reusing e's buffer). */
static int ev_fill(const struct model *m, const struct deadline *d, struct ev *e)
{
        const char *url;

        if (d->due.day == DATE_NONE)
                return -EINVAL;
        if (d->kind == DL_RULE ? d->src >= m->nrules || d->person >= m->npeople
                               : d->src >= m->ncommitments)
                return -EINVAL;
        sb_reset(&e->sb);
        e->off[F_UID] = 0;
        ev_uid(m, d, e);
        ev_next(e, F_SUMMARY);
        ev_summary(m, d, e);
        ev_next(e, F_DESC);
        ev_description(m, d, e);
        ev_next(e, F_URL);
        url = d->kind == DL_RULE ? m->rules[d->src].url : m->commitments[d->src].url;
        sb_puts(&e->sb, url ? url : "");
        ev_next(e, F_CATS);
        if (d->kind == DL_RULE)
                cat(&e->sb, "qualification,", m->rules[d->src].id, NULL);
        else
                sb_puts(&e->sb, "commitment");
        e->start = d->due.day;
        e->cancelled = d->status == ST_DROPPED;
        ev_alarms(m, d, e);
        ev_next(e, F_REST);
        put_int(&e->sb, e->start);
        put_int(&e->sb, e->cancelled);
        for (uint8_t i = 0; i < e->nalarms; i++)
                put_int(&e->sb, e->alarm_days[i]);
        return 0;
}

uint64_t ics_event_hash(const struct model *m, const struct deadline *d)
{
        struct ev e = {0};
        uint64_t h = 0;

        if (ev_fill(m, d, &e) == 0)
                h = hash64(e.sb.buf, e.sb.len);
        sb_free(&e.sb);
        return h;
}

static struct icaltimetype ical_date(dl_day day)
{
        struct icaltimetype t = icaltime_null_date();
        int y, mo, dd;

        date_to_ymd(day, &y, &mo, &dd);
        t.year = y;
        t.month = mo;
        t.day = dd;
        return t;
}

/* By hand rather than icaltime_from_timet_with_zone: no libc time zone state. */
static struct icaltimetype ical_utc(int64_t t)
{
        struct icaltimetype tt = icaltime_null_time();
        int64_t days = t / 86400, secs = t % 86400;
        int y, mo, dd;

        if (secs < 0) {
                secs += 86400;
                days--;
        }
        date_to_ymd((dl_day)days, &y, &mo, &dd);
        tt.year = y;
        tt.month = mo;
        tt.day = dd;
        tt.hour = (int)(secs / 3600);
        tt.minute = (int)(secs / 60 % 60);
        tt.second = (int)(secs % 60);
        tt.zone = icaltimezone_get_utc_timezone();
        return tt;
}

static icalcomponent *ev_alarm(const struct ev *e, int32_t days)
{
        icalcomponent *a = icalcomponent_new_valarm();
        struct icaltriggertype tr = {.time = icaltime_null_time(),
                                     .duration = icaldurationtype_null_duration()};
        icalproperty *p;

        tr.duration.is_neg = 1;
        if (days % 7 == 0)
                tr.duration.weeks = (unsigned int)(days / 7);
        else
                tr.duration.days = (unsigned int)days;
        p = icalproperty_new_trigger(tr);
        icalproperty_add_parameter(p, icalparameter_new_related(ICAL_RELATED_START));
        icalcomponent_add_property(a, icalproperty_new_action(ICAL_ACTION_DISPLAY));
        icalcomponent_add_property(a, icalproperty_new_description(ev_get(e, F_SUMMARY)));
        icalcomponent_add_property(a, p);
        return a;
}

static icalcomponent *ev_build(const struct ev *e, const struct ics_event_state *st,
                               const char *feed_url, bool alarms)
{
        icalcomponent *c = icalcomponent_new_vevent();
        const char *url = *ev_get(e, F_URL) ? ev_get(e, F_URL) : feed_url;

        icalcomponent_add_property(c, icalproperty_new_uid(ev_get(e, F_UID)));
        icalcomponent_add_property(c, icalproperty_new_dtstamp(ical_utc(st->last_modified)));
        icalcomponent_add_property(c, icalproperty_new_lastmodified(ical_utc(st->last_modified)));
        icalcomponent_add_property(c, icalproperty_new_sequence((int)st->sequence));
        icalcomponent_add_property(c, icalproperty_new_dtstart(ical_date(e->start)));
        icalcomponent_add_property(c, icalproperty_new_dtend(ical_date(e->start + 1)));
        icalcomponent_add_property(c, icalproperty_new_summary(ev_get(e, F_SUMMARY)));
        icalcomponent_add_property(c, icalproperty_new_description(ev_get(e, F_DESC)));
        if (url)
                icalcomponent_add_property(c, icalproperty_new_url(url));
        icalcomponent_add_property(c, icalproperty_new_categories(ev_get(e, F_CATS)));
        icalcomponent_add_property(
            c,
            icalproperty_new_status(e->cancelled ? ICAL_STATUS_CANCELLED : ICAL_STATUS_CONFIRMED));
        icalcomponent_add_property(c, icalproperty_new_transp(ICAL_TRANSP_TRANSPARENT));
        for (uint8_t i = 0; alarms && i < e->nalarms; i++)
                icalcomponent_add_component(c, ev_alarm(e, e->alarm_days[i]));
        return c;
}

/* Replace each bad (a broken fold) with a plain CRLF, in place. */
static size_t squeeze_fold(char *s, size_t n, const char *bad, size_t blen)
{
        char *p = s, *end = s + n, *hit;

        while ((hit = memmem(p, (size_t)(end - p), bad, blen))) {
                memmove(hit + 2, hit + blen, (size_t)(end - hit - blen) + 1);
                hit[0] = '\r';
                hit[1] = '\n';
                end -= blen - 2;
                p = hit + 2;
        }
        return (size_t)(end - s);
}

/* libical 3.0.16 folds the property text with its CRLF included. When the
 * last segment has no ';', ':' or ' ' to break after (a long URL or UID) and
 * is 73 octets, it breaks between the CR and the LF ("...\r" "\r\n " "\n");
 * at 74 octets it leaves a continuation line holding only the space. Mend
 * both to "...\r\n": the segment then fits in 75 octets as it is, and
 * unfolding gives the same value. Values never hold a raw CR (config rejects
 * control characters, TEXT escapes newlines). Returns the new length. */
static size_t mend_split_crlf(char *s, size_t n)
{
        static const char split[] = "\r\r\n \n", blank[] = "\r\n \r\n";

        n = squeeze_fold(s, n, split, sizeof(split) - 1);
        return squeeze_fold(s, n, blank, sizeof(blank) - 1);
}

/* Serialise comp onto out and free it. */
static int append_component(icalcomponent *comp, struct strbuf *out)
{
        char *s = icalcomponent_as_ical_string_r(comp);

        icalcomponent_free(comp);
        if (!s)
                return -ENOMEM;
        sb_append(out, s, mend_split_crlf(s, strlen(s)));
        icalmemory_free_buffer(s);
        return 0;
}

static int render_one(const struct model *m, const struct deadline *d, const struct ics_opts *o,
                      bool alarms, struct ev *e, struct strbuf *out)
{
        struct ics_event_state st = {.last_modified = m->mtime, .sequence = 0};
        int r;

        r = ev_fill(m, d, e);
        if (r < 0)
                return r;
        if (o && o->state) {
                r = o->state(o->state_userdata, ev_get(e, F_UID), hash64(e->sb.buf, e->sb.len),
                             &st);
                if (r == -ENOENT)
                        st = (struct ics_event_state){.last_modified = m->mtime, .sequence = 0};
                else if (r < 0)
                        return r;
        }
        return append_component(ev_build(e, &st, o ? o->feed_url : NULL, alarms), out);
}

/* libical escapes backslash and newline in an X- value but leaves ',' and ';'
 * alone (and would double any escaping done here); readers accept that. */
static icalproperty *x_text(const char *name, const char *value)
{
        icalproperty *p = icalproperty_new_x(value);

        icalproperty_set_x_name(p, name);
        return p;
}

static void add_calendar_props(icalcomponent *c, const struct model *m, const char *title,
                               const char *desc, const char *feed_url)
{
        struct icaldurationtype hour = icaldurationtype_null_duration();

        hour.hours = 1;
        icalcomponent_add_property(c, icalproperty_new_prodid(ICS_PRODID));
        icalcomponent_add_property(c, icalproperty_new_version("2.0"));
        icalcomponent_add_property(c, icalproperty_new_calscale("GREGORIAN"));
        icalcomponent_add_property(c, icalproperty_new_method(ICAL_METHOD_PUBLISH));
        icalcomponent_add_property(c, icalproperty_new_name(title));
        icalcomponent_add_property(c, x_text("X-WR-CALNAME", title));
        if (desc) {
                icalcomponent_add_property(c, icalproperty_new_description(desc));
                icalcomponent_add_property(c, x_text("X-WR-CALDESC", desc));
        }
        if (m->set.timezone)
                icalcomponent_add_property(c, x_text("X-WR-TIMEZONE", m->set.timezone));
        icalcomponent_add_property(c, icalproperty_new_refreshinterval(hour));
        icalcomponent_add_property(c, x_text("X-PUBLISHED-TTL", "PT1H"));
        if (feed_url)
                icalcomponent_add_property(c, icalproperty_new_source(feed_url));
}

/* BEGIN:VCALENDAR and the calendar properties, without the END line. */
static int render_head(const struct model *m, const char *title, const char *desc,
                       const char *feed_url, struct strbuf *out)
{
        static const char end[] = "END:VCALENDAR\r\n";
        icalcomponent *c = icalcomponent_new_vcalendar();
        char *s;
        size_t n;

        add_calendar_props(c, m, title, desc, feed_url);
        s = icalcomponent_as_ical_string_r(c);
        icalcomponent_free(c);
        if (!s)
                return -ENOMEM;
        n = mend_split_crlf(s, strlen(s));
        if (n < sizeof(end) - 1 || strcmp(s + n - (sizeof(end) - 1), end) != 0) {
                icalmemory_free_buffer(s);
                return -EPROTO;
        }
        sb_append(out, s, n - (sizeof(end) - 1));
        icalmemory_free_buffer(s);
        return 0;
}

/* Close the calendar, or on error leave out as it was: never hand back half a calendar. */
static int render_tail(int r, size_t start, struct strbuf *out)
{
        if (r < 0) {
                out->len = start;
                if (out->buf)
                        out->buf[start] = '\0';
                return r;
        }
        sb_puts(out, "END:VCALENDAR\r\n");
        return 0;
}

static const char *feed_title(const struct feed *f)
{
        if (!f)
                return ICS_DEFAULT_TITLE;
        return f->title ? f->title : f->name;
}

int ics_render_feed(const struct model *m, const struct deadlines *ds, const struct ics_opts *o,
                    struct strbuf *out)
{
        const struct feed *f = o ? o->feed : NULL;
        struct ev e = {0};
        size_t start = out->len;
        int r;

        r = render_head(m, feed_title(f), f ? f->description : NULL, o ? o->feed_url : NULL, out);
        for (size_t i = 0; r >= 0 && i < ds->n; i++) {
                if (f && !deadline_selected(m, &f->select, &ds->v[i]))
                        continue;
                r = render_one(m, &ds->v[i], o, f && f->alarms, &e, out);
        }
        sb_free(&e.sb);
        return render_tail(r, start, out);
}

int ics_render_list(const struct model *m, const struct deadline *const *list, size_t n,
                    const struct ics_opts *o, struct strbuf *out)
{
        const struct feed *f = o ? o->feed : NULL;
        struct ev e = {0};
        size_t start = out->len;
        int r;

        r = render_head(m, ICS_LIST_TITLE, NULL, o ? o->feed_url : NULL, out);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = render_one(m, list[i], o, f && f->alarms, &e, out);
        sb_free(&e.sb);
        return render_tail(r, start, out);
}
