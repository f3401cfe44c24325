/* tz.h: time zones from TZif bytes (RFC 8536) plus the POSIX TZ footer for
 * instants beyond the table. Pure: the caller reads the zoneinfo file. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "deadlined/core/date.h"

struct tz;

/* Parse TZif v1/v2/v3 data. name is kept for display. Returns 0 or -EINVAL. */
int tz_parse(const uint8_t *data, size_t len, const char *name, struct tz **out);
struct tz *tz_utc(void); /* a static UTC zone; tz_free on it is a no-op */
void tz_free(struct tz *tz);
const char *tz_name(const struct tz *tz);

/* UTC offset in seconds at instant t, and the abbreviation ("GMT", "BST"). */
int32_t tz_offset_at(const struct tz *tz, int64_t t, const char **abbrev);
/* Local wall time -> UTC instant. A time in a spring-forward gap moves forward by the
 * gap (01:30 on the day London skips 01:00-02:00 -> 02:30 BST); an ambiguous
 * time in the autumn overlap takes the first (earlier) occurrence. */
int64_t tz_local_to_utc(const struct tz *tz, dl_day day, int minute_of_day);
/* UTC instant -> local day and minute of day. */
void tz_utc_to_local(const struct tz *tz, int64_t t, dl_day *day, int *minute_of_day);

/* The --now / --at TIME grammar: YYYY-MM-DD (local midnight), YYYY-MM-DDTHH:MM[:SS] (local),
 * either followed by Z or +HH:MM / -HH:MM (then absolute). Returns 0 or -EINVAL / -ERANGE. */
int time_parse_instant(const char *s, const struct tz *tz, int64_t *out);
/* "2027-03-14 09:00 GMT" in the zone. buf >= 32 bytes. */
const char *tz_format_local(const struct tz *tz, int64_t t, char *buf, size_t len);
/* "2027-03-14T09:00:00Z". buf >= 21 bytes. */
const char *time_format_utc(int64_t t, char *buf, size_t len);
