// SPDX-License-Identifier: Apache-2.0
// What every family plugin needs besides its tables: release parsing, typed config reads that
// name the key, an indexed view of the source tensors, the optional CS `model.` prefix, the
// copy-everything rule of release steps, and one deterministic lm_head initialiser.
#pragma once

#include <ckptconv/cpp/config.hpp>
#include <ckptconv/cpp/plan.hpp>
#include <ckptconv/cpp/rules.hpp>

#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace ckpt::sdk {

/// The side indices of every HF <-> CS converter: the Model Zoo passes (hf, cs) in that order.
constexpr int kHfSide = 0;
constexpr int kCsSide = 1;

/// (major, minor) of "cs-X.Y"; nullopt for "hf" or anything else (also "cs-2.1-dpo").
inline std::optional<std::pair<int, int>> cs_version(const std::string& fmt)
{
    int major = 0, minor = 0;
    char tail = 0;
    if (std::sscanf(fmt.c_str(), "cs-%d.%d%c", &major, &minor, &tail) != 2)
        return std::nullopt;
    return std::make_pair(major, minor);
}

/// True when `fmt` is a CS release at or after X.Y (false for "hf").
inline bool cs_at_least(const std::string& fmt, int major, int minor)
{
    const auto v = cs_version(fmt);
    return v && *v >= std::make_pair(major, minor);
}

/// "cs-A.B" ... "cs-C.D" for the 2.x releases from `first` to `last` inclusive (minor steps).
inline std::vector<std::string> cs_formats(std::pair<int, int> first, std::pair<int, int> last = {2, 9})
{
    std::vector<std::string> out;
    for (auto v = first; v <= last; ++v.second)
        out.push_back("cs-" + std::to_string(v.first) + "." + std::to_string(v.second));
    return out;
}

/// The items joined with ", " (how the Model Zoo prints format lists).
inline std::string join(const std::vector<std::string>& items, const std::string& sep = ", ")
{
    std::string s;
    for (size_t i = 0; i < items.size(); ++i)
        s += (i ? sep : "") + items[i];
    return s;
}

// ---- typed config reads ---------------------------------------------------------------------
// One rule for every family: a missing or null entry takes the fallback; a flag is true or
// false by Python's truth (`if config[key]:` in the Model Zoo), so numbers count as flags
// (0 is false, 2 is true) and a string is refused rather than read as "non-empty"; a number
// read as an integer must be integral. Errors name the key and say what was found.

namespace detail {
inline const char* kind_name(const ConstNode& n)
{
    switch (n.kind()) {
    case CKPT_NODE_NULL: return "null";
    case CKPT_NODE_BOOL: return "a boolean";
    case CKPT_NODE_INT: return "an integer";
    case CKPT_NODE_FLOAT: return "a float";
    case CKPT_NODE_STRING: return "a string";
    case CKPT_NODE_LIST: return "a list";
    case CKPT_NODE_MAP: return "a map";
    default: return "nothing";
    }
}
[[noreturn]] inline void bad_key(const std::string& where, const std::string& key, const char* expected,
                                 const ConstNode& n)
{
    throw Error(CKPT_ERR_INVALID_ARGUMENT, where + " config: '" + key + "' must be " + expected + ", found " +
                                               kind_name(n));
}
inline bool unset(const ConstNode& n) { return !n.present() || n.is_null(); }
} // namespace detail

/// An integer entry that must be there. `where` names the config ("HF", "CS") in the error.
inline int64_t config_int(const ConstNode& config, const std::string& key, const std::string& where)
{
    const ConstNode n = config[key];
    if (n.kind() == CKPT_NODE_INT)
        return n.as_int();
    if (n.kind() == CKPT_NODE_FLOAT) {
        const double v = n.as_float();
        if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15)
            return static_cast<int64_t>(v);
    }
    detail::bad_key(where, key, "an integer", n);
}

/// An optional integer entry; `fallback` when missing or null.
inline int64_t config_int_or(const ConstNode& config, const std::string& key, int64_t fallback,
                             const std::string& where)
{
    return detail::unset(config[key]) ? fallback : config_int(config, key, where);
}

