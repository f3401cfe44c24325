/* log.c: stderr logging; <N> priority prefixes for journald (JOURNAL_STREAM). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/base/log.h"

static int log_verbosity;
static int log_journal = -1;

void log_init(int verbosity)
{
        log_verbosity = verbosity;
        log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void vlog(int prio, const char *fmt, va_list ap)
{
        int saved = errno;

        if (prio == LOG_DEBUG && log_verbosity < 1) {
                errno = saved;
                return;
        }
        if (log_journal < 0)
                log_journal = getenv("JOURNAL_STREAM") != NULL;
        /* One fprintf per line, so concurrent writers never interleave inside a line. */
        char line[2048];
        vsnprintf(line, sizeof(line), fmt, ap);
        if (log_journal)
                fprintf(stderr, "<%d>%s\n", prio, line);
        else
                fprintf(stderr, "deadlined: %s\n", line);
        errno = saved;
}

void log_msg(int prio, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vlog(prio, fmt, ap);
        va_end(ap);
}

static int log_errno_v(int prio, int r, const char *fmt, va_list ap)
{
        char msg[1536];

        vsnprintf(msg, sizeof(msg), fmt, ap);
        log_msg(prio, "%s: %s", msg, strerror(r < 0 ? -r : r));
        return r;
}

int log_error_errno(int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_errno_v(LOG_ERR, r, fmt, ap);
        va_end(ap);
        return r;
}

int log_warn_errno(int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_errno_v(LOG_WARNING, r, fmt, ap);
        va_end(ap);
        return r;
}

_Noreturn void fatalx(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vlog(LOG_CRIT, fmt, ap);
        va_end(ap);
        exit(70); /* EX_SOFTWARE */
}
