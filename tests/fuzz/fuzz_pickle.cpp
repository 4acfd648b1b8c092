// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the pickle machine over arbitrary bytes, with and without hooks, and the
// writer on whatever it accepted (a value read must be writable and read back equal).
#include "core/error.hpp"
#include "formats/torch/pickle.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    ckpt::pickle::Limits limits;
    limits.max_items = 1u << 16; // keep each run fast
    limits.max_total_bytes = 1u << 22;
    ckpt::pickle::Hooks hooks;
    hooks.persistent_load = [](const ckpt::Node& pid) { return pid; };
    hooks.reduce = [](const std::string& callable, const ckpt::Node& args) -> std::optional<ckpt::Node> {
        if (callable == "fuzz.identity" && args.size() == 1)
            return args.items()[0];
        return std::nullopt;
    };
    for (int with_hooks = 0; with_hooks < 2; ++with_hooks) {
        try {
            const ckpt::Node v = ckpt::pickle::unpickle(bytes, "fuzz.pkl", with_hooks ? hooks : ckpt::pickle::Hooks{},
                                                        limits);
            for (int proto : {2, 4}) {
                std::string again;
                try {
                    again = ckpt::pickle::pickle_value(v, proto);
                } catch (const ckpt::Error&) {
                    continue; // e.g. an opaque whose name is not module.name
                }
                ckpt::pickle::Limits roomy;
                roomy.max_total_bytes = 1u << 24;
                const ckpt::Node back = ckpt::pickle::unpickle(again, "again.pkl", {}, roomy);
                (void)back;
            }
        } catch (const ckpt::Error&) {
        }
    }
    return 0;
}
