/* roster.c: streaming CSV roster on libcsv.
 *
 * Line numbers: libcsv never says where it is, so with CSV_REPALL_NL it
 * reports every unquoted CR and LF through the row callback (blank lines as
 * empty rows), and line breaks inside quoted fields are counted from the
 * field bytes. That keeps the count exact whatever the chunk sizes are.
 *
 * Fields are copied into fixed slots (64 x 1025 bytes, allocated once), so
 * a row costs no malloc; libcsv's own buffer is capped so an unterminated
 * quote cannot pull the rest of a huge file into memory. */
#include <errno.h>
#include <string.h>
#include <csv.h>

#include "deadlined/config/roster.h"
#include "deadlined/base/log.h"
#include "deadlined/base/util.h"

#define ROSTER_MAX_FIELDS 64
#define ROSTER_MAX_FIELD 1024
#define ROSTER_MAX_BUF (64 * 1024) /* libcsv's field buffer: far above any valid field */
#define SLOT (ROSTER_MAX_FIELD + 1)

struct roster_parser {
        struct csv_parser csv;
        char *file;
        roster_row_fn fn;
        void *userdata;
        struct diags *d;

        char *slots; /* ROSTER_MAX_FIELDS slots of SLOT bytes */
        const char *fields[ROSTER_MAX_FIELDS];
        size_t lens[ROSTER_MAX_FIELDS];
        size_t nfields; /* in the current row, counting those past the limit */

        long line;     /* line where the next byte libcsv reports on starts */
        long row_line; /* line where the current row starts */
        bool last_cr;  /* the previous terminator was a CR with nothing after it */
        bool row_bad;  /* the current row already has an error: drop it */

        bool have_header, header_bad;
        size_t nheader;

        unsigned char bom[3]; /* a possible BOM split across chunks */
        size_t nbom;
        bool bom_done;

        bool skip_line; /* after a libcsv error: discard up to the next LF */
        bool errors;
        int stop; /* the callback's negative return, or -EINVAL when parsing cannot go on */
};

#define row_err(p, line, ...)                                                                      \
        do {                                                                                       \
                diag_err((p)->d, (p)->file, (int)(line), __VA_ARGS__);                             \
                (p)->errors = true;                                                                \
        } while (0)

/* A field bigger than this is an error anyway; refusing to grow keeps memory flat. */
static void *capped_realloc(void *ptr, size_t n)
{
        if (n > ROSTER_MAX_BUF)
                return NULL;
        return realloc(ptr, n);
}

/* Line breaks in field bytes, counting CRLF once, as the row counter does. */
static long count_breaks(const unsigned char *s, size_t n)
{
        long k = 0;

        for (size_t i = 0; i < n; i++)
                if (s[i] == '\r' || (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')))
                        k++;
        return k;
}

static bool plain_ascii(const unsigned char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)(s[i] - 0x20) >= 0x5f) /* outside 0x20..0x7e */
                        return false;
        return true;
}

/* Returns false (after reporting) if the field's bytes are unacceptable. */
static bool check_field(struct roster_parser *p, const unsigned char *s, size_t n, long line)
{
        if (plain_ascii(s, n)) /* the common case: one tight loop */
                return true;
        long bad = utf8_check((const char *)s, n, true);
        if (bad < 0)
                return true;
        unsigned char b = s[bad];
        if (b == '\r' || b == '\n')
                row_err(p, line, "line break inside a field");
        else if (b < 0x20 || b == 0x7f)
                row_err(p, line, "control character 0x%02x", b);
        else
                row_err(p, line, "invalid UTF-8");
        return false;
}

static bool is_blank(unsigned char c)
{
        return c == ' ' || c == '\t';
}

static void on_field(void *data, size_t len, void *userdata)
{
        struct roster_parser *p = userdata;
        const unsigned char *s = data;
        long field_line = p->line;

        if (p->stop || p->skip_line)
                return;
        p->line += count_breaks(s, len);
        if (p->nfields == 0) {
                p->row_line = field_line;
                p->row_bad = false;
        }
        size_t i = p->nfields++;
        if (p->row_bad)
                return;
        if (i >= ROSTER_MAX_FIELDS) {
                row_err(p, p->row_line, "row has more than %d fields", ROSTER_MAX_FIELDS);
                p->row_bad = true;
                return;
        }
        while (len > 0 && is_blank(*s))
                s++, len--;
        while (len > 0 && is_blank(s[len - 1]))
                len--;
        if (!check_field(p, s, len, field_line)) {
                p->row_bad = true;
                return;
        }
        if (len > ROSTER_MAX_FIELD) {
                row_err(p, field_line, "field is %zu bytes long; the limit is %d", len,
                        ROSTER_MAX_FIELD);
                p->row_bad = true;
                return;
        }
        char *slot = p->slots + i * SLOT;
        memcpy(slot, s, len);
        slot[len] = '\0';
        p->fields[i] = slot;
        p->lens[i] = len;
}

static void deliver_row(struct roster_parser *p, size_t n)
{
        bool header = !p->have_header;

        if (header) {
                p->have_header = true;
                p->nheader = n;
                p->header_bad = p->row_bad;
        } else if (!p->row_bad && n != p->nheader) {
                row_err(p, p->row_line, "row has %zu fields; the header has %zu", n, p->nheader);
                return;
        }
        /* without a usable header no row means anything: keep checking, deliver nothing */
        if (p->row_bad || p->header_bad)
                return;
        struct roster_row row = {
            .fields = p->fields,
            .lens = p->lens,
            .n = n,
            .line = p->row_line,
            .header = header,
        };
        int r = p->fn(&row, p->userdata);
        if (r < 0)
                p->stop = r;
}

