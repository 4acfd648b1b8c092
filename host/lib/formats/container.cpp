// SPDX-License-Identifier: Apache-2.0
// Opens any supported checkpoint by content; filled in as container formats land.
#include "formats/checkpoint.hpp"
