/* tz.c: time zones from TZif bytes (RFC 8536) and the POSIX TZ footer.
 * Pure: the caller reads the file. Every count and index in the input is
 * checked before use, because the bytes are untrusted (and fuzzed). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "deadlined/core/tz.h"
#include "deadlined/base/util.h"

#define TZ_ABBR_MAX 15
#define TZ_FOOTER_MAX 255
/* RFC 8536 3.2: utoff lies in [-89999, 93599]; POSIX offsets stay within 24:59:59. */
#define UTOFF_MIN (-89999)
#define UTOFF_MAX 93599
#define DAY_SECS 86400
/* Distinct offsets tz_local_to_utc weighs; real zones have at most 3 within a day. */
#define TZ_CAND_MAX 8

struct ttype {
        int32_t utoff;
        uint8_t isdst;
        uint8_t abbr; /* index into chars, NUL-terminated within nchars */
};

/* One end of a POSIX DST rule: Jn, n or Mm.w.d, at a local time. */
struct rule_date {
        char kind; /* 'J', 'N' or 'M' */
        int n, m, w, d;
        int32_t secs;
};

struct posix_rule {
        char std[TZ_ABBR_MAX + 1], dst[TZ_ABBR_MAX + 1];
        int32_t std_off, dst_off; /* seconds east of UTC */
        bool has_dst;
        struct rule_date start, end;
};

struct tz {
        char *name;
        size_t ntrans;
        int64_t *trans;
        uint8_t *idx;
        size_t ntypes;
        struct ttype *types;
        char *chars;
        size_t nchars;
        bool has_rule;
        struct posix_rule rule;
};

static struct ttype utc_type = {0, 0, 0};
static char utc_chars[] = "UTC";
static struct tz utc_zone = {
    .name = (char *)"UTC",
    .ntypes = 1,
    .types = &utc_type,
    .chars = utc_chars,
    .nchars = sizeof(utc_chars),
};

struct tz *tz_utc(void)
{
        return &utc_zone;
}

void tz_free(struct tz *tz)
{
        if (!tz || tz == &utc_zone)
                return;
        free(tz->name);
        free(tz->trans);
        free(tz->idx);
        free(tz->types);
        free(tz->chars);
        free(tz);
}

const char *tz_name(const struct tz *tz)
{
        return tz ? tz->name : utc_zone.name;
}

/* ---- bounds-checked reader ---- */

struct rd {
        const uint8_t *p;
        size_t len, off;
};

static bool rd_has(const struct rd *r, uint64_t n)
{
        return n <= r->len - r->off;
}

