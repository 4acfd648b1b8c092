/* SPDX-License-Identifier: Apache-2.0 */
/* Umbrella header of the ckptconv plugin SDK (C99, no dependencies). docs/abi.md is normative. */
#ifndef CKPTCONV_CKPTCONV_H
#define CKPTCONV_CKPTCONV_H

#include "ckptconv/version.h"
#include "ckptconv/types.h"
#include "ckptconv/config.h"
#include "ckptconv/tensor.h"
#include "ckptconv/plan.h"
#include "ckptconv/plugin.h"

#endif /* CKPTCONV_CKPTCONV_H */
