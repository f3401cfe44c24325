/* ics.c: render deadlines as an iCalendar feed (RFC 5545 + RFC 7986).
 *
 * Each VEVENT's properties are libical objects, made once per render and
 * given each event's values; every line is serialised by libical
 * (icalproperty_as_ical_string_r), appended and, for values that repeat,
 * memoised. A tree of the whole calendar would cost memory proportional to
 * the number of events times libical's per-property overhead; this way the
 * peak is the output bytes plus one event. The bytes are exactly those of
 * icalcomponent_as_ical_string_r on the event. libical does the TEXT
 * escaping, the CRLF line endings and the folding at 75 octets (3.0.16 never
 * splits a UTF-8 sequence: tested; it can split a CRLF, which mend_split_crlf
 * repairs).
 *
 * The text of each event is first assembled into struct ev (NUL-separated
 * fields in one reused buffer). ics_event_hash hashes exactly those bytes, so
 * the hash covers the content and nothing else (not DTSTAMP, LAST-MODIFIED or
 * SEQUENCE, which derive from it). */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <libical/ical.h>

#include "deadlined/core/date.h"
#include "deadlined/core/deadline.h"
#include "deadlined/core/ics.h"
#include "deadlined/core/model.h"
#include "deadlined/base/util.h"

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

/* Assemble the content of d into e (reusing e's buffer). Without hashed,
 * the non-text part is left out, and the alarms too unless wanted: an
 * export with no ledger and no alarms needs neither. */
static int ev_fill(const struct model *m, const struct deadline *d, struct ev *e, bool alarms,
                   bool hashed)
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
        e->nalarms = 0;
        if (alarms || hashed)
                ev_alarms(m, d, e);
        ev_next(e, F_REST);
        if (!hashed)
                return 0;
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

        if (ev_fill(m, d, &e, false, true) == 0)
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

/* memmem for a pattern that starts with CR: glibc's memmem costs more than the
 * whole scan on these short lines, and CRs are rare (one per line). */
static char *find_cr(char *s, char *end, const char *pat, size_t plen)
{
        for (char *p = s; (p = memchr(p, '\r', (size_t)(end - p))); p++)
                if ((size_t)(end - p) >= plen && memcmp(p, pat, plen) == 0)
                        return p;
        return NULL;
}