/// An optional number (integers accepted); `fallback` when missing or null.
inline double config_float_or(const ConstNode& config, const std::string& key, double fallback,
                              const std::string& where)
{
    const ConstNode n = config[key];
    if (detail::unset(n))
        return fallback;
    if (n.kind() == CKPT_NODE_INT || n.kind() == CKPT_NODE_FLOAT)
        return n.as_float();
    detail::bad_key(where, key, "a number", n);
}

/// An optional string; `fallback` when missing or null.
inline std::string config_string_or(const ConstNode& config, const std::string& key, const std::string& fallback,
                                    const std::string& where)
{
    const ConstNode n = config[key];
    if (detail::unset(n))
        return fallback;
    if (n.kind() == CKPT_NODE_STRING)
        return n.as_string();
    detail::bad_key(where, key, "a string", n);
}

/// An optional flag by Python's truth (see above); `fallback` when missing or null.
inline bool config_flag_or(const ConstNode& config, const std::string& key, bool fallback, const std::string& where)
{
    const ConstNode n = config[key];
    if (detail::unset(n))
        return fallback;
    switch (n.kind()) {
    case CKPT_NODE_BOOL: return n.as_bool();
    case CKPT_NODE_INT: return n.as_int() != 0;
    case CKPT_NODE_FLOAT: return n.as_float() != 0.0;
    default: detail::bad_key(where, key, "a boolean", n);
    }
}

/// The two readers above without naming the config's side: errors say "the config: 'key' ...".
inline std::string config_string_or(const ConstNode& config, const std::string& key, const std::string& fallback)
{
    return config_string_or(config, key, fallback, "the");
}
inline bool config_flag_or(const ConstNode& config, const std::string& key, bool fallback)
{
    return config_flag_or(config, key, fallback, "the");
}

/// Learned positions numbered after the padding index (RoBERTa, ESM): the HF table has
/// pad_token_id + 1 more rows than the CS one. Writes `new_key` from `key` of `c.src`; `where` names
/// the config in errors.
inline void convert_padded_positions(ConfigContext& c, const std::string& key, const std::string& new_key,
                                     const std::string& where)
{
    const int64_t v = config_int(c.src, key, where);
    const int64_t pad = config_int(c.src, "pad_token_id", where);
    const int64_t kLimit = int64_t{1} << 40; // keeps the arithmetic far from overflow
    if (v < -kLimit || v > kLimit || pad < -kLimit || pad > kLimit)
        throw ConfigConversionError("Can't convert config with " + key + "=" + std::to_string(v) +
                                    " and pad_token_id=" + std::to_string(pad));
    c.dst.entry(new_key).set(c.from == kHfSide ? v - pad - 1 : v + pad + 1);
}

// ---- source tensors ---------------------------------------------------------------------------

/// The names of a plan's source tensors, read once: `has` is a hash look-up, so a family that
/// asks about every tensor stays linear in the checkpoint size.
class InputIndex {
public:
    explicit InputIndex(const Plan& plan)
    {
        const size_t n = plan.input_count();
        m_names.reserve(n);
        for (size_t i = 0; i < n; ++i)
            m_names.insert(plan.input_info(i).name);
    }
    bool has(const std::string& name) const { return m_names.count(name) != 0; }
    size_t size() const { return m_names.size(); }

private:
    std::unordered_set<std::string> m_names;
};

// ---- rule-set shapes every family shares -------------------------------------------------------

/// `rules`, also accepting CS keys under the legacy PyTorchBaseModel `model.` prefix
/// (spec/mappings.md §1.3): conversions to CS never write it.
template <class Ctx>
std::shared_ptr<const RuleSet<Ctx>> with_model_prefix(std::shared_ptr<const RuleSet<Ctx>> rules)
{
    auto top = std::make_shared<RuleSet<Ctx>>();
    top->add(std::vector<Segment>{}, rules);
    top->add({eq("", "model.")}, rules);
    return top;
}

