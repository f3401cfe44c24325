/* fuzz-select: selector and recipient expressions through the real loader.
 * config has no separate entry point for them, so the input (one line) is
 * placed as the value of select, applies_to, notify or remind (chosen by
 * the first byte) in a small config with rules, roles, orgs and webhooks
 * for names to resolve against. */
#include <stdint.h>

#include "deadlined/config/config.h"
#include "fuzz-util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *conf;

/* %1$s..%4$s: the value of each slot (the fuzzed one, or a valid default). */
static const char config_fmt[] = "[deadlined]\n"
                                 "timezone = UTC\n"
                                 "[webhook team]\n"
                                 "url = \"http://127.0.0.1:9/hook\"\n"
                                 "[feed f]\n"
                                 "title = \"F\"\n"
                                 "select = %1$s\n"
                                 "public = yes\n"
                                 "[rule npq]\n"
                                 "title = \"NPQ\"\n"
                                 "applies_to = %2$s\n"
                                 "anchor = appointed\n"
                                 "within = 3y\n"
                                 "notify = %3$s\n"
                                 "remind = %4$s\n"
                                 "[commitment c]\n"
                                 "title = \"C\"\n"
                                 "due = 2027\n"
                                 "notify = webhook:team\n"
                                 "[person ann]\n"
                                 "name = \"Ann\"\n"
                                 "email = ann@example.org\n"
                                 "role = senco\n"
                                 "org = oak\n"
                                 "manager = bob\n"
                                 "appointed = 2024-02-29\n"
                                 "[person bob]\n"
                                 "name = \"Bob\"\n"
                                 "email = bob@example.org\n"
                                 "role = head\n"
                                 "org = oak\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        char *dir = fuzz_tmpdir("fuzz-select");

        conf = xasprintf("%s/deadlined.conf", dir);
        free(dir);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *vals[4] = {"people", "role:senco", "person manager", "1m"};
        struct model *m = NULL;
        struct diags d = {0};

        if (size < 1 || size > 900)
                return -1;
        /* one line: a newline would start another key, which fuzz-config covers */
        char *v = xstrndup((const char *)data + 1, size - 1);
        if (strlen(v) != size - 1 || strpbrk(v, "\r\n")) {
                free(v);
                return -1;
        }
        vals[data[0] % 4] = v;
        char *text = xasprintf(config_fmt, vals[0], vals[1], vals[2], vals[3]);
        fuzz_write(conf, text, strlen(text), 0644);
        int r = config_load(conf, &m, &d);
        if ((r == 0) != (m != NULL) || (r < 0 && !d.nerrors))
                fatalx("config_load returned %d with %zu errors", r, d.nerrors);
        if (m && m->nfeeds != 1)
                fatalx("%u feeds", m->nfeeds);
        model_free(m);
        diag_free(&d);
        free(text);
        free(v);
        return 0;
}