/* Replace each bad (a broken fold) with a plain CRLF, in place. */
static size_t squeeze_fold(char *s, size_t n, const char *bad, size_t blen)
{
        char *p = s, *end = s + n, *hit;

        while ((hit = find_cr(p, end, bad, blen))) {
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

        if (!find_cr(s, s + n, "\r\n ", 3))
                return n; /* not folded, so neither can occur */
        n = squeeze_fold(s, n, split, sizeof(split) - 1);
        return squeeze_fold(s, n, blank, sizeof(blank) - 1);
}

/* Serialise one property onto out, mended. */
static int put_prop(icalproperty *p, struct strbuf *out)
{
        char *s = icalproperty_as_ical_string_r(p);

        if (!s)
                return -ENOMEM;
        sb_append(out, s, mend_split_crlf(s, strlen(s)));
        icalmemory_free_buffer(s);
        return 0;
}

/* A VEVENT's properties in output order. The properties are made once per
 * render and given each event's values, so libical allocates values rather
 * than whole components. */
enum prop {
        P_UID,
        P_DTSTAMP,
        P_LASTMOD,
        P_SEQ,
        P_DTSTART,
        P_DTEND,
        P_SUMMARY,
        P_DESC,
        P_URL,
        P_CATS,
        P_STATUS,
        P_TRANSP,
        P_N
};

/* Lines whose value repeats from event to event (DTSTAMP, SEQUENCE, DTSTART,
 * URL, CATEGORIES, STATUS, ...) are serialised by libical once per distinct
 * value and then copied. Each property has a direct-mapped table of recent
 * lines, keyed by what the line depends on; a collision only costs a
 * re-serialisation. DTSTART and DTEND get room for a dozen years of days. */
#define MEMO_SLOTS 16
#define MEMO_DAY_SLOTS 4096
/* Below this many events (an email's attachment) the tables cost more than they save. */
#define MEMO_MIN_EVENTS 64

struct memo_slot {
        struct strbuf key, line;
};

struct memo {
        struct memo_slot *slot; /* allocated on first use */
        size_t nslots;          /* 0: no memo */
};

/* The previous render's spans by UID hash. */
struct reuse_map {
        const struct ics_reuse *ru;
        struct u64map map;
};

struct render {
        icalproperty *p[P_N];
        struct memo memo[P_N];
        struct ev e;
        const char *feed_url;
        bool alarms;
        uint64_t sig;
        struct reuse_map reuse;
};

/* One event's values for the properties. */
struct vals {
        const struct ev *e;
        const struct ics_event_state *st;
        const char *url;
};

static void render_init(struct render *rd, const char *feed_url, bool alarms, size_t nevents)
{
        struct icaltimetype t = ical_utc(0);

        *rd = (struct render){.feed_url = feed_url, .alarms = alarms};
        for (int k = 0; nevents >= MEMO_MIN_EVENTS && k < P_N; k++)
                rd->memo[k].nslots = k == P_DTSTART || k == P_DTEND ? MEMO_DAY_SLOTS : MEMO_SLOTS;
        rd->p[P_UID] = icalproperty_new_uid("");
        rd->p[P_DTSTAMP] = icalproperty_new_dtstamp(t);
        rd->p[P_LASTMOD] = icalproperty_new_lastmodified(t);
        rd->p[P_SEQ] = icalproperty_new_sequence(0);
        rd->p[P_DTSTART] = icalproperty_new_dtstart(ical_date(0));
        rd->p[P_DTEND] = icalproperty_new_dtend(ical_date(0));
        rd->p[P_SUMMARY] = icalproperty_new_summary("");
        rd->p[P_DESC] = icalproperty_new_description("");
        rd->p[P_URL] = icalproperty_new_url("");
        rd->p[P_CATS] = icalproperty_new_categories("");
        rd->p[P_STATUS] = icalproperty_new_status(ICAL_STATUS_CONFIRMED);
        rd->p[P_TRANSP] = icalproperty_new_transp(ICAL_TRANSP_TRANSPARENT);
}

/* Bump when the bytes of an event change for the same content and state. */
#define ICS_FORMAT 1

static uint64_t render_sig(const char *feed_url, bool alarms)
{
        /* A probe through libical's escaping and folding: an upgrade that
         * changes how it writes TEXT changes the sig and nothing is reused. */
        icalproperty *p = icalproperty_new_description(
            "Probe; with, commas\nand \\ a line long enough to be folded at 75 octets: "
            "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 end");
        char *probe = icalproperty_as_ical_string_r(p);
        struct strbuf sb = {0};
        uint64_t h;

        icalproperty_free(p);
        sb_appendf(&sb, "%d|%s|%s|%d|%s|%s", ICS_FORMAT, ICS_PRODID, ICAL_VERSION, alarms,
                   feed_url ? feed_url : "", probe ? probe : "");
        icalmemory_free_buffer(probe);
        h = hash64(sb.buf, sb.len);
        sb_free(&sb);
        return h;
}

static void reuse_init(struct reuse_map *rm, const struct ics_reuse *ru, uint64_t sig)
{
        *rm = (struct reuse_map){0};
        if (!ru || !ru->spans || !ru->spans->n || ru->spans->sig != sig ||
            ru->spans->n >= UINT32_MAX / 2)
                return;
        rm->ru = ru;
        /* A UID twice in one feed keeps its first span: a miss only costs time. */
        for (size_t i = 0; i < ru->spans->n; i++)
                u64map_put(&rm->map, ru->spans->v[i].uid_hash, (uint32_t)i, NULL);
}

/* The old bytes of an unchanged event, or NULL. */
static const struct ics_span *reuse_find(const struct reuse_map *rm, uint64_t uid_hash,
                                         uint64_t content_hash, const struct ics_event_state *st)
{
        static const char head[] = "BEGIN:VEVENT\r\n", tail[] = "END:VEVENT\r\n";

        uint32_t i;

        if (!rm->ru || !u64map_get(&rm->map, uid_hash, &i))
                return NULL;
        const struct ics_span *sp = &rm->ru->spans->v[i];
        if (sp->content_hash != content_hash || sp->sequence != st->sequence ||
            sp->last_modified != st->last_modified || sp->off > rm->ru->len ||
            sp->len > rm->ru->len - sp->off || sp->len < sizeof(head) + sizeof(tail))
                return NULL;
        const char *b = rm->ru->body + sp->off;
        if (memcmp(b, head, sizeof(head) - 1) != 0 ||
            memcmp(b + sp->len - (sizeof(tail) - 1), tail, sizeof(tail) - 1) != 0)
                return NULL;
        return sp;
}

void ics_spans_free(struct ics_spans *sp)
{
        if (!sp)
                return;
        free(sp->v);
        *sp = (struct ics_spans){0};
}

static void render_free(struct render *rd)
{
        u64map_free(&rd->reuse.map);
        for (int k = 0; k < P_N; k++) {
                icalproperty_free(rd->p[k]);
                for (size_t i = 0; rd->memo[k].slot && i < rd->memo[k].nslots; i++) {
                        sb_free(&rd->memo[k].slot[i].key);
                        sb_free(&rd->memo[k].slot[i].line);
                }
                free(rd->memo[k].slot);
        }
        sb_free(&rd->e.sb);
}

static void prop_set(icalproperty *p, enum prop k, const struct vals *v)
{
        switch (k) {
        case P_UID:
                icalproperty_set_uid(p, ev_get(v->e, F_UID));
                break;
        case P_DTSTAMP:
                icalproperty_set_dtstamp(p, ical_utc(v->st->last_modified));
                break;
        case P_LASTMOD:
                icalproperty_set_lastmodified(p, ical_utc(v->st->last_modified));
                break;
        case P_SEQ:
                icalproperty_set_sequence(p, (int)v->st->sequence);
                break;
        case P_DTSTART:
                icalproperty_set_dtstart(p, ical_date(v->e->start));
                break;
        case P_DTEND:
                icalproperty_set_dtend(p, ical_date(v->e->start + 1));
                break;
        case P_SUMMARY:
                icalproperty_set_summary(p, ev_get(v->e, F_SUMMARY));
                break;
        case P_DESC:
                icalproperty_set_description(p, ev_get(v->e, F_DESC));
                break;
        case P_URL:
                icalproperty_set_url(p, v->url);
                break;
        case P_CATS:
                icalproperty_set_categories(p, ev_get(v->e, F_CATS));
                break;
        case P_STATUS:
                icalproperty_set_status(p, v->e->cancelled ? ICAL_STATUS_CANCELLED
                                                           : ICAL_STATUS_CONFIRMED);
                break;
        default:
                break; /* TRANSP never changes */
        }
}

/* What a memoised line depends on; NULL for the lines unique to an event. */
static const void *prop_key(enum prop k, const struct vals *v, size_t *len)
{
        switch (k) {
        case P_DTSTAMP:
        case P_LASTMOD:
                *len = sizeof(v->st->last_modified);
                return &v->st->last_modified;
        case P_SEQ:
                *len = sizeof(v->st->sequence);
                return &v->st->sequence;
        case P_DTSTART:
        case P_DTEND:
                *len = sizeof(v->e->start);
                return &v->e->start;
        case P_URL:
                *len = strlen(v->url);
                return v->url;
        case P_CATS:
                *len = strlen(ev_get(v->e, F_CATS));
                return ev_get(v->e, F_CATS);
        case P_STATUS:
                *len = sizeof(v->e->cancelled);
                return &v->e->cancelled;
        case P_TRANSP:
                *len = 0;
                return "";
        default:
                return NULL;
        }
}

/* A day indexes its table directly, so days less than MEMO_DAY_SLOTS apart
 * never collide; hashed, a quarter of the DTSTART and DTEND lines of a
 * 200,000-event feed were serialised again. */
static struct memo_slot *memo_slot(struct memo *mo, enum prop k, const void *key, size_t len)
{
        size_t i;

        if (!mo->slot)
                mo->slot = xcalloc(mo->nslots, sizeof(*mo->slot));
        if (k == P_DTSTART || k == P_DTEND) {
                const dl_day *day = key;
                i = (uint32_t)day[0] % mo->nslots;
        } else {
                i = hash64(key, len) % mo->nslots;
        }
        return &mo->slot[i];
}

/* Property k of this event onto out: from the memo, or set and serialised. */
static int emit(struct render *rd, enum prop k, const struct vals *v, struct strbuf *out)
{
        size_t len = 0;
        const void *key = rd->memo[k].nslots ? prop_key(k, v, &len) : NULL;
        struct memo_slot *sl;
        int r;

        if (!key) {
                prop_set(rd->p[k], k, v);
                return put_prop(rd->p[k], out);
        }
        sl = memo_slot(&rd->memo[k], k, key, len);
        if (!sl->line.len || sl->key.len != len || memcmp(sl->key.buf, key, len) != 0) {
                prop_set(rd->p[k], k, v);
                sb_reset(&sl->key);
                sb_reset(&sl->line);
                r = put_prop(rd->p[k], &sl->line);
                if (r < 0)
                        return r;
                sb_append(&sl->key, key, len);
        }
        sb_append(out, sl->line.buf, sl->line.len);
        return 0;
}

static int emit_alarms(const struct ev *e, struct strbuf *out)
{
        for (uint8_t i = 0; i < e->nalarms; i++) {
                icalcomponent *a = ev_alarm(e, e->alarm_days[i]);
                char *s = icalcomponent_as_ical_string_r(a);

                icalcomponent_free(a);
                if (!s)
                        return -ENOMEM;
                sb_append(out, s, mend_split_crlf(s, strlen(s)));
                icalmemory_free_buffer(s);
        }
        return 0;
}

/* The bytes icalcomponent_as_ical_string_r gives for the VEVENT, one property at a time. */
static int emit_event(struct render *rd, const struct ics_event_state *st, struct strbuf *out)
{
        const char *url = *ev_get(&rd->e, F_URL) ? ev_get(&rd->e, F_URL) : rd->feed_url;
        struct vals v = {.e = &rd->e, .st = st, .url = url};
        int r = 0;

        sb_puts(out, "BEGIN:VEVENT\r\n");
        for (int k = 0; r >= 0 && k < P_N; k++)
                if (k != P_URL || url)
                        r = emit(rd, (enum prop)k, &v, out);
        if (r >= 0 && rd->alarms)
                r = emit_alarms(&rd->e, out);
        if (r < 0)
                return r;
        sb_puts(out, "END:VEVENT\r\n");
        return 0;
}

static void add_span(struct ics_spans *sps, struct ics_span sp)
{
        if (sps->n == sps->cap) {
                sps->cap = sps->cap ? 2 * sps->cap : 64;
                sps->v = xreallocarray(sps->v, sps->cap, sizeof(*sps->v));
        }
        sps->v[sps->n++] = sp;
}

static int render_one(const struct model *m, const struct deadline *d, const struct ics_opts *o,
                      struct render *rd, struct strbuf *out)
{
        struct ics_event_state st = {.last_modified = m->mtime, .sequence = 0};
        struct ev *e = &rd->e;
        bool hashed = o && (o->state || o->spans || o->reuse);
        uint64_t hash = 0;
        size_t start = out->len;
        int r;

        r = ev_fill(m, d, e, rd->alarms, hashed);
        if (r < 0)
                return r;
        if (hashed)
                hash = hash64(e->sb.buf, e->sb.len);
        if (o && o->state) {
                r = o->state(o->state_userdata, ev_get(e, F_UID), hash, &st);
                if (r == -ENOENT)
                        st = (struct ics_event_state){.last_modified = m->mtime, .sequence = 0};
                else if (r < 0)
                        return r;
        }
        if (!o || (!o->spans && !o->reuse))
                return emit_event(rd, &st, out);
        uint64_t uid_hash = hash64(ev_get(e, F_UID), strlen(ev_get(e, F_UID)));
        const struct ics_span *old = reuse_find(&rd->reuse, uid_hash, hash, &st);
        if (old)
                sb_append(out, rd->reuse.ru->body + old->off, old->len);
        else if ((r = emit_event(rd, &st, out)) < 0)
                return r;
        if (o->spans)
                add_span(o->spans, (struct ics_span){.uid_hash = uid_hash,
                                                     .content_hash = hash,
                                                     .last_modified = st.last_modified,
                                                     .off = start,
                                                     .len = (uint32_t)(out->len - start),
                                                     .sequence = st.sequence});
        return 0;
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
        struct render rd;
        size_t start = out->len;
        int r;

        r = render_head(m, feed_title(f), f ? f->description : NULL, o ? o->feed_url : NULL, out);
        render_init(&rd, o ? o->feed_url : NULL, f && f->alarms, ds->n);
        if (o && (o->spans || o->reuse)) {
                rd.sig = render_sig(o->feed_url, f && f->alarms);
                reuse_init(&rd.reuse, o->reuse, rd.sig);
        }
        if (o && o->spans) {
                o->spans->n = 0;
                o->spans->sig = rd.sig;
        }
        for (size_t i = 0; r >= 0 && i < ds->n; i++) {
                if (f && !deadline_selected(m, &f->select, &ds->v[i]))
                        continue;
                r = render_one(m, &ds->v[i], o, &rd, out);
        }
        render_free(&rd);
        return render_tail(r, start, out);
}

int ics_render_list(const struct model *m, const struct deadline *const *list, size_t n,
                    const struct ics_opts *o, struct strbuf *out)
{
        const struct feed *f = o ? o->feed : NULL;
        struct render rd;
        size_t start = out->len;
        int r;

        r = render_head(m, ICS_LIST_TITLE, NULL, o ? o->feed_url : NULL, out);
        render_init(&rd, o ? o->feed_url : NULL, f && f->alarms, n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = render_one(m, list[i], o, &rd, out);
        render_free(&rd);
        return render_tail(r, start, out);
}
