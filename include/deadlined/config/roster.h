/* roster.h: streaming CSV roster parser on libcsv. Fed in chunks, so a
 * million-row file never sits in memory twice. The caller gives meaning to
 * the columns; this module only yields rows with their line numbers. */
#pragma once
#include <stddef.h>
#include "deadlined/base/diag.h"

struct roster_row {
        const char *const *fields; /* NUL-terminated, trimmed of surrounding spaces */
        const size_t *lens;
        size_t n;
        long line;     /* physical line where the row starts (1-based) */
        bool header;   /* the first row */
};
/* Return 0 to continue, negative to stop parsing. */
typedef int (*roster_row_fn)(const struct roster_row *row, void *userdata);

struct roster_parser;
/* Errors (ragged rows, unterminated quotes, invalid UTF-8, control characters)
 * are reported to d as FILE:LINE:. A leading UTF-8 BOM (Excel) is skipped. */
struct roster_parser *roster_new(const char *file, roster_row_fn fn, void *userdata,
                                 struct diags *d);
int roster_feed(struct roster_parser *p, const char *buf, size_t len);
int roster_finish(struct roster_parser *p); /* flushes the last row; 0 or -EINVAL */
void roster_free(struct roster_parser *p);
