/* fuzz-date: the date, duration and time-of-day parsers, with round trips:
 * whatever parses must format back to text that parses to the same value.
 * "DATE|DURATION" also runs the calendar arithmetic on the pair. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "deadlined/core/date.h"
#include "deadlined/base/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void date_round_trip(const char *s)
{
        struct dl_date a, b;
        char buf[64], label[96];

        if (date_parse(s, &a) < 0)
                return;
        if (a.prec > PREC_YEAR || a.minute < -1 || a.minute >= 24 * 60)
                fatalx("date_parse(%s): prec %d minute %d", s, a.prec, a.minute);
        date_format_prec(a, buf, sizeof(buf));
        if (date_parse(buf, &b) < 0 || a.day != b.day || a.prec != b.prec || a.minute != b.minute)
                fatalx("date_parse(%s) -> %s does not parse back", s, buf);
        if (!*date_label(a, label, sizeof(label)))
                fatalx("date_label(%s) is empty", s);
}

static void day_round_trip(const char *s, dl_day *out)
{
        char buf[32];
        dl_day d, e;
        int y, m, dd;

        *out = DATE_NONE;
        if (date_parse_day(s, &d) < 0)
                return;
        date_to_ymd(d, &y, &m, &dd);
        if (!date_ymd_valid(y, m, dd) || date_from_ymd(y, m, dd) != d)
                fatalx("date_parse_day(%s): %d-%d-%d", s, y, m, dd);
        date_format(d, buf, sizeof(buf));
        if (date_parse_day(buf, &e) < 0 || e != d || strcmp(buf, s) != 0)
                fatalx("date_parse_day(%s) -> %s", s, buf);
        *out = d;
}

static void dur_round_trip(const char *s, struct dl_dur *out, bool *ok)
{
        struct dl_dur a, b;
        char buf[64];

        *ok = dur_parse(s, &a) == 0;
        if (!*ok)
                return;
        if (a.months < 0 || a.days < 0)
                fatalx("dur_parse(%s): negative", s);
        dur_format(a, buf, sizeof(buf));
        if (dur_parse(buf, &b) < 0 || a.months != b.months || a.days != b.days)
                fatalx("dur_parse(%s) -> %s does not parse back", s, buf);
        *out = a;
}

static void time_round_trip(const char *s)
{
        char buf[16];
        int m, m2;

        if (time_parse_hm(s, &m) < 0)
                return;
        if (m < 0 || m >= 24 * 60)
                fatalx("time_parse_hm(%s) = %d", s, m);
        snprintf(buf, sizeof(buf), "%02d:%02d", m / 60, m % 60);
        if (time_parse_hm(buf, &m2) < 0 || m2 != m)
                fatalx("time_parse_hm(%s) -> %s", s, buf);
}

/* Adding a duration never goes back in time, and n steps grow with n. */
static void arithmetic(dl_day day, struct dl_dur dur)
{
        dl_day prev = day;

        if (date_add(day, dur) < day || date_sub(day, dur) > day)
                fatalx("date_add/sub of %d went the wrong way", day);
        for (int32_t n = 1; n <= 3; n++) {
                dl_day x = date_add_n(day, dur, n);
                if (x < prev)
                        fatalx("date_add_n(%d, n=%d) = %d < %d", day, n, x, prev);
                prev = x;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char s[65];
        struct dl_dur dur;
        dl_day day;
        bool dur_ok;

        if (size >= sizeof(s))
                return -1;
        memcpy(s, data, size);
        s[size] = '\0';
        date_round_trip(s);
        day_round_trip(s, &day);
        dur_round_trip(s, &dur, &dur_ok);
        time_round_trip(s);
        char *bar = strchr(s, '|');
        if (!bar)
                return 0;
        *bar = '\0';
        day_round_trip(s, &day);
        dur_round_trip(bar + 1, &dur, &dur_ok);
        if (day != DATE_NONE && dur_ok)
                arithmetic(day, dur);
        return 0;
}
