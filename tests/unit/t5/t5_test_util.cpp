// SPDX-License-Identifier: Apache-2.0
// Helpers for the t5 plugin tests.
#include "t5_test_util.hpp"

#include "config/config_file.hpp"
#include "formats/container.hpp"
#include "formats/safetensors/safetensors_writer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <regex>
#include <sstream>

namespace ckpt::test::t5 {

RunResult cli(const std::vector<std::string>& args)
{
    return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR=" + std::string(CKPTCONV_BUILD_PLUGIN_DIR)});
}

RunResult convert(const std::string& model, const std::string& src, const std::string& tgt, const fs::path& config,
                  const fs::path& ckpt, const fs::path& out, const std::vector<std::string>& extra)
{
    std::vector<std::string> args{"convert",        "--model",       model,        "--src-fmt",
                                  src,              "--tgt-fmt",     tgt,          "--config",
                                  config.string(),  ckpt.string(),   "--output-dir", out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return cli(args);
}

int diff(const fs::path& a, const fs::path& b)
{
    RunResult r = cli({"diff", a.string(), b.string()});
    if (r.exit_code != 0)
        ADD_FAILURE() << "ckptconv diff " << a << " " << b << ":\n" << r.out << r.err;
    return r.exit_code;
}

fs::path hf(const std::string& rel) { return data_path("hf/t5/" + rel); }
fs::path ref(const std::string& rel) { return data_path("cs-ref/t5/" + rel); }

Node config(const fs::path& p) { return read_config(p); }

std::map<std::string, Tensor> tensors(const fs::path& p)
{
    Checkpoint ck = open_checkpoint(p);
    const Node* root = &ck.root;
    if (const Node* model = ck.root.find("model"); model && model->kind() == Node::Kind::map)
        root = model;
    std::map<std::string, Tensor> out;
    for (const auto& nt : flat_tensors(*root, p.string())) {
        const TensorInfo& info = nt.tensor->info();
        EXPECT_EQ(info.dtype, DType::f32) << nt.name;
        if (info.dtype != DType::f32)
            continue;
        Tensor t;
        t.shape = info.shape;
        std::vector<std::byte> bytes = read_all(*nt.tensor);
        t.values.resize(bytes.size() / sizeof(float));
        std::memcpy(t.values.data(), bytes.data(), t.values.size() * sizeof(float));
        out[nt.name] = std::move(t);
    }
    return out;
}

void write_safetensors(const fs::path& p, const std::map<std::string, Tensor>& ts)
{
    // The project's own writer: these tests need a valid file, not a hand-rolled one.
    std::vector<NamedTensor> out;
    for (const auto& [name, t] : ts) {
        std::vector<std::byte> bytes(t.values.size() * sizeof(float));
        std::memcpy(bytes.data(), t.values.data(), bytes.size());
        out.push_back({name, std::make_shared<MemoryTensor>(TensorInfo{DType::f32, t.shape}, std::move(bytes))});
    }
    fs::remove(p); // callers rewrite a file in place
    ckpt::write_safetensors(p, out, {{"format", "pt"}});
}

std::string with_yaml_key(const std::string& text, const std::string& key, const std::string& value)
{
    const std::regex line("\n    " + key + ":[^\n]*");
    if (std::regex_search(text, line))
        return std::regex_replace(text, line, "\n    " + key + ": " + value);
    return text + (text.empty() || text.back() == '\n' ? "" : "\n") + "    " + key + ": " + value + "\n";
}

std::string with_json_key(const std::string& text, const std::string& key, const std::string& value)
{
    const std::regex entry("\"" + key + "\": [^,\n]*");
    if (std::regex_search(text, entry))
        return std::regex_replace(text, entry, "\"" + key + "\": " + value);
    return text.substr(0, text.rfind('}')) + ",\n  \"" + key + "\": " + value + "\n}\n";
}

} // namespace ckpt::test::t5
