/* diag.h: collected configuration diagnostics, printed as "FILE:LINE: message". */
#pragma once
#include <stdio.h>
#include "deadlined/base/util.h"

enum diag_sev { DIAG_ERROR, DIAG_WARNING };
struct diag {
        char *file; /* may be NULL for whole-run messages */
        int line;   /* 0 when not tied to a line */
        int sev;
        char *msg;
};
struct diags {
        struct diag *v;
        size_t n, cap;
        size_t nerrors, nwarnings;
        size_t max; /* stop recording beyond this many (0 = 1000); counts still rise */
};
void diag_add(struct diags *d, int sev, const char *file, int line, const char *fmt, ...)
        _printf_(5, 6);
#define diag_err(d, file, line, ...) diag_add((d), DIAG_ERROR, (file), (line), __VA_ARGS__)
#define diag_warn(d, file, line, ...) diag_add((d), DIAG_WARNING, (file), (line), __VA_ARGS__)
/* Errors print as "FILE:LINE: msg", warnings as "FILE:LINE: warning: msg". */
void diag_print(const struct diags *d, FILE *f);
void diag_free(struct diags *d);
