/* ini.c: the pre-scan that runs over each config file's raw bytes before
 * iniparser sees it. It mirrors iniparser 4.1's line rules closely enough to
 * record where every section and key is, and it rejects what iniparser would
 * merge silently, hide, or fail on without saying where. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "deadlined/config/ini.h"

/* iniparser reads with fgets(line, 1024): a line keeps at most 1023 bytes
 * including its '\n', so 1022 bytes of content (a CR counts) is the real
 * limit. Measured against libiniparser1 4.1-6: 1022 loads, 1023 fails. */
#define INI_LINE_LIMIT (INI_MAX_LINE - 2)

struct scan_ctx {
        const char *file;
        struct ini_scan *s;
        struct diags *d;
        const char *section;   /* lowercased; "" before any header, NULL after a broken one */
        struct strbuf logical; /* physical lines joined by a trailing '\' */
        struct strbuf key;     /* scratch for map keys */
        int logical_line;
        bool bad;
};

#define scan_err(c, line, ...)                                                                     \
        do {                                                                                       \
                diag_err((c)->d, (c)->file, (line), __VA_ARGS__);                                  \
                (c)->bad = true;                                                                   \
        } while (0)

static bool is_space(char c)
{
        /* isspace() in the C locale, which is what iniparser's strstrip uses */
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static void trim(const char **s, size_t *n)
{
        while (*n > 0 && is_space(**s)) {
                (*s)++;
                (*n)--;
        }
        while (*n > 0 && is_space((*s)[*n - 1]))
                (*n)--;
}

static void lower_ascii(char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] >= 'A' && s[i] <= 'Z')
                        s[i] = (char)(s[i] - 'A' + 'a');
}

/* Build "section" or "section\nkey", lowercased, in the scratch buffer. */
static const char *map_key(struct strbuf *sb, const char *section, size_t slen, const char *key,
                           size_t klen)
{
        sb_reset(sb);
        sb_append(sb, section, slen);
        if (key) {
                sb_putc(sb, '\n');
                sb_append(sb, key, klen);
        }
        lower_ascii(sb->buf, sb->len);
        return sb->buf;
}

/* Record key -> line; returns the earlier line if the key was already there, else 0. */
static int record(struct scan_ctx *c, const char *key, int line, const char **stored)
{
        uint32_t first;

        if (strmap_get(&c->s->where, key, &first))
                return (int)first;
        char *k = arena_strdup(&c->s->arena, key);
        strmap_put(&c->s->where, k, (uint32_t)line, NULL);
        if (stored)
                *stored = k;
        return 0;
}

static void add_section(struct ini_scan *s, const char *name, int line)
{
        if (s->nsections == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 16;
                s->sections = xreallocarray(s->sections, s->cap, sizeof(*s->sections));
                s->section_lines = xreallocarray(s->section_lines, s->cap, sizeof(int));
        }
        s->sections[s->nsections] = name;
        s->section_lines[s->nsections++] = line;
}

/* s is trimmed and starts with '['. iniparser wants ']' as the last byte and
 * takes the name up to the first ']'. */
static void scan_section(struct scan_ctx *c, const char *s, size_t n, int line)
{
        const char *close = memchr(s, ']', n);

        if (!close) {
                scan_err(c, line, "unterminated section header");
                c->section = NULL;
                return;
        }
        if (close != s + n - 1)
                /* iniparser 4.1 fails the whole load on "[x] ; comment" */
                scan_err(c, line,
                         "text after ']' in section header; put comments on their own line");
        const char *name = s + 1;
        size_t len = (size_t)(close - name);
        trim(&name, &len);
        if (len == 0) {
                scan_err(c, line, "empty section name");
                c->section = NULL;
                return;
        }
        const char *key = map_key(&c->key, name, len, NULL, 0);
        if (memchr(key, ':', len))
                /* iniparser_getsecname() skips names with ':' (its key separator) */
                scan_err(c, line,
                         "section name [%s] contains ':'; use a space, e.g. [rule senco-npq]", key);
        const char *stored = NULL;
        int first = record(c, key, line, &stored);
        if (first) {
                scan_err(c, line, "duplicate section [%s] (first at line %d)", key, first);
                /* keep scanning keys against the merged section, as iniparser merges them */
                for (size_t i = 0; i < c->s->nsections; i++)
                        if (strcmp(c->s->sections[i], key) == 0)
                                c->section = c->s->sections[i];
                return;
        }
        add_section(c->s, stored, line);
        c->section = stored;
}

/* A value that opens a quote must close it: iniparser would keep the quote
 * character and cut the value at ';' or '#' instead. */
static bool unterminated_quote(const char *v, size_t n)
{
        if (n == 0 || (v[0] != '"' && v[0] != '\''))
                return false;
        return memchr(v + 1, v[0], n - 1) == NULL;
}

