/* diag.c: configuration diagnostics collected over a whole load. */
#include <stdio.h>
#include <string.h>

#include "deadlined/base/diag.h"

void diag_add(struct diags *d, int sev, const char *file, int line, const char *fmt, ...)
{
        size_t max = d->max ? d->max : 1000;
        va_list ap;

        if (sev == DIAG_ERROR)
                d->nerrors++;
        else
                d->nwarnings++;
        if (d->n >= max)
                return; /* a million-row roster with one bad column must not flood */
        if (d->n == d->cap) {
                d->cap = d->cap ? d->cap * 2 : 16;
                d->v = xreallocarray(d->v, d->cap, sizeof(*d->v));
        }
        struct diag *g = &d->v[d->n++];
        g->file = file ? xstrdup(file) : NULL;
        g->line = line;
        g->sev = sev;
        va_start(ap, fmt);
        if (vasprintf(&g->msg, fmt, ap) < 0)
                g->msg = xstrdup("(out of memory)");
        va_end(ap);
}

void diag_print(const struct diags *d, FILE *f)
{
        for (size_t i = 0; i < d->n; i++) {
                const struct diag *g = &d->v[i];
                const char *sev = g->sev == DIAG_WARNING ? "warning: " : "";
                if (g->file && g->line > 0)
                        fprintf(f, "%s:%d: %s%s\n", g->file, g->line, sev, g->msg);
                else if (g->file)
                        fprintf(f, "%s: %s%s\n", g->file, sev, g->msg);
                else
                        fprintf(f, "%s%s\n", sev, g->msg);
        }
        size_t total = d->nerrors + d->nwarnings;
        if (total > d->n)
                fprintf(f, "(%zu more not shown)\n", total - d->n);
}

void diag_free(struct diags *d)
{
        for (size_t i = 0; i < d->n; i++) {
                free(d->v[i].file);
                free(d->v[i].msg);
        }
        free(d->v);
        d->v = NULL;
        d->n = d->cap = d->nerrors = d->nwarnings = 0;
}
