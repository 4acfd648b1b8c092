// SPDX-License-Identifier: Apache-2.0
// Every file of the broken-torch corpus (tests/data/bad/torch) is rejected with a clear error.
#include "core/error.hpp"
#include "formats/torch/torch_reader.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace ckpt {
namespace {

TEST(TorchBadCorpus, EveryFileIsAnInputErrorNamingIt)
{
    const auto dir = test::data_path("bad/torch");
    size_t checked = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const auto& p = entry.path();
        if (p.extension() == ".md" || p.extension() == ".py")
            continue;
        SCOPED_TRACE(p.filename().string());
        try {
            const Checkpoint ck = read_torch(p);
            // Reading may be lazy for data; force every tensor to be read too.
            for (const auto& [k, v] : ck.root.entries())
                if (v.is_tensor())
                    read_all(*v.as_tensor());
            ADD_FAILURE() << "accepted " << p;
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find(p.filename().string()), std::string::npos) << e.what();
        }
        ++checked;
    }
    EXPECT_GE(checked, 20u);
}

} // namespace
} // namespace ckpt
