// SPDX-License-Identifier: Apache-2.0
// What a model's config says its Hugging Face tensors must look like, checked before anything is
// converted: a family states its config sizes and tensor shapes; this helper validates the sizes
// (type and range, naming the key) and every tensor against them, and reports every contradiction.
//
//   sdk::ModelShapes s(hf_config, from);
//   const int64_t d = s.size("n_embd", "hidden_size");
//   const int64_t layers = s.count("n_layer", "num_hidden_layers");
//   s.expect(R"((?:transformer\.)?wte\.weight)", {s.size("vocab_size", "vocab_size"), d});
//   s.expect_layers(R"((?:transformer\.)?h\.{layer}\.ln_1\.weight)", layers, {d});
//   s.check(hf_side_tensors);   // throws Error(CKPT_ERR_BAD_INPUT) listing the contradictions
#pragma once

#include <ckptconv/cpp/config.hpp>
#include <ckptconv/cpp/error.hpp>
#include <ckptconv/cpp/plan.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace ckpt::sdk {

class ModelShapes {
public:
    /// Sizes above this are refused as absurd (no tensor dimension of a real model comes near).
    static constexpr int64_t kMaxSize = int64_t{1} << 24;
    /// Layer counts above this are refused as absurd.
    static constexpr int64_t kMaxLayers = 4096;
    /// At most this many contradictions are listed.
    static constexpr size_t kMaxListed = 10;

    /// `hf_config` is the Hugging Face model config; `from` the side the user gave (0: a Hugging
    /// Face config, whose keys messages name; 1: a Cerebras config, named by the Cerebras keys).
    ModelShapes(ConstNode hf_config, int from) : m_config(hf_config), m_from(from) {}

    /// A size the config must give as an integer in [1, kMaxSize]: `hf_key`, spelled `cs_key` in
    /// Cerebras configs. Absent or null: `fallback` when given, else a contradiction. Returns 0
    /// for a bad value (the contradiction is recorded; shapes using it are not checked).
    int64_t size(const std::string& hf_key, const std::string& cs_key, std::optional<int64_t> fallback = std::nullopt)
    {
        return read(hf_key, cs_key, fallback, kMaxSize);
    }
    /// A layer count: an integer in [1, kMaxLayers].
    int64_t count(const std::string& hf_key, const std::string& cs_key, std::optional<int64_t> fallback = std::nullopt)
    {
        return read(hf_key, cs_key, fallback, kMaxLayers);
    }

    /// Records a contradiction between config values.
    void contradiction(std::string what) { m_problems.push_back(std::move(what)); }
    /// Records a contradiction unless `value` (the size `key`) is a multiple of `of` (`of_key`);
    /// sizes already found bad (0) are not compared.
    void require_multiple(const std::string& key, int64_t value, const std::string& of_key, int64_t of)
    {
        if (value > 0 && of > 0 && value % of != 0)
            m_problems.push_back(key + " (" + std::to_string(value) + ") is not a multiple of " + of_key + " (" +
                                 std::to_string(of) + ")");
    }

    /// A tensor matching `pattern` (a whole-name regex without capture groups) must have `shape`
    /// and a floating-point dtype; with `required`, the checkpoint must have one.
    void expect(const std::string& pattern, std::vector<int64_t> shape, bool required = true)
    {
        m_specs.push_back(Spec{pattern, std::regex(pattern), std::move(shape), required, -1});
    }
    /// The same for per-layer tensors: `pattern` contains `{layer}`, matched as the layer index,
    /// which must be below `layers`; with `required`, every layer must have one.
    void expect_layers(const std::string& pattern, int64_t layers, std::vector<int64_t> shape, bool required = true)
    {
        const size_t at = pattern.find("{layer}");
        if (at == std::string::npos)
            throw Error(CKPT_ERR_INTERNAL, "model shape pattern '" + pattern + "' has no {layer}");
        std::string re = pattern;
        re.replace(at, 7, "([0-9]+)");
        m_specs.push_back(Spec{pattern, std::regex(re), std::move(shape), required, layers});
    }

