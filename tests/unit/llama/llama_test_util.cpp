// SPDX-License-Identifier: Apache-2.0
// Helpers for the llama plugin tests.
#include "llama_test_util.hpp"

#include "config/config_file.hpp"
#include "formats/container.hpp"
#include "formats/safetensors/safetensors_writer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

namespace ckpt::test::llama {

RunResult cli(const std::vector<std::string>& args)
{
    return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR=" + std::string(CKPTCONV_BUILD_PLUGIN_DIR)});
}

int diff(const fs::path& a, const fs::path& b)
{
    RunResult r = cli({"diff", a.string(), b.string()});
    if (r.exit_code != 0)
        ADD_FAILURE() << "ckptconv diff " << a << " " << b << ":\n" << r.out << r.err;
    return r.exit_code;
}

fs::path only_file(const fs::path& dir, const std::string& suffix)
{
    std::vector<fs::path> found;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            found.push_back(e.path());
    }
    if (found.size() != 1) {
        ADD_FAILURE() << "expected one *" << suffix << " under " << dir << ", found " << found.size();
        return dir / ("missing" + suffix);
    }
    return found.front();
}

fs::path hf(const std::string& family, const std::string& rel) { return data_path("hf/" + family + "/" + rel); }
fs::path ref(const std::string& family, const std::string& rel) { return data_path("cs-ref/" + family + "/" + rel); }

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

void write_safetensors(const fs::path& p, const std::vector<std::pair<std::string, Tensor>>& ts)
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

Tensor arange(std::vector<int64_t> shape, float start)
{
    Tensor t;
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d;
    t.shape = std::move(shape);
    t.values.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        t.values[static_cast<size_t>(i)] = start + static_cast<float>(i);
    return t;
}

} // namespace ckpt::test::llama
