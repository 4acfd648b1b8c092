// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: `.mdl` `__spec__` payloads — a pickled TreeSpec or torch's treespec JSON —
// decoded, flattened to key paths and re-encoded.
#include "core/error.hpp"
#include "formats/mdl/tree_spec.hpp"
#include "formats/torch/pickle.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        const ckpt::Node pickled = ckpt::pickle::unpickle(bytes, "fuzz spec");
        const auto spec = ckpt::detail::spec_from_unpickled(pickled, "fuzz spec");
        (void)ckpt::detail::leaf_keys(spec);
        (void)ckpt::detail::spec_to_pickle(spec);
    } catch (const ckpt::Error&) {
    }
    try {
        const ckpt::Node json = ckpt::detail::parse_json(bytes, "fuzz json");
        const auto spec = ckpt::detail::spec_from_json(json, "fuzz json");
        (void)ckpt::detail::spec_to_json(spec);
    } catch (const ckpt::Error&) {
    }
    return 0;
}
