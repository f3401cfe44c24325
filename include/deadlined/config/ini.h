/* ini.h: the pre-scan that runs before iniparser. iniparser merges duplicate
 * keys and sections silently, and reports no line numbers; this scan records
 * where each section and key is, and rejects what iniparser would mishandle. */
#pragma once
#include <stddef.h>
#include "deadlined/base/diag.h"
#include "deadlined/base/util.h"

/* iniparser 4.1 reads lines with fgets(buf, 1024): a line of more than 1022 bytes
 * (plus its newline) fails the whole load, so the scan rejects it first. */
#define INI_MAX_LINE 1024

struct ini_scan {
        struct arena arena;
        struct strmap where;     /* "section\nkey" and "section" (lowercased) -> line */
        const char **sections;   /* lowercased, in file order */
        int *section_lines;
        size_t nsections, cap;
};

/* Scan one file's bytes. Errors (FILE:LINE:) go to d: duplicate sections
 * (case-insensitive), duplicate keys, a line over INI_MAX_LINE bytes, invalid
 * UTF-8, a BOM, NUL or control characters, a line that is neither a section,
 * a key = value, a comment nor blank, a section name containing ':' or without
 * a kind and a name where one is needed. Returns 0 if clean, -EINVAL otherwise. */
int ini_prescan(const char *file, const char *buf, size_t len, struct ini_scan *s, struct diags *d);
/* Line of a section or key (names are matched case-insensitively); 0 if unknown. */
int ini_line(const struct ini_scan *s, const char *section, const char *key);
void ini_scan_free(struct ini_scan *s);
