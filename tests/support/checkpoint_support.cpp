// SPDX-License-Identifier: Apache-2.0
// Helpers the family-plugin tests share (see checkpoint_support.hpp).
#include "checkpoint_support.hpp"

#include "config/config_file.hpp"
#include "formats/container.hpp"
#include "formats/safetensors/safetensors_writer.hpp"

#include <cstring>
#include <regex>
#include <gtest/gtest.h>

#include <sstream>

namespace ckpt::test {

RunResult cli(const std::vector<std::string>& args)
{
    return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR=" + std::string(CKPTCONV_BUILD_PLUGIN_DIR)});
}

RunResult convert(const std::string& model, const std::string& src, const std::string& tgt, const fs::path& config,
                  const fs::path& ckpt, const fs::path& out, const std::vector<std::string>& extra)
{
    std::vector<std::string> args{"convert",       "--model", model,         "--src-fmt",     src,
                                  "--tgt-fmt",     tgt,       "--config",    config.string(), ckpt.string(),
                                  "--output-dir",  out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return cli(args);
}

RunResult convert_config(const std::string& model, const std::string& src, const std::string& tgt,
                         const fs::path& config, const fs::path& out)
{
    return cli({"convert-config", "--model", model, "--src-fmt", src, "--tgt-fmt", tgt, "--config", config.string(),
                "--output-dir", out.string()});
}

fs::path hf(const std::string& family, const std::string& rel) { return data_path("hf/" + family + "/" + rel); }
fs::path ref(const std::string& family, const std::string& rel) { return data_path("cs-ref/" + family + "/" + rel); }

::testing::AssertionResult same_checkpoint(const fs::path& a, const fs::path& b)
{
    RunResult r = cli({"diff", a.string(), b.string()});
    if (r.exit_code == 0)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "ckptconv diff " << a << " " << b << " exit " << r.exit_code << "\n"
                                         << r.out << r.err;
}

fs::path only_file(const fs::path& dir, const std::string& suffix)
{
    std::vector<fs::path> found;
    if (fs::is_directory(dir))
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

Node config(const fs::path& p) { return read_config(p); }

namespace {
/// Erases the dotted `path` from `node`, and every map on the way that it leaves empty.
void erase_path(Node& node, const std::string& path)
{
    const size_t dot = path.find('.');
    if (dot == std::string::npos) {
        node.erase(path);
        return;
    }
    Node* inner = node.find(path.substr(0, dot));
    if (!inner || !inner->is_map())
        return;
    erase_path(*inner, path.substr(dot + 1));
    if (inner->size() == 0)
        node.erase(path.substr(0, dot));
}

/// Checks the `architectures` and `torch_dtype` ckptconv adds to an HF config (`mine`, read from
/// `ours`), then erases both from `mine` and `theirs`, which are compared without them.
::testing::AssertionResult erase_added_hf_keys(Node& mine, Node& theirs, const fs::path& ours,
                                               const std::string& hf_class, const char* torch_dtype)
{
    const Node* arch = mine.find("architectures");
    if (!arch || arch->size() != 1 || arch->items().at(0).as_string() != hf_class)
        return ::testing::AssertionFailure() << ours << ": architectures is not [" << hf_class << "]\n" << read_file(ours);
    const Node* dtype = mine.find("torch_dtype");
    if (torch_dtype ? !dtype || dtype->as_string() != torch_dtype : dtype != nullptr)
        return ::testing::AssertionFailure() << ours << ": torch_dtype is not " << (torch_dtype ? torch_dtype : "absent")
                                             << "\n" << read_file(ours);
    for (const char* added : {"architectures", "torch_dtype"}) {
        mine.erase(added);
        theirs.erase(added);
    }
    return ::testing::AssertionSuccess();
}
} // namespace

::testing::AssertionResult same_hf_config(const fs::path& ours, const fs::path& reference, const std::string& hf_class,
                                          const char* torch_dtype)
{
    Node mine = config(ours);
    Node theirs = config(reference);
    const bool reference_lacks_both = !theirs.find("architectures") && !theirs.find("torch_dtype");
    if (auto added = erase_added_hf_keys(mine, theirs, ours, hf_class, torch_dtype); !added)
        return added;
    if (!(mine == theirs))
        return ::testing::AssertionFailure() << read_file(ours) << "\nvs\n" << read_file(reference);
    if (!reference_lacks_both)
        return ::testing::AssertionSuccess();
    // Then the text too: the reference's, with our keys appended in the same layout.
    const std::string text = read_file(reference);
    const size_t end = text.rfind("\n}");
    std::string want = text.substr(0, end) + ",\n    \"architectures\": [\n        \"" + hf_class + "\"\n    ]";
    if (torch_dtype)
        want += std::string(",\n    \"torch_dtype\": \"") + torch_dtype + "\"";
    want += "\n}";
    if (end != std::string::npos && read_file(ours) == want)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << read_file(ours) << "\nis not, byte for byte,\n" << want;
}

::testing::AssertionResult same_config_except(const fs::path& ours, const fs::path& reference, const std::string& skip,
                                              const char* hf_class, const char* torch_dtype)
{
    Node mine = config(ours);
    Node theirs = config(reference);
    std::istringstream paths(skip);
    for (std::string path; paths >> path;) {
        erase_path(mine, path);
        erase_path(theirs, path);
    }
    if (hf_class)
        if (auto added = erase_added_hf_keys(mine, theirs, ours, hf_class, torch_dtype); !added)
            return added;
    if (mine == theirs)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << read_file(ours) << "\nvs (leaving out " << skip << ")\n" << read_file(reference);
}

std::map<std::string, TensorPtr> model_tensors(const fs::path& file)
{
    Checkpoint ck = open_checkpoint(file);
    const Node* model = ck.root.find("model");
    const bool cs = ck.format.rfind("mdl", 0) == 0 && model;
    std::map<std::string, TensorPtr> out;
    for (auto& t : flat_tensors(cs ? *model : ck.root, file.string()))
        out[t.name] = t.tensor;
    return out;
}

std::string compare(const std::map<std::string, TensorPtr>& a, const std::map<std::string, TensorPtr>& b)
{
    std::string diff;
    for (const auto& [name, t] : a) {
        auto it = b.find(name);
        if (it == b.end())
            diff += "only left: " + name + "\n";
        else if (!equal_bytes(*t, *it->second))
            diff += "differs: " + name + "\n";
    }
    for (const auto& [name, t] : b)
        if (!a.count(name))
            diff += "only right: " + name + "\n";
    return diff;
}

std::vector<float> floats(const TensorPtr& t)
{
    EXPECT_EQ(t->info().dtype, DType::f32);
    auto bytes = read_all(*t);
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
    return v;
}

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

void write_f32_safetensors(const fs::path& p, const std::vector<std::pair<std::string, Tensor>>& ts)
{
    // The project's own writer: these tests need a valid file, not a hand-rolled one.
    std::vector<NamedTensor> out;
    for (const auto& [name, t] : ts) {
        std::vector<std::byte> bytes(t.values.size() * sizeof(float));
        std::memcpy(bytes.data(), t.values.data(), bytes.size());
        out.push_back({name, std::make_shared<MemoryTensor>(TensorInfo{DType::f32, t.shape}, std::move(bytes))});
    }
    fs::remove(p); // callers rewrite a file in place
    if (p.has_parent_path())
        fs::create_directories(p.parent_path());
    ckpt::write_safetensors(p, out, {{"format", "pt"}});
}

void write_patterned_safetensors(const fs::path& p, const Shapes& shapes)
{
    std::vector<std::pair<std::string, Tensor>> ts;
    for (size_t t = 0; t < shapes.size(); ++t) {
        Tensor x = arange(shapes[t].second, 0.0f);
        for (size_t i = 0; i < x.values.size(); ++i)
            x.values[i] = static_cast<float>(t + 1) * 0.001f + static_cast<float>(i % 97) * 0.01f;
        ts.emplace_back(shapes[t].first, std::move(x));
    }
    write_f32_safetensors(p, ts);
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
    const std::regex map_entry("\"" + key + "\": \\{[^}]*\\}");
    if (!value.empty() && value.front() == '{' && std::regex_search(text, map_entry))
        return std::regex_replace(text, map_entry, "\"" + key + "\": " + value);
    const std::regex entry("\"" + key + "\": [^,\n]*");
    if (std::regex_search(text, entry))
        return std::regex_replace(text, entry, "\"" + key + "\": " + value);
    return text.substr(0, text.rfind('}')) + ",\n  \"" + key + "\": " + value + "\n}\n";
}

std::vector<std::string> matched_lines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const size_t at = line.find("Matched ");
        if (at != std::string::npos)
            out.push_back(line.substr(at));
    }
    return out;
}

RunResult run_bundled(const std::vector<std::string>& args)
{
    return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR=" + std::string(CKPTCONV_BUILD_PLUGIN_DIR)});
}

bool all_zero(const TensorData& t)
{
    for (std::byte b : bytes_of(t))
        if (b != std::byte{0})
            return false;
    return true;
}

std::vector<std::byte> bytes_of(const TensorData& t)
{
    std::vector<std::byte> bytes(t.info().nbytes());
    t.read(0, bytes.data(), bytes.size());
    return bytes;
}

RunResult convert_cs23_to_hf(const std::string& model, const std::filesystem::path& cs_dir,
                             const std::filesystem::path& out, bool safetensors)
{
    std::vector<std::string> args{"convert", "--model", model, "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
                                  (cs_dir / "config_to_cs-2.3.yaml").string(),
                                  (cs_dir / "pytorch_model_to_cs-2.3.mdl").string(), "--output-dir", out.string()};
    if (safetensors)
        args.push_back("--export-safetensors");
    return run_bundled(args);
}

RunResult convert_hf(const std::string& model, const std::filesystem::path& checkpoint, const std::filesystem::path& out,
                     const std::string& tgt_fmt)
{
    return run_bundled({"convert", "--model", model, "--src-fmt", "hf", "--tgt-fmt", tgt_fmt, "--config",
                        (checkpoint.parent_path() / "config.json").string(), checkpoint.string(), "--output-dir",
                        out.string()});
}

namespace {

/// `base` with `key` replaced (or appended, or removed), each entry written by `line(key, value)`.
template <class Line>
std::string with_entry(const ConfigEntries& base, const std::string& key, const std::string& value, bool remove, Line line)
{
    std::string out;
    bool seen = false;
    for (const auto& [k, v] : base) {
        const bool mine = k == key;
        seen = seen || mine;
        if (!(mine && remove))
            out += line(k, mine ? value : v);
    }
    if (!seen && !remove && !key.empty())
        out += line(key, value);
    return out;
}

} // namespace

std::string cs_yaml_with(const ConfigEntries& base, const std::string& key, const std::string& value, bool remove)
{
    return "model:\n" + with_entry(base, key, value, remove, [](const std::string& k, const std::string& v) {
               return "    " + k + ": " + v + "\n";
           });
}

std::string hf_json_with(const ConfigEntries& base, const std::string& key, const std::string& value, bool remove)
{
    std::string body = with_entry(base, key, value, remove, [](const std::string& k, const std::string& v) {
        return ", \"" + k + "\": " + v;
    });
    return "{" + (body.empty() ? body : body.substr(2)) + "}";
}

ConfigOutcome convert_config_text(const std::string& model, const std::string& src, const std::string& text)
{
    TempDir dir;
    const bool from_hf = src == "hf";
    const std::filesystem::path cfg = dir / (from_hf ? "config.json" : "params.yaml");
    write_file(cfg, text);
    RunResult r = run_bundled({"convert-config", "--model", model, "--src-fmt", from_hf ? "hf" : "cs-2.3", "--tgt-fmt",
                               from_hf ? "cs-2.3" : "hf", "--config", cfg.string(), "--output-dir",
                               (dir / "out").string()});
    const std::filesystem::path out = dir / "out" / (from_hf ? "config_to_cs-2.3.yaml" : "params_to_hf.json");
    if (r.exit_code != 0) {
        EXPECT_TRUE(!std::filesystem::exists(dir / "out") || list_tree(dir / "out").empty()) << "no output on failure";
    }
    return {r.exit_code, r.err, std::filesystem::exists(out) ? read_file(out) : ""};
}

void expect_config_refused(const std::string& model, const std::string& src, const std::string& text,
                           const std::string& message)
{
    const ConfigOutcome o = convert_config_text(model, src, text);
    EXPECT_EQ(o.exit_code, 1) << text << "\n" << o.err;
    EXPECT_NE(o.err.find("ConfigConversionError: " + message), std::string::npos) << text << "\n" << o.err;
}

void expect_config_refusals(const std::string& model, const std::string& hf_json, const std::string& cs_yaml,
                            const std::vector<ConfigRefusal>& cases)
{
    for (const ConfigRefusal& c : cases) {
        const bool from_hf = std::string(c.src) == "hf";
        SCOPED_TRACE(std::string(c.key) + "=" + c.value);
        expect_config_refused(model, c.src,
                              from_hf ? with_json_key(hf_json, c.key, c.value) : with_yaml_key(cs_yaml, c.key, c.value),
                              c.message);
    }
}

} // namespace ckpt::test
