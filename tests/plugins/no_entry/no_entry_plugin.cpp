// SPDX-License-Identifier: Apache-2.0
// Fixture: a shared library without ckpt_plugin_entry (not a ckptconv plugin at all).
#include <ckptconv/types.h>

extern "C" CKPT_EXPORT int some_other_library_function(void) { return 42; }