    /// Checks `tensors` (the Hugging Face side of the conversion) against the config and the
    /// expectations; throws Error(CKPT_ERR_BAD_INPUT) listing the first contradictions.
    void check(const std::vector<TensorDesc>& tensors)
    {
        std::map<size_t, std::vector<bool>> seen_layers;
        std::vector<bool> seen(m_specs.size(), false);
        for (const auto& t : tensors) {
            for (size_t i = 0; i < m_specs.size(); ++i) {
                const Spec& s = m_specs[i];
                std::smatch m;
                if (!std::regex_match(t.name, m, s.re))
                    continue;
                seen[i] = true;
                if (s.layers >= 0) {
                    const std::string idx = m[1].str();
                    const int64_t layer = idx.size() > 6 ? kMaxLayers : std::stoll(idx);
                    if (s.layers > 0 && layer >= s.layers) {
                        m_problems.push_back("tensor '" + t.name + "' is in layer " + idx + ", but the config has " +
                                             std::to_string(s.layers) + " layers");
                        break;
                    }
                    auto& got = seen_layers[i];
                    got.resize(static_cast<size_t>(s.layers), false);
                    if (layer < s.layers)
                        got[static_cast<size_t>(layer)] = true;
                }
                check_tensor(t, s);
                break;
            }
        }
        for (size_t i = 0; i < m_specs.size(); ++i) {
            const Spec& s = m_specs[i];
            if (!s.required || has_bad_dim(s))
                continue;
            if (s.layers < 0) {
                if (!seen[i])
                    m_problems.push_back("no tensor matches '" + s.pattern + "', which the config implies");
                continue;
            }
            auto& got = seen_layers[i];
            got.resize(static_cast<size_t>(s.layers), false);
            for (size_t l = 0; l < got.size(); ++l)
                if (!got[l]) {
                    std::string name = s.pattern;
                    name.replace(name.find("{layer}"), 7, std::to_string(l));
                    m_problems.push_back("no tensor matches '" + name + "': the config has " +
                                         std::to_string(s.layers) + " layers");
                    break; // one per pattern is enough to say which layers are missing
                }
        }
        if (m_problems.empty())
            return;
        std::string msg = "the checkpoint contradicts its config:";
        for (size_t i = 0; i < m_problems.size() && i < kMaxListed; ++i)
            msg += "\n  " + m_problems[i];
        if (m_problems.size() > kMaxListed)
            msg += "\n  ... and " + std::to_string(m_problems.size() - kMaxListed) + " more";
        throw Error(CKPT_ERR_BAD_INPUT, msg);
    }

    /// The tensors a plan reads (its inputs), for checks before converting from Hugging Face.
    static std::vector<TensorDesc> inputs_of(const Plan& plan)
    {
        std::vector<TensorDesc> out;
        for (size_t i = 0, n = plan.input_count(); i < n; ++i)
            out.push_back(plan.input_info(i));
        return out;
    }

private:
    struct Spec {
        std::string pattern;
        std::regex re;
        std::vector<int64_t> shape; // 0 entries: a size the config got wrong, not checked
        bool required;
        int64_t layers; // -1: not per layer
    };

    static bool has_bad_dim(const Spec& s)
    {
        for (int64_t d : s.shape)
            if (d <= 0)
                return true;
        return s.layers == 0;
    }

    static std::string shape_text(const std::vector<int64_t>& shape)
    {
        std::string s = "[";
        for (size_t i = 0; i < shape.size(); ++i)
            s += (i ? ", " : "") + std::to_string(shape[i]);
        return s + "]";
    }

    static bool is_float(ckpt_dtype d)
    {
        return d == CKPT_DTYPE_F16 || d == CKPT_DTYPE_BF16 || d == CKPT_DTYPE_F32 || d == CKPT_DTYPE_F64 ||
               d == CKPT_DTYPE_F8_E4M3 || d == CKPT_DTYPE_F8_E5M2;
    }

    void check_tensor(const TensorDesc& t, const Spec& s)
    {
        if (!is_float(t.dtype))
            m_problems.push_back("tensor '" + t.name + "' holds " + dtype_name(t.dtype) +
                                 " values; the model's weights are floating point");
        if (has_bad_dim(s))
            return;
        if (t.shape != s.shape)
            m_problems.push_back("tensor '" + t.name + "' has shape " + shape_text(t.shape) + ", the config implies " +
                                 shape_text(s.shape));
    }

    static std::string dtype_name(ckpt_dtype d)
    {
        if (d == CKPT_DTYPE_BOOL)
            return "boolean";
        if (d >= CKPT_DTYPE_I64 && d <= CKPT_DTYPE_U8)
            return "integer";
        return "non-floating-point";
    }

    int64_t read(const std::string& hf_key, const std::string& cs_key, std::optional<int64_t> fallback, int64_t max)
    {
        const std::string& key = m_from == 0 ? hf_key : cs_key;
        ConstNode v = m_config[hf_key];
        if (!v.present() || v.is_null()) {
            if (fallback)
                return *fallback;
            m_problems.push_back("config key '" + key + "' is missing; it gives a tensor size");
            return 0;
        }
        if (v.kind() != CKPT_NODE_INT) {
            std::string found = v.kind() == CKPT_NODE_STRING ? "\"" + v.as_string() + "\""
                                : v.kind() == CKPT_NODE_BOOL ? (v.as_bool() ? "true" : "false")
                                : v.kind() == CKPT_NODE_FLOAT ? std::to_string(v.as_float())
                                                              : "a list or map";
            m_problems.push_back("config key '" + key + "': expected a positive integer, found " + found);
            return 0;
        }
        const int64_t n = v.as_int();
        if (n < 1 || n > max) {
            m_problems.push_back("config key '" + key + "': " + std::to_string(n) + " is out of range (1 to " +
                                 std::to_string(max) + ")");
            return 0;
        }
        return n;
    }

    ConstNode m_config;
    int m_from;
    std::vector<Spec> m_specs;
    std::vector<std::string> m_problems;
};

} // namespace ckpt::sdk
