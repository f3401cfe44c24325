/* fuzz-tz: TZif parsing and the queries the daemon makes on a zone, plus the
 * --now/--at TIME grammar. First byte even: the rest is a TZif file; odd:
 * the rest is a TIME string, read in UTC and in Europe/London. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/base/log.h"
#include "deadlined/core/tz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tz *london;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        FILE *f = fopen("/usr/share/zoneinfo/Europe/London", "rb");
        static uint8_t buf[1 << 16];
        size_t n;

        if (!f)
                fatalx("cannot open Europe/London");
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        if (tz_parse(buf, n, "Europe/London", &london) < 0)
                fatalx("cannot parse Europe/London");
        return 0;
}

#define DAY 86400
/* Instants around the epoch, now, the table's likely end and far out. */
static const int64_t probes[] = {INT32_MIN,  -2208988800, -1,         0,          1711846800,
                                 1729990800, 2147483647,  4102444800, 32503680000};

static void query(const struct tz *tz)
{
        char buf[64];

        for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
                const char *abbrev = NULL;
                int64_t t = probes[i];
                int32_t off = tz_offset_at(tz, t, &abbrev);
                if (off < -89999 || off > 93599 || !abbrev) /* RFC 8536 3.2 */
                        fatalx("offset %d at %lld", off, (long long)t);
                dl_day day;
                int minute;
                tz_utc_to_local(tz, t, &day, &minute);
                if (minute < 0 || minute >= 24 * 60)
                        fatalx("minute %d at %lld", minute, (long long)t);
                int64_t back = tz_local_to_utc(tz, day, minute);
                /* back within two offsets (gaps and overlaps shift it; |utoff| < 26 h) */
                if (back < t - 60 - 3 * DAY || back > t + 3 * DAY)
                        fatalx("local %d %d -> %lld, from %lld", day, minute, (long long)back,
                               (long long)t);
                tz_format_local(tz, t, buf, sizeof(buf));
        }
}

static void instant(const char *s, const struct tz *tz)
{
        char buf[64];
        int64_t t;

        if (time_parse_instant(s, tz, &t) == 0)
                time_format_utc(t, buf, sizeof(buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        if (data[0] & 1) {
                char s[128];
                if (size > sizeof(s))
                        return -1;
                memcpy(s, data + 1, size - 1);
                s[size - 1] = '\0';
                instant(s, tz_utc());
                instant(s, london);
                return 0;
        }
        struct tz *tz = NULL;
        if (tz_parse(data + 1, size - 1, "fuzz", &tz) < 0)
                return 0;
        query(tz);
        instant("2027-03-28T01:30", tz);
        tz_free(tz);
        return 0;
}
