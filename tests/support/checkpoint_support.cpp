// SPDX-License-Identifier: Apache-2.0
// Helpers the family-plugin tests share.
#include "checkpoint_support.hpp"

#include "formats/container.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace ckpt::test {

std::map<std::string, TensorPtr> model_tensors(const std::filesystem::path& file)
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

} // namespace ckpt::test
