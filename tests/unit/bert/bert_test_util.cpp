// SPDX-License-Identifier: Apache-2.0
// Helpers for the bert plugin tests (see bert_test_util.hpp).
#include "bert_test_util.hpp"

#include "core/node.hpp"
#include "formats/container.hpp"

#include <cstring>
#include <sstream>

namespace ckpt::test::bert {

RunResult cli(const std::vector<std::string>& args)
{
    return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR=" + std::string(CKPTCONV_BUILD_PLUGIN_DIR)});
}

RunResult convert(const std::string& model, const std::string& src, const std::string& tgt, const fs::path& config,
                  const fs::path& ckpt, const fs::path& out, std::vector<std::string> extra)
{
    std::vector<std::string> args{"convert",      "--model",   model,      "--src-fmt",     src,
                                  "--tgt-fmt",    tgt,         "--config", config.string(), ckpt.string(),
                                  "--output-dir", out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return cli(args);
}

RunResult convert_config(const std::string& model, const std::string& src, const std::string& tgt,
                         const fs::path& config, const fs::path& out)
{
    return cli({"convert-config", "--model", model, "--src-fmt", src, "--tgt-fmt", tgt, config.string(), "--output-dir",
                out.string()});
}

fs::path ref(const std::string& family, const std::string& rel)
{
    return data_path("cs-ref/" + family + "/" + rel);
}
fs::path hf(const std::string& family, const std::string& rel)
{
    return data_path("hf/" + family + "/" + rel);
}

::testing::AssertionResult same_checkpoint(const fs::path& a, const fs::path& b)
{
    RunResult r = cli({"diff", a.string(), b.string()});
    if (r.exit_code == 0)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "ckptconv diff " << a << " " << b << " exit " << r.exit_code << "\n"
                                         << r.out << r.err;
}

std::string expected_hf_config(const std::string& reference, const std::string& arch, const char* torch_dtype)
{
    const size_t at = reference.rfind("\n}");
    EXPECT_NE(at, std::string::npos);
    std::string out = reference.substr(0, at) + ",\n    \"architectures\": [\n        \"" + arch + "\"\n    ]";
    if (torch_dtype)
        out += std::string(",\n    \"torch_dtype\": \"") + torch_dtype + "\"";
    return out + "\n}";
}

void write_safetensors(const fs::path& file, const Shapes& tensors)
{
    std::string header = "{";
    std::string data;
    for (size_t t = 0; t < tensors.size(); ++t) {
        const auto& [name, shape] = tensors[t];
        size_t count = 1;
        std::string dims;
        for (int64_t d : shape) {
            count *= static_cast<size_t>(d);
            dims += (dims.empty() ? "" : ",") + std::to_string(d);
        }
        const size_t begin = data.size();
        for (size_t i = 0; i < count; ++i) {
            const float v = static_cast<float>(t + 1) * 0.001f + static_cast<float>(i % 97) * 0.01f;
            char bytes[4];
            std::memcpy(bytes, &v, 4);
            data.append(bytes, 4);
        }
        header += std::string(t ? "," : "") + "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[" + dims +
                  "],\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(data.size()) + "]}";
    }
    header += "}";
    while (header.size() % 8)
        header += ' ';
    fs::create_directories(file.parent_path());
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i)
        out[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    write_file(file, out + header + data);
}

} // namespace ckpt::test::bert
