/* fuzz-config: the whole loader (pre-scan, iniparser, validation, roster,
 * time zone) on one main file written into a private directory that also
 * holds a token, a roster and a drop-in the input may refer to. */
#include <stdint.h>
#include <sys/stat.h>

#include "deadlined/config/config.h"
#include "fuzz-util.h"

#define MAX_INPUT (64 << 10)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dir, *conf;

static void put(const char *name, const char *text, mode_t mode)
{
        char *path = xasprintf("%s/%s", dir, name);

        fuzz_write(path, text, strlen(text), mode);
        free(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        dir = fuzz_tmpdir("fuzz-config");
        conf = xasprintf("%s/deadlined.conf", dir);
        put("school.token", "AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHHIIIIJJJJKKK\n", 0600);
        put("roster.csv",
            "id,name,email,role,org,manager,appointed\n"
            "ann,Ann,ann@example.org,senco,oak,,2024-01-31\n",
            0644);
        char *sub = xasprintf("%s/conf.d", dir);
        if (mkdir(sub, 0755) < 0)
                fatalx("mkdir %s failed", sub);
        free(sub);
        put("conf.d/10-more.conf", "[commitment extra]\ntitle = \"Extra\"\ndue = 2027-03\n", 0644);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct model *m = NULL;
        struct diags d = {0};

        if (size > MAX_INPUT)
                return -1; /* not added to the corpus */
        fuzz_write(conf, data, size, 0644);
        int r = config_load(conf, &m, &d);
        if ((r == 0) != (m != NULL) || (r == 0 && d.nerrors) || (r < 0 && !d.nerrors))
                fatalx("config_load returned %d with %zu errors", r, d.nerrors);
        if (m)
                free(config_summary(m));
        model_free(m);
        diag_free(&d);
        return 0;
}