static void scan_key(struct scan_ctx *c, const char *s, size_t n, int line)
{
        const char *eq = memchr(s, '=', n);

        if (!eq) {
                scan_err(c, line, "expected '[section]', 'key = value' or a comment");
                return;
        }
        const char *k = s, *v = eq + 1;
        size_t klen = (size_t)(eq - s), vlen = n - klen - 1;
        trim(&k, &klen);
        trim(&v, &vlen);
        if (klen == 0) {
                scan_err(c, line, "empty key name");
                return;
        }
        if (unterminated_quote(v, vlen))
                scan_err(c, line, "unterminated quoted value");
        if (!c->section)
                return; /* under a broken header: already reported */
        const char *key = map_key(&c->key, c->section, strlen(c->section), k, klen);
        const char *name = key + strlen(c->section) + 1;
        if (c->section[0] == '\0')
                scan_err(c, line, "key '%s' outside any section", name);
        int first = record(c, key, line, NULL);
        if (first)
                scan_err(c, line, "duplicate key '%s' in [%s] (first at line %d)", name, c->section,
                         first);
}

static void scan_logical(struct scan_ctx *c, const char *s, size_t n, int line)
{
        trim(&s, &n);
        if (n == 0 || s[0] == ';' || s[0] == '#')
                return;
        if (s[0] == '[')
                scan_section(c, s, n, line);
        else
                scan_key(c, s, n, line);
}

/* Bytes of one physical line (no '\n'; a trailing CR only if it ended in
 * "\r\n"): NUL, control characters and invalid UTF-8, first problem only. */
static void check_bytes(struct scan_ctx *c, const char *s, size_t n, bool crlf, int line)
{
        long bad = utf8_check(s, crlf ? n - 1 : n, true);

        if (bad < 0)
                return;
        unsigned char b = (unsigned char)s[bad];
        if (b == 0)
                scan_err(c, line, "NUL byte");
        else if (b < 0x20 || b == 0x7f)
                scan_err(c, line, "control character 0x%02x", b);
        else
                scan_err(c, line, "invalid UTF-8");
}

static void scan_physical(struct scan_ctx *c, const char *s, size_t n, bool has_lf, int line)
{
        bool crlf = has_lf && n > 0 && s[n - 1] == '\r';

        check_bytes(c, s, n, crlf, line);
        if (c->logical.len + n > INI_LINE_LIMIT)
                scan_err(c, line, "line is %zu bytes long; the limit is %d", c->logical.len + n,
                         INI_LINE_LIMIT);
        if (c->logical.len == 0)
                c->logical_line = line;
        sb_append(&c->logical, s, n);
        /* iniparser strips trailing space, then a final '\' joins the next line */
        while (c->logical.len > 0 && is_space(c->logical.buf[c->logical.len - 1]))
                c->logical.len--;
        if (c->logical.len > 0 && c->logical.buf[c->logical.len - 1] == '\\') {
                c->logical.len--;
                c->logical.buf[c->logical.len] = '\0';
                if (has_lf)
                        return;
        }
        scan_logical(c, c->logical.buf, c->logical.len, c->logical_line);
        sb_reset(&c->logical);
}

int ini_prescan(const char *file, const char *buf, size_t len, struct ini_scan *s, struct diags *d)
{
        struct scan_ctx c = {.file = file, .s = s, .d = d, .section = ""};
        size_t pos = 0;
        int line = 1;

        if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
                scan_err(
                    &c, 1,
                    "UTF-8 byte order mark at start of file; save the file as UTF-8 without BOM");
                pos = 3;
        }
        while (pos < len) {
                const char *nl = memchr(buf + pos, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
                scan_physical(&c, buf + pos, n, nl != NULL, line++);
                pos += n + (nl ? 1 : 0);
        }
        if (c.logical.len > 0) /* file ended on a continuation */
                scan_logical(&c, c.logical.buf, c.logical.len, c.logical_line);
        sb_free(&c.logical);
        sb_free(&c.key);
        return c.bad ? -EINVAL : 0;
}

int ini_line(const struct ini_scan *s, const char *section, const char *key)
{
        struct strbuf sb = {0};
        uint32_t line = 0;

        if (!s)
                return 0;
        if (!section)
                section = "";
        map_key(&sb, section, strlen(section), key, key ? strlen(key) : 0);
        if (!strmap_get(&s->where, sb.buf, &line))
                line = 0;
        sb_free(&sb);
        return (int)line;
}

void ini_scan_free(struct ini_scan *s)
{
        if (!s)
                return;
        strmap_free(&s->where);
        arena_free(&s->arena);
        free(s->sections);
        free(s->section_lines);
        *s = (struct ini_scan){0};
}
