/* daemon.h: `deadlined run`, the sd-event loop that owns everything. */
#pragma once
#include <stdint.h>

#define NOW_REAL INT64_MIN

struct daemon_opts {
        const char *config_path;
        int64_t now; /* NOW_REAL, or a fixed --now instant (tests) */
        int verbosity;
};

/* Runs until SIGTERM/SIGINT. Returns a sysexits exit code. */
int daemon_run(const struct daemon_opts *o);
