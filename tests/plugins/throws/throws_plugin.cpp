// SPDX-License-Identifier: Apache-2.0
// Fixture: an entry point that breaks the rules and lets an exception escape; the host must
// survive, reject the plugin and name the exception.
#include <ckptconv/plugin.h>

#include <stdexcept>

extern "C" CKPT_EXPORT const ckpt_plugin* ckpt_plugin_entry(const ckpt_host*)
{
    throw std::runtime_error("fixture plugin failed to initialise");
}