static void on_row(int c, void *userdata)
{
        struct roster_parser *p = userdata;
        size_t n = p->nfields;

        if (p->stop || p->skip_line)
                return;
        p->nfields = 0;
        if (n > 0)
                deliver_row(p, n);
        /* the LF of a CRLF arrives as its own empty row */
        if (c == '\n' && n == 0 && p->last_cr)
                p->last_cr = false;
        else if (c == '\r' || c == '\n') {
                p->line++;
                p->last_cr = c == '\r';
        }
}

struct roster_parser *roster_new(const char *file, roster_row_fn fn, void *userdata,
                                 struct diags *d)
{
        struct roster_parser *p = xcalloc(1, sizeof(*p));

        /* STRICT: stray quotes are errors; STRICT_FINI: an open quote at EOF is
         * an error, not a field; REPALL_NL: every line end reaches on_row. */
        if (csv_init(&p->csv, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0)
                fatalx("csv_init failed");
        csv_set_realloc_func(&p->csv, capped_realloc);
        p->file = xstrdup(file ? file : "");
        p->fn = fn;
        p->userdata = userdata;
        p->d = d;
        p->slots = xmalloc((size_t)ROSTER_MAX_FIELDS * SLOT);
        p->line = 1;
        return p;
}

/* Drop libcsv's partial field and row so parsing can resume at the next line. */
static void csv_reset(struct roster_parser *p)
{
        int opts = csv_get_opts(&p->csv);

        csv_set_opts(&p->csv, (unsigned char)(opts & ~CSV_STRICT_FINI));
        csv_fini(&p->csv, NULL, NULL, NULL);
        csv_set_opts(&p->csv, (unsigned char)opts);
        p->nfields = 0;
        p->row_bad = false;
}

/* libcsv stopped early: report, then resynchronise at the next line. */
static void parse_error(struct roster_parser *p)
{
        int e = csv_error(&p->csv);

        if (e == CSV_ENOMEM || e == CSV_ETOOBIG) {
                row_err(p, p->line,
                        "field is over %d bytes long (unterminated quote?); the limit is %d",
                        ROSTER_MAX_BUF, ROSTER_MAX_FIELD);
                p->stop = -EINVAL; /* we cannot tell where that field ends */
                return;
        }
        row_err(p, p->line, "malformed CSV: %s", csv_strerror(e));
        csv_reset(p);
        p->skip_line = true;
}

static int feed_csv(struct roster_parser *p, const char *buf, size_t len)
{
        while (len > 0 && !p->stop) {
                if (p->skip_line) {
                        const char *nl = memchr(buf, '\n', len);
                        if (!nl)
                                return 0;
                        p->skip_line = false;
                        p->line++;
                        p->last_cr = false;
                        len -= (size_t)(nl + 1 - buf);
                        buf = nl + 1;
                        continue;
                }
                size_t used = csv_parse(&p->csv, buf, len, on_field, on_row, p);
                /* stopped by the callback: the rest is not looked at, however it is chunked */
                if (p->stop || (used == len && csv_error(&p->csv) == CSV_SUCCESS))
                        break;
                parse_error(p);
                buf += used;
                len -= used;
        }
        return p->stop;
}

/* Excel writes a BOM; it may arrive split over several chunks. */
static int feed_bom(struct roster_parser *p, const char **buf, size_t *len)
{
        static const unsigned char bom[3] = {0xef, 0xbb, 0xbf};

        while (*len > 0 && p->nbom < 3 && (unsigned char)**buf == bom[p->nbom]) {
                p->bom[p->nbom] = bom[p->nbom];
                p->nbom++;
                (*buf)++;
                (*len)--;
        }
        if (p->nbom == 3) {
                p->bom_done = true;
                return 0;
        }
        if (*len == 0)
                return 0; /* still a possible prefix */
        p->bom_done = true;
        return feed_csv(p, (const char *)p->bom, p->nbom); /* not a BOM after all */
}

int roster_feed(struct roster_parser *p, const char *buf, size_t len)
{
        if (p->stop)
                return p->stop;
        if (!p->bom_done) {
                int r = feed_bom(p, &buf, &len);
                if (r < 0 || len == 0)
                        return r;
        }
        return feed_csv(p, buf, len);
}

int roster_finish(struct roster_parser *p)
{
        if (!p->bom_done && !p->stop) {
                p->bom_done = true;
                feed_csv(p, (const char *)p->bom, p->nbom);
        }
        if (p->stop)
                return p->stop;
        if (p->skip_line) {
                p->skip_line = false;
                csv_reset(p);
        } else if (csv_fini(&p->csv, on_field, on_row, p) != 0) {
                /* only an open quote makes csv_fini fail; p->line is where that field began */
                row_err(p, p->line, "unterminated quoted field (opened on line %ld)", p->line);
                csv_reset(p);
        }
        if (p->stop)
                return p->stop;
        return p->errors ? -EINVAL : 0;
}

void roster_free(struct roster_parser *p)
{
        if (!p)
                return;
        csv_free(&p->csv);
        free(p->slots);
        free(p->file);
        free(p);
}
