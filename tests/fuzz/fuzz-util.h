/* fuzz-util.h: what the config fuzzers share: a private directory made
 * once per process, and writing a file into it. */
#pragma once
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadlined/base/log.h"
#include "deadlined/base/util.h"

static char *fuzz_dir;

static int fuzz_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static void fuzz_rm_dir(void)
{
        nftw(fuzz_dir, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdtemp under /tmp, removed at exit (libFuzzer exits normally at -runs or
 * -max_total_time; after a crash it stays for a look). */
static inline char *fuzz_tmpdir(const char *name)
{
        fuzz_dir = xasprintf("/tmp/%s.XXXXXX", name);
        if (!mkdtemp(fuzz_dir))
                fatalx("mkdtemp %s failed", fuzz_dir);
        atexit(fuzz_rm_dir);
        return xstrdup(fuzz_dir);
}

static inline void fuzz_write(const char *path, const void *data, size_t len, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) < 0)
                fatalx("cannot write %s", path);
}