static uint32_t rd_be32(struct rd *r)
{
        const uint8_t *b = r->p + r->off;
        r->off += 4;
        return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int64_t rd_time(struct rd *r, int size)
{
        if (size == 4)
                return (int32_t)rd_be32(r);
        uint64_t hi = rd_be32(r);
        uint64_t lo = rd_be32(r);
        return (int64_t)(hi << 32 | lo);
}

struct hdr {
        uint8_t version;
        uint32_t isut, isstd, leap, time, type, chars;
};

/* Counts are validated only for the block actually used: v2+ readers
 * skip the v1 block (RFC 9636), which "slim" files leave nearly empty. */
static int check_counts(const struct hdr *h)
{
        if (h->type == 0 || h->type > 256 || h->chars == 0 || h->chars > 256)
                return -EINVAL;
        if ((h->isut != 0 && h->isut != h->type) || (h->isstd != 0 && h->isstd != h->type))
                return -EINVAL;
        return 0;
}

static int parse_header(struct rd *r, struct hdr *h)
{
        if (!rd_has(r, 44) || memcmp(r->p + r->off, "TZif", 4) != 0)
                return -EINVAL;
        h->version = r->p[r->off + 4];
        if (h->version != 0 && (h->version < '2' || h->version > '4'))
                return -EINVAL;
        r->off += 20;
        h->isut = rd_be32(r);
        h->isstd = rd_be32(r);
        h->leap = rd_be32(r);
        h->time = rd_be32(r);
        h->type = rd_be32(r);
        h->chars = rd_be32(r);
        return 0;
}

static uint64_t block_size(const struct hdr *h, int tsize)
{
        return (uint64_t)h->time * (tsize + 1) + (uint64_t)h->type * 6 + h->chars +
               (uint64_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

static int parse_transitions(struct rd *r, const struct hdr *h, int tsize, struct tz *tz)
{
        tz->ntrans = h->time;
        tz->trans = xcalloc(h->time, sizeof(*tz->trans));
        tz->idx = xcalloc(h->time, 1);
        for (size_t i = 0; i < h->time; i++) {
                tz->trans[i] = rd_time(r, tsize);
                /* Strictly ascending, so the binary search is meaningful. */
                if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
                        return -EINVAL;
        }
        for (size_t i = 0; i < h->time; i++) {
                tz->idx[i] = r->p[r->off++];
                if (tz->idx[i] >= h->type)
                        return -EINVAL;
        }
        return 0;
}

static int parse_types(struct rd *r, const struct hdr *h, struct tz *tz)
{
        tz->ntypes = h->type;
        tz->types = xcalloc(h->type, sizeof(*tz->types));
        for (size_t i = 0; i < h->type; i++) {
                int32_t off = (int32_t)rd_be32(r);
                uint8_t isdst = r->p[r->off++];
                uint8_t abbr = r->p[r->off++];

                if (off < UTOFF_MIN || off > UTOFF_MAX || isdst > 1 || abbr >= h->chars)
                        return -EINVAL;
                tz->types[i] = (struct ttype){off, isdst, abbr};
        }
        tz->nchars = h->chars;
        tz->chars = xmalloc(h->chars);
        memcpy(tz->chars, r->p + r->off, h->chars);
        r->off += h->chars;
        for (size_t i = 0; i < h->type; i++) {
                size_t a = tz->types[i].abbr;
                if (!memchr(tz->chars + a, '\0', h->chars - a))
                        return -EINVAL;
        }
        return 0;
}

/* One data block; the leap-second and indicator tables are checked and skipped. */
static int parse_block(struct rd *r, const struct hdr *h, int tsize, struct tz *tz)
{
        int ret;

        if (check_counts(h) < 0 || !rd_has(r, block_size(h, tsize)))
                return -EINVAL;
        ret = parse_transitions(r, h, tsize, tz);
        if (ret < 0)
                return ret;
        ret = parse_types(r, h, tz);
        if (ret < 0)
                return ret;
        r->off += (size_t)h->leap * (tsize + 4);
        for (size_t i = 0; i < (size_t)h->isstd + h->isut; i++)
                if (r->p[r->off++] > 1)
                        return -EINVAL;
        return 0;
}

/* ---- POSIX TZ strings ---- */

static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* An abbreviation: three or more letters, or <...> of letters, digits, + and -. */
static bool posix_name(const char **p, char out[TZ_ABBR_MAX + 1])
{
        const char *s = *p;
        size_t n = 0;
        bool quoted = *s == '<';

        if (quoted)
                s++;
        for (; s[n]; n++) {
                char c = s[n];
                if (!is_alpha(c) && !(quoted && (is_digit(c) || c == '+' || c == '-')))
                        break;
        }
        if (n < 3 || n > TZ_ABBR_MAX || (quoted && s[n] != '>'))
                return false;
        memcpy(out, s, n);
        out[n] = '\0';
        *p = s + n + quoted;
        return true;
}

/* Up to maxdig digits, value <= max. */
static bool posix_num(const char **p, int maxdig, int max, int *out)
{
        const char *s = *p;
        int v = 0, n = 0;

        for (; n < maxdig && is_digit(s[n]); n++)
                v = v * 10 + (s[n] - '0');
        if (n == 0 || v > max)
                return false;
        *out = v;
        *p = s + n;
        return true;
}

/* [+-]hh[:mm[:ss]] in seconds; hours up to hmax (24 for offsets, 167 for rule times). */
static bool posix_hms(const char **p, int hmax, int32_t *secs)
{
        const char *s = *p;
        int sign = 1, h, m = 0, sec = 0;

        if (*s == '+' || *s == '-')
                sign = *s++ == '-' ? -1 : 1;
        if (!posix_num(&s, 3, hmax, &h))
                return false;
        if (*s == ':' && (s++, !posix_num(&s, 2, 59, &m)))
                return false;
        if (*s == ':' && (s++, !posix_num(&s, 2, 59, &sec)))
                return false;
        *secs = sign * (h * 3600 + m * 60 + sec);
        *p = s;
        return true;
}

static bool posix_date(const char **p, struct rule_date *rd)
{
        const char *s = *p;

        *rd = (struct rule_date){.secs = 7200}; /* 02:00 unless given */
        if (*s == 'J') {
                s++;
                rd->kind = 'J';
                if (!posix_num(&s, 3, 365, &rd->n) || rd->n < 1)
                        return false;
        } else if (*s == 'M') {
                s++;
                rd->kind = 'M';
                if (!posix_num(&s, 2, 12, &rd->m) || rd->m < 1 || *s++ != '.' ||
                    !posix_num(&s, 1, 5, &rd->w) || rd->w < 1 || *s++ != '.' ||
                    !posix_num(&s, 1, 6, &rd->d))
                        return false;
        } else {
                rd->kind = 'N';
                if (!posix_num(&s, 3, 365, &rd->n))
                        return false;
        }
        if (*s == '/' && (s++, !posix_hms(&s, 167, &rd->secs)))
                return false;
        *p = s;
        return true;
}

static bool posix_dst_part(const char **p, struct posix_rule *pr)
{
        int32_t off;

        if (!posix_name(p, pr->dst))
                return false;
        pr->has_dst = true;
        pr->dst_off = pr->std_off + 3600;
        if (**p && **p != ',') {
                if (!posix_hms(p, 24, &off))
                        return false;
                pr->dst_off = -off;
        }
        if (**p != ',') {
                /* No rule: tzcode's default, the US rules. */
                pr->start = (struct rule_date){'M', 0, 3, 2, 0, 7200};
                pr->end = (struct rule_date){'M', 0, 11, 1, 0, 7200};
                return true;
        }
        (*p)++;
        if (!posix_date(p, &pr->start) || *(*p)++ != ',')
                return false;
        return posix_date(p, &pr->end);
}

/* e.g. "GMT0BST,M3.5.0/1,M10.5.0", "<+0330>-3:30", "UTC0". */
static int posix_parse(const char *s, struct posix_rule *pr)
{
        int32_t off;

        *pr = (struct posix_rule){0};
        if (!posix_name(&s, pr->std) || !posix_hms(&s, 24, &off))
                return -EINVAL;
        pr->std_off = -off; /* POSIX counts west as positive */
        if (*s && !posix_dst_part(&s, pr))
                return -EINVAL;
        return *s == '\0' ? 0 : -EINVAL;
}

static int parse_footer(struct rd *r, struct tz *tz)
{
        char buf[TZ_FOOTER_MAX + 1];
        const uint8_t *nl;
        size_t n;

        if (!rd_has(r, 2) || r->p[r->off] != '\n')
                return -EINVAL;
        r->off++;
        nl = memchr(r->p + r->off, '\n', r->len - r->off);
        if (!nl)
                return -EINVAL;
        n = (size_t)(nl - (r->p + r->off));
        if (n > TZ_FOOTER_MAX || memchr(r->p + r->off, '\0', n))
                return -EINVAL;
        memcpy(buf, r->p + r->off, n);
        buf[n] = '\0';
        r->off += n + 1;
        if (n == 0)
                return 0; /* an empty footer: no rule beyond the table */
        if (posix_parse(buf, &tz->rule) < 0)
                return -EINVAL;
        tz->has_rule = true;
        return 0;
}

static int parse_all(struct rd *r, struct tz *tz)
{
        struct hdr h;
        int ret;

        ret = parse_header(r, &h);
        if (ret < 0)
                return ret;
        if (h.version == 0) {
                ret = parse_block(r, &h, 4, tz);
                return ret < 0 ? ret : (r->off == r->len ? 0 : -EINVAL);
        }
        /* v2+: skip the 32-bit block, use the 64-bit one and the footer. */
        if (!rd_has(r, block_size(&h, 4)))
                return -EINVAL;
        r->off += block_size(&h, 4);
        ret = parse_header(r, &h);
        if (ret < 0 || h.version == 0)
                return -EINVAL;
        ret = parse_block(r, &h, 8, tz);
        if (ret < 0)
                return ret;
        ret = parse_footer(r, tz);
        return ret < 0 ? ret : (r->off == r->len ? 0 : -EINVAL);
}

int tz_parse(const uint8_t *data, size_t len, const char *name, struct tz **out)
{
        struct rd r = {data, len, 0};
        struct tz *tz;

        if (!data || !out)
                return -EINVAL;
        tz = xcalloc(1, sizeof(*tz));
        if (parse_all(&r, tz) < 0) {
                tz_free(tz);
                return -EINVAL;
        }
        tz->name = xstrdup(name ? name : "");
        *out = tz;
        return 0;
}

/* ---- evaluation ---- */

/* Instants far beyond any calendar saturate rather than overflow. */
static int64_t sat_add(int64_t a, int64_t b)
{
        int64_t r;

        if (__builtin_add_overflow(a, b, &r))
                return b > 0 ? INT64_MAX : INT64_MIN;
        return r;
}

static int64_t floor_div(int64_t a, int64_t b)
{
        int64_t q = a / b;
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Local day (days since epoch) on which a rule date falls in year y. */
static int64_t rule_day(const struct rule_date *rd, int y)
{
        dl_day jan1 = date_from_ymd(y, 1, 1);
        bool leap = date_days_in_month(y, 2) == 29;

        if (rd->kind == 'J')
                return (int64_t)jan1 + rd->n - 1 + (leap && rd->n >= 60);
        if (rd->kind == 'N')
                return (int64_t)jan1 + rd->n;
        dl_day first = date_from_ymd(y, rd->m, 1);
        int dow = (date_weekday(first) + 1) % 7; /* POSIX: 0 = Sunday */
        int day = (rd->d - dow + 7) % 7 + 7 * (rd->w - 1);
        while (day >= date_days_in_month(y, rd->m))
                day -= 7; /* week 5 means "the last" */
        return (int64_t)first + day;
}

/* DST rule beyond the table: the latest rule transition at or before t,
 * looking at the neighbouring years so that odd rule times still work. */
static bool rule_isdst(const struct posix_rule *pr, int64_t t)
{
        int64_t day = floor_div(sat_add(t, pr->std_off), DAY_SECS), best = INT64_MIN;
        bool dst = false;
        int y, m, d;

        if (day > INT32_MAX - 800)
                day = INT32_MAX - 800;
        if (day < INT32_MIN + 800)
                day = INT32_MIN + 800;
        date_to_ymd((dl_day)day, &y, &m, &d);
        for (int yy = y - 1; yy <= y + 1; yy++) {
                int64_t on = rule_day(&pr->start, yy) * DAY_SECS + pr->start.secs - pr->std_off;
                int64_t off = rule_day(&pr->end, yy) * DAY_SECS + pr->end.secs - pr->dst_off;

                if (off <= t && off > best) {
                        best = off;
                        dst = false;
                }
                if (on <= t && on >= best) {
                        best = on;
                        dst = true;
                }
        }
        return dst;
}

static int32_t rule_offset(const struct posix_rule *pr, int64_t t, const char **abbrev)
{
        bool dst = pr->has_dst && rule_isdst(pr, t);

        if (abbrev)
                *abbrev = dst ? pr->dst : pr->std;
        return dst ? pr->dst_off : pr->std_off;
}

/* Index of the last transition at or before t; -1 when t is before them all. */
static ptrdiff_t trans_index(const struct tz *tz, int64_t t)
{
        size_t lo = 0, hi = tz->ntrans;

        if (hi == 0 || t < tz->trans[0])
                return -1;
        while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                if (tz->trans[mid] <= t)
                        lo = mid;
                else
                        hi = mid;
        }
        return (ptrdiff_t)lo;
}

int32_t tz_offset_at(const struct tz *tz, int64_t t, const char **abbrev)
{
        ptrdiff_t i;
        size_t k;

        if (!tz)
                tz = &utc_zone;
        if (tz->has_rule && (tz->ntrans == 0 || t >= tz->trans[tz->ntrans - 1]))
                return rule_offset(&tz->rule, t, abbrev);
        i = trans_index(tz, t);
        k = i < 0 ? 0 : tz->idx[i];
        if (abbrev)
                *abbrev = tz->chars + tz->types[k].abbr;
        return tz->types[k].utoff;
}

struct offsets {
        int32_t v[TZ_CAND_MAX];
        size_t n;
};

static void offsets_add(struct offsets *o, int32_t off)
{
        for (size_t j = 0; j < o->n; j++)
                if (o->v[j] == off)
                        return;
        if (o->n < TZ_CAND_MAX)
                o->v[o->n++] = off;
}

/* Every offset in effect at some instant in [a, b]: one binary search, then
 * the table's neighbours; beyond the table, the rule's two offsets. */
static void offsets_between(const struct tz *tz, int64_t a, int64_t b, struct offsets *o)
{
        size_t nseg = tz->ntrans; /* transitions that start a table segment */
        ptrdiff_t i;

        o->n = 0;
        if (tz->has_rule && (nseg == 0 || b >= tz->trans[nseg - 1])) {
                offsets_add(o, tz->rule.std_off);
                if (tz->rule.has_dst)
                        offsets_add(o, tz->rule.dst_off);
                if (nseg == 0 || a >= tz->trans[nseg - 1])
                        return;
        }
        if (tz->has_rule)
                nseg--; /* the last transition starts the rule */
        i = trans_index(tz, a);
        offsets_add(o, tz->types[i < 0 ? 0 : tz->idx[i]].utoff);
        for (size_t j = (size_t)(i + 1); j < nseg && tz->trans[j] <= b; j++)
                offsets_add(o, tz->types[tz->idx[j]].utoff);
}

/* Only the offsets in effect within reach of local (utoff is bounded) can
 * map to it. One offset: the answer, after a single lookup. Several (near a
 * transition): check each, one lookup apiece. */
int64_t tz_local_to_utc(const struct tz *tz, dl_day day, int minute_of_day)
{
        int64_t local = (int64_t)day * DAY_SECS + (int64_t)minute_of_day * 60;
        int64_t best = INT64_MAX;
        int32_t omax = INT32_MIN;
        struct offsets o;

        if (!tz)
                tz = &utc_zone;
        offsets_between(tz, local - UTOFF_MAX, local - UTOFF_MIN, &o);
        if (o.n == 1)
                return local - o.v[0];
        for (size_t j = 0; j < o.n; j++) {
                int64_t u = local - o.v[j];
                if (u < best && tz_offset_at(tz, u, NULL) == o.v[j])
                        best = u; /* in an overlap, the earlier instant */
                if (o.v[j] > omax)
                        omax = o.v[j];
        }
        if (best != INT64_MAX)
                return best;
        /* In a gap: read the wall time with the offset from before the gap,
         * which lands the same distance past the transition. */
        return local - tz_offset_at(tz, local - omax, NULL);
}

static void split_local(int64_t l, dl_day *day, int *secs_of_day)
{
        int64_t d = floor_div(l, DAY_SECS);

        *secs_of_day = (int)(l - d * DAY_SECS);
        *day = d > INT32_MAX ? INT32_MAX : d < INT32_MIN + 1 ? INT32_MIN + 1 : (dl_day)d;
}

void tz_utc_to_local(const struct tz *tz, int64_t t, dl_day *day, int *minute_of_day)
{
        int secs;

        split_local(sat_add(t, tz_offset_at(tz, t, NULL)), day, &secs);
        *minute_of_day = secs / 60;
}

static char *put_num(char *p, int v, int width)
{
        for (int i = width - 1; i >= 0; i--, v /= 10)
                p[i] = (char)('0' + v % 10);
        return p + width;
}

/* "YYYY-MM-DD<sep>HH:MM" (then ":SS" when with_secs) into p, which holds
 * 24 bytes; 0 outside years 0..9999. By hand: snprintf was an eighth of
 * agenda's instructions at 100k rows. */
static size_t put_stamp(char *p, dl_day day, int secs, char sep, bool with_secs)
{
        char *q = p;
        int y, m, d;

        date_to_ymd(day, &y, &m, &d);
        if (y < 0 || y > 9999)
                return 0;
        q = put_num(q, y, 4);
        *q++ = '-';
        q = put_num(q, m, 2);
        *q++ = '-';
        q = put_num(q, d, 2);
        *q++ = sep;
        q = put_num(q, secs / 3600, 2);
        *q++ = ':';
        q = put_num(q, secs / 60 % 60, 2);
        if (with_secs) {
                *q++ = ':';
                q = put_num(q, secs % 60, 2);
        }
        return (size_t)(q - p);
}

/* Copy n bytes to buf as snprintf would: truncated, always terminated. */
static const char *put_out(char *buf, size_t len, const char *s, size_t n)
{
        if (len == 0)
                return buf;
        if (n > len - 1)
                n = len - 1;
        memcpy(buf, s, n);
        buf[n] = '\0';
        return buf;
}

const char *tz_format_local(const struct tz *tz, int64_t t, char *buf, size_t len)
{
        char tmp[24 + 1 + TZ_ABBR_MAX + 1], dbuf[24];
        const char *abbr;
        size_t n, alen;
        dl_day day;
        int secs;

        split_local(sat_add(t, tz_offset_at(tz, t, &abbr)), &day, &secs);
        n = put_stamp(tmp, day, secs, ' ', false);
        alen = strlen(abbr);
        if (n == 0 || alen > TZ_ABBR_MAX) {
                snprintf(buf, len, "%s %02d:%02d %s", date_format(day, dbuf, sizeof(dbuf)),
                         secs / 3600, secs / 60 % 60, abbr);
                return buf;
        }
        tmp[n++] = ' ';
        memcpy(tmp + n, abbr, alen);
        return put_out(buf, len, tmp, n + alen);
}

const char *time_format_utc(int64_t t, char *buf, size_t len)
{
        char tmp[24], dbuf[24];
        dl_day day;
        size_t n;
        int secs;

        split_local(t, &day, &secs);
        n = put_stamp(tmp, day, secs, 'T', true);
        if (n == 0) {
                snprintf(buf, len, "%sT%02d:%02d:%02dZ", date_format(day, dbuf, sizeof(dbuf)),
                         secs / 3600, secs / 60 % 60, secs % 60);
                return buf;
        }
        tmp[n++] = 'Z';
        return put_out(buf, len, tmp, n);
}

/* Exactly two digits at s. */
static bool two_digits(const char *s, int *out)
{
        if (!is_digit(s[0]) || !is_digit(s[1]))
                return false;
        *out = (s[0] - '0') * 10 + (s[1] - '0');
        return true;
}

/* "HH:MM" at *p. Out-of-range values set *range and still parse, so that
 * syntax errors anywhere in the string win over range errors. */
static bool parse_hh_mm(const char **p, int *minutes, bool *range)
{
        const char *s = *p;
        int h, m;

        if (!two_digits(s, &h) || s[2] != ':' || !two_digits(s + 3, &m))
                return false;
        if (h > 23 || m > 59)
                *range = true;
        *minutes = h * 60 + m;
        *p = s + 5;
        return true;
}

/* Optional "THH:MM[:SS]" after the date. */
static bool parse_wall_time(const char **p, int *minute, int *sec, bool *range)
{
        *minute = 0;
        *sec = 0;
        if (**p != 'T')
                return true;
        (*p)++;
        if (!parse_hh_mm(p, minute, range))
                return false;
        if (**p != ':')
                return true;
        if (!two_digits(*p + 1, sec))
                return false;
        *p += 3;
        if (*sec > 59)
                *range = true;
        return true;
}

/* Optional "Z" or "+HH:MM" / "-HH:MM"; *absolute says whether one was given. */
static bool parse_zone_suffix(const char **p, bool *absolute, int *off_secs, bool *range)
{
        int sign, mins;

        *absolute = false;
        *off_secs = 0;
        if (**p == 'Z') {
                (*p)++;
                *absolute = true;
                return true;
        }
        if (**p != '+' && **p != '-')
                return true;
        sign = **p == '-' ? -1 : 1;
        (*p)++;
        if (!parse_hh_mm(p, &mins, range))
                return false;
        *absolute = true;
        *off_secs = sign * mins * 60;
        return true;
}

int time_parse_instant(const char *s, const struct tz *tz, int64_t *out)
{
        char dbuf[11];
        const char *p;
        int minute, sec, off, r;
        bool absolute, range = false;
        dl_day day;

        if (!s || strnlen(s, 10) < 10)
                return -EINVAL;
        memcpy(dbuf, s, 10);
        dbuf[10] = '\0';
        p = s + 10;
        if (!parse_wall_time(&p, &minute, &sec, &range) ||
            !parse_zone_suffix(&p, &absolute, &off, &range) || *p != '\0')
                return -EINVAL;
        r = date_parse_day(dbuf, &day);
        if (r < 0)
                return r;
        if (range)
                return -ERANGE;
        if (absolute)
                *out = (int64_t)day * DAY_SECS + minute * 60 + sec - off;
        else
                *out = tz_local_to_utc(tz, day, minute) + sec;
        return 0;
}
