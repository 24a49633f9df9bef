#include "config.h"
#include "report/report.h"
int report_write_core(const char *path, struct guest *guest, const struct accel_exit *exit,
                      const struct cpu_state *state, const struct cpu_fpu_state *fpu, char **error)
{
    (void)path;
    (void)guest;
    (void)exit;
    (void)state;
    (void)fpu;
    *error = 0;
    return -38;
}
