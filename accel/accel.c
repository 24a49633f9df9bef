/* accel/accel.c — the table of accelerators built in, and choosing one. */
#include "config.h"
#include "accel/accel.h"

#include <stdio.h>
#include <string.h>

#if CONFIG_KVM
extern const struct accel_ops kvm_accel_ops;
#endif
#if CONFIG_TCG
extern const struct accel_ops tcg_accel_ops;
#endif

const struct accel_ops *const accel_backends[] = {
#if CONFIG_KVM
    &kvm_accel_ops,
#endif
#if CONFIG_TCG
    &tcg_accel_ops,
#endif
    NULL,
};

const struct accel_ops *accel_find(const char *name)
{
    for (int i = 0; accel_backends[i]; i++) {
        if (strcmp(accel_backends[i]->name, name) == 0)
            return accel_backends[i];
    }
    return NULL;
}

const struct accel_ops *accel_choose(char *why, size_t why_size)
{
    size_t used = 0;
    if (why_size)
        why[0] = '\0';
    for (int i = 0; accel_backends[i]; i++) {
        char reason[256];
        if (accel_backends[i]->probe(reason, sizeof(reason)))
            return accel_backends[i];
        if (used < why_size) {
            int written = snprintf(why + used, why_size - used, "%s%s: %s", used ? "; " : "",
                                   accel_backends[i]->name, reason);
            if (written > 0)
                used += (size_t)written;
        }
    }
    if (!accel_backends[0] && why_size)
        snprintf(why, why_size, "no accelerator was built in");
    return NULL;
}
