/* config-values.c: syntax checks for single configuration values (ids, host
 * names, email addresses, URLs, listen addresses, time spans). Pure string
 * checks with no places and no messages: config-get.c adds those. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-internal.h"

#define ID_MAX 64
#define EMAIL_MAX 254
#define EMAIL_LOCAL_MAX 64

/* Section ids, person ids, role and org names: [a-z0-9][a-z0-9._-]*, at most 64. */
bool cv_id_valid(const char *s)
{
        size_t n = 0;

        if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
                return false;
        for (; s[n]; n++) {
                unsigned char c = (unsigned char)s[n];
                if (!islower(c) && !isdigit(c) && c != '.' && c != '_' && c != '-')
                        return false;
        }
        return n <= ID_MAX;
}

/* Person date field names: [a-z][a-z0-9_]*, at most 64. */
bool cv_field_valid(const char *s)
{
        size_t n = 0;

        if (!islower((unsigned char)s[0]))
                return false;
        for (; s[n]; n++) {
                unsigned char c = (unsigned char)s[n];
                if (!islower(c) && !isdigit(c) && c != '_')
                        return false;
        }
        return n <= ID_MAX;
}

static bool label_valid(const char *s, size_t n)
{
        if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)s[i]) && s[i] != '-')
                        return false;
        return true;
}

/* Dot-separated labels of [A-Za-z0-9-], none starting or ending with '-'. */
bool cv_hostname_valid(const char *s, size_t n)
{
        size_t start = 0;

        if (n == 0 || n > 253)
                return false;
        for (size_t i = 0; i <= n; i++) {
                if (i < n && s[i] != '.')
                        continue;
                if (!label_valid(s + start, i - start))
                        return false;
                start = i + 1;
        }
        return true;
}

static bool local_char(unsigned char c)
{
        return isalnum(c) || (c && strchr(".!#$%&'*+/=?^_`{|}~-", c));
}

/* A practical addr-spec: dot-atom local part, a host name with at least one dot. */
bool cv_email_valid(const char *s)
{
        size_t n = strlen(s);
        const char *at = strchr(s, '@');

        if (n > EMAIL_MAX || !at || at == s || strchr(at + 1, '@'))
                return false;
        size_t local = (size_t)(at - s);
        if (local > EMAIL_LOCAL_MAX || s[0] == '.' || s[local - 1] == '.')
                return false;
        for (size_t i = 0; i < local; i++) {
                if (!local_char((unsigned char)s[i]))
                        return false;
                if (s[i] == '.' && s[i + 1] == '.')
                        return false;
        }
        const char *dom = at + 1;
        return strchr(dom, '.') && cv_hostname_valid(dom, strlen(dom));
}

/* Split "scheme://[user@]host[:port][/path]": scheme lowercased into scheme,
 * host (without brackets for IPv6) pointed to by host/hostlen.
 * Returns 0, -EPROTO (no scheme://), or -EINVAL (no host, or spaces). */
int cv_url_split(const char *url, char *scheme, size_t slen, const char **host, size_t *hostlen)
{
        const char *sep = strstr(url, "://");
        size_t n;

        scheme[0] = '\0';
        if (!sep || sep == url || (size_t)(sep - url) >= slen)
                return -EPROTO;
        for (n = 0; url + n < sep; n++) {
                if (!isalnum((unsigned char)url[n]) && !strchr("+.-", url[n]))
                        return -EPROTO;
                scheme[n] = (char)tolower((unsigned char)url[n]);
        }
        scheme[n] = '\0';
        for (const char *p = url; *p; p++)
                if ((unsigned char)*p <= 0x20 || *p == 0x7f)
                        return -EINVAL;
        const char *h = sep + 3;
        size_t auth = strcspn(h, "/?#");
        const char *at = memchr(h, '@', auth);
        if (at) {
                auth -= (size_t)(at + 1 - h);
                h = at + 1;
        }
        if (h[0] == '[') {
                const char *close = memchr(h, ']', auth);
                if (!close)
                        return -EINVAL;
                *host = h + 1;
                *hostlen = (size_t)(close - h - 1);
        } else {
                *host = h;
                *hostlen = strcspn(h, ":/?#");
        }
        return *hostlen > 0 ? 0 : -EINVAL;
}

static bool port_valid(const char *s)
{
        char *end;

        if (!isdigit((unsigned char)s[0]) || strlen(s) > 5)
                return false;
        long port = strtol(s, &end, 10);
        return *end == '\0' && port >= 1 && port <= 65535;
}

/* "none", "HOST:PORT" or "[IPV6]:PORT". */
bool cv_listen_valid(const char *s)
{
        if (strcmp(s, "none") == 0)
                return true;
        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close || close == s + 1 || close[1] != ':')
                        return false;
                for (const char *p = s + 1; p < close; p++)
                        if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                                return false;
                return port_valid(close + 2);
        }
        const char *colon = strrchr(s, ':');
        if (!colon || !cv_hostname_valid(s, (size_t)(colon - s)))
                return false;
        return port_valid(colon + 1);
}

/* yes|no|true|false|on|off|1|0: 1, 0, or -1 for anything else. */
int cv_bool(const char *s)
{
        static const char *const yes[] = {"yes", "true", "on", "1"};
        static const char *const no[] = {"no", "false", "off", "0"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -1;
}

/* Time-span units, largest first; "m" is not one of them (it means months in
 * durations), so "5m" gets its own error rather than a silent guess. */
static const struct {
        const char *name;
        int32_t secs;
} span_units[] = {{"d", 86400}, {"h", 3600}, {"min", 60}, {"s", 1}};

static int span_unit(const char *s, size_t n)
{
        for (size_t u = 0; u < ELEMENTSOF(span_units); u++)
                if (strlen(span_units[u].name) == n && strncmp(s, span_units[u].name, n) == 0)
                        return (int)u;
        return n == 1 && s[0] == 'm' ? -EDOM : -EINVAL;
}

int cv_span_parse(const char *s, int32_t *out)
{
        int64_t total = 0;
        int next = 0, r = 0;

        if (!*s)
                return -EINVAL;
        while (*s) {
                int64_t n = 0;
                size_t digits = 0, letters = 0;
                for (; isdigit((unsigned char)s[digits]) && digits < 10; digits++)
                        n = n * 10 + (s[digits] - '0');
                while (islower((unsigned char)s[digits + letters]))
                        letters++;
                int u = span_unit(s + digits, letters);
                if (u == -EDOM && digits > 0)
                        r = -EDOM; /* keep going: a later syntax error still wins */
                else if (digits == 0 || u < 0 || u < next)
                        return -EINVAL;
                else {
                        total += n * span_units[u].secs;
                        next = u + 1;
                }
                s += digits + letters;
        }
        if (r < 0)
                return r;
        if (total > SPAN_MAX)
                return -ERANGE;
        *out = (int32_t)total;
        return 0;
}

const char *cv_span_format(int32_t secs, char *buf, size_t len)
{
        size_t n = 0;

        buf[0] = '\0';
        for (size_t u = 0; u < ELEMENTSOF(span_units) && n < len; u++) {
                int32_t k = secs / span_units[u].secs;
                secs %= span_units[u].secs;
                if (k > 0)
                        n += (size_t)snprintf(buf + n, len - n, "%d%s", k, span_units[u].name);
        }
        if (buf[0] == '\0')
                snprintf(buf, len, "0s");
        return buf;
}
