// SPDX-License-Identifier: Apache-2.0
// Helpers for the gpt2 plugin tests (see gpt2_test_util.hpp).
#include <gtest/gtest.h>

#include "gpt2_test_util.hpp"

#include "core/node.hpp"
#include "formats/container.hpp"

#include <cstring>

namespace ckpt::test::gpt2 {

RunResult cli(const std::vector<std::string>& args)
{
    return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR=" + std::string(CKPTCONV_BUILD_PLUGIN_DIR)});
}

fs::path ref(const std::string& rel) { return data_path("cs-ref/gpt2/" + rel); }
fs::path hf(const std::string& rel) { return data_path("hf/gpt2/" + rel); }

std::string fixture_to_cs23(const fs::path& dir)
{
    RunResult r = cli({"convert", "--model", "gpt2", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                       hf("bin/config.json").string(), hf("bin/pytorch_model.bin").string(), "--output-dir",
                       dir.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? read_file(dir / "config_to_cs-2.3.yaml") : std::string();
}

std::vector<float> floats(const TensorPtr& t)
{
    EXPECT_EQ(t->info().dtype, DType::f32);
    auto bytes = read_all(*t);
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
    return v;
}

void write_safetensors(const fs::path& file, const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors)
{
    std::string header = "{";
    uint64_t offset = 0;
    for (const auto& [name, shape] : tensors) {
        uint64_t count = 1;
        std::string dims;
        for (int64_t d : shape) {
            count *= static_cast<uint64_t>(d);
            dims += (dims.empty() ? "" : ",") + std::to_string(d);
        }
        header += (header.size() > 1 ? "," : "") + std::string("\"") + name + "\":{\"dtype\":\"F32\",\"shape\":[" + dims +
                  "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + 4 * count) + "]}";
        offset += 4 * count;
    }
    header += "}";
    while (header.size() % 8)
        header += ' ';
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i)
        bytes[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    bytes += header + std::string(offset, '\0');
    write_file(file, bytes);
}

::testing::AssertionResult same_checkpoint(const fs::path& a, const fs::path& b)
{
    RunResult r = cli({"diff", a.string(), b.string()});
    if (r.exit_code == 0)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "ckptconv diff " << a << " " << b << " exit " << r.exit_code << "\n"
                                         << r.out << r.err;
}

} // namespace ckpt::test::gpt2
