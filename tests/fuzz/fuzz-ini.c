/* fuzz-ini: the INI pre-scan on raw bytes. Every section it records must be
 * findable again by ini_line, at the line it recorded. */
#include <stdint.h>
#include <string.h>

#include "deadlined/config/ini.h"
#include "deadlined/base/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ini_scan scan = {0};
        struct diags d = {0};
        int r = ini_prescan("fuzz.conf", (const char *)data, size, &scan, &d);

        if ((r == 0) != (d.nerrors == 0))
                fatalx("ini_prescan returned %d with %zu errors", r, d.nerrors);
        for (size_t i = 0; i < scan.nsections; i++) {
                int line = ini_line(&scan, scan.sections[i], NULL);
                if (line != scan.section_lines[i] || line < 1)
                        fatalx("section [%s]: line %d, recorded %d", scan.sections[i], line,
                               scan.section_lines[i]);
        }
        ini_scan_free(&scan);
        diag_free(&d);
        return 0;
}
