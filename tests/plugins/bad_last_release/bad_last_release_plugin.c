/* SPDX-License-Identifier: Apache-2.0 */
/* Fixture: an ABI 1.2 plugin in C whose model gives a malformed last release ("2.3", not "cs-2.3"),
 * which the C++ SDK would have refused: the host must refuse the plugin at load. Its model is
 * named mpt, a bundled family's, as a broken build of that plugin would be. */
#include <stddef.h>

#include <ckptconv/ckptconv.h>

static const ckpt_model kModel = {sizeof(ckpt_model), 0, {"mpt", 3}, NULL, 0, NULL, 0, {NULL, 0}, NULL,
                                  {"2.3", 3}, {"a release written without its cs- prefix", 40}};
static const ckpt_model* const kModels[] = {&kModel};

static const ckpt_plugin kPlugin = {sizeof(ckpt_plugin), (uint32_t)CKPT_MAKE_VERSION(1, 2), {"bad_last_release", 16},
                                    {"1.0", 3}, {NULL, 0}, kModels, 1, NULL, 0};

CKPT_EXTERN_C CKPT_EXPORT const ckpt_plugin* ckpt_plugin_entry(const ckpt_host* host)
{
    (void)host;
    return &kPlugin;
}
