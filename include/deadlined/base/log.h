/* log.h: the one logging API. Writes to stderr; with JOURNAL_STREAM set,
 * each line carries a <N> syslog priority prefix for journald. */
#pragma once
#include <errno.h>
#include <stdarg.h>
#include <syslog.h>
#include "deadlined/base/util.h"

void log_init(int verbosity); /* 0 = info, 1 = debug (-v) */
void log_msg(int prio, const char *fmt, ...) _printf_(2, 3);
void vlog(int prio, const char *fmt, va_list ap) _printf_(2, 0); /* preserves errno */

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warnx(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_errx(...) log_msg(LOG_ERR, __VA_ARGS__)
/* Log with strerror(-r) appended and return r (r is a negative errno). */
int log_error_errno(int r, const char *fmt, ...) _printf_(2, 3);
int log_warn_errno(int r, const char *fmt, ...) _printf_(2, 3);
_Noreturn void fatalx(const char *fmt, ...) _printf_(1, 2);