/// The same for a rule set still being built (a non-const pointer).
template <class Ctx>
std::shared_ptr<const RuleSet<Ctx>> with_model_prefix(std::shared_ptr<RuleSet<Ctx>> rules)
{
    return with_model_prefix(std::shared_ptr<const RuleSet<Ctx>>(std::move(rules)));
}

/// Every key copied unchanged: the checkpoint side of a release step that renames nothing.
inline std::shared_ptr<const CheckpointRules> copy_everything()
{
    auto r = std::make_shared<CheckpointRules>();
    r->add({re(".*")}, copy_tensor());
    return r;
}

// ---- the lm_head a headless conversion has to invent ------------------------------------------

/// Standard deviation of the Model Zoo's fresh lm_head (torch `normal_(0, 0.02)`).
constexpr double kLmHeadInitStd = 0.02;

namespace detail {
/// splitmix64: small and fully specified, so the values never depend on a standard library's
/// engines or distributions.
inline uint64_t splitmix64(uint64_t& state)
{
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
/// Uniform in (0, 1], so its logarithm is finite.
inline double open_unit(uint64_t& state) { return (static_cast<double>(splitmix64(state) >> 11) + 1.0) * 0x1.0p-53; }
} // namespace detail

/// Fills out[0 .. count) with N(0, std_dev) by Box-Muller over a fixed-seed splitmix64: not
/// torch's draw (that depends on its global RNG state) but the same on every run and machine, so
/// outputs stay byte-identical (design.md §6).
inline void fill_normal(float* out, uint64_t count, double std_dev)
{
    uint64_t state = 0x6c6c616d615f6c6dULL;
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    for (uint64_t i = 0; i < count; i += 2) {
        const double radius = std::sqrt(-2.0 * std::log(detail::open_unit(state)));
        const double angle = kTwoPi * detail::open_unit(state);
        out[i] = static_cast<float>(std_dev * radius * std::cos(angle));
        if (i + 1 < count)
            out[i + 1] = static_cast<float>(std_dev * radius * std::sin(angle));
    }
}

namespace detail {
inline ckpt_status normal_kernel(void*, const ckpt_kernel_io* io) noexcept
{
    if (!io || !io->output || !io->output_data || io->output->dtype != CKPT_DTYPE_F32)
        return CKPT_ERR_INVALID_ARGUMENT;
    fill_normal(static_cast<float*>(io->output_data), io->output->nbytes / sizeof(float), kLmHeadInitStd);
    return CKPT_OK;
}
} // namespace detail

/// Adds `output` = a float32 tensor of `shape` that `run` fills while it is written; the host owns
/// `ctx` from here (added or refused) and calls `release` on it.
inline ckpt_value_id add_generated_f32(Plan& plan, const std::string& output, const std::vector<int64_t>& shape,
                                       ckpt_status (*run)(void*, const ckpt_kernel_io*) noexcept,
                                       void* ctx = nullptr, void (*release)(void*) = nullptr)
{
    ckpt_op op{};
    op.kind = CKPT_OP_KERNEL;
    op.output = ckpt_str{output.data(), output.size()};
    op.dtype = CKPT_DTYPE_F32;
    op.ints = shape.data();
    op.int_count = shape.size();
    op.kernel.struct_size = sizeof op.kernel;
    op.kernel.ctx = ctx;
    op.kernel.run = run;
    op.kernel.release = release;
    return plan.add(op);
}

/// Adds `output` = float32 `[vocab, hidden]` ~ N(0, kLmHeadInitStd), generated while writing.
/// Throws (naming the output) for a shape that cannot be allocated.
inline ckpt_value_id add_random_lm_head(Plan& plan, const std::string& output, int64_t vocab, int64_t hidden)
{
    if (vocab <= 0 || hidden <= 0 || vocab > std::numeric_limits<int64_t>::max() / hidden)
        throw Error(CKPT_ERR_INVALID_ARGUMENT, "cannot create " + output + ": vocab_size " + std::to_string(vocab) +
                                                   " x hidden_size " + std::to_string(hidden) +
                                                   " is not a valid shape");
    return add_generated_f32(plan, output, {vocab, hidden}, &detail::normal_kernel);
}

} // namespace ckpt::sdk
