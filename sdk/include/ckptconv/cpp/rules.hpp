// SPDX-License-Identifier: Apache-2.0
// Bidirectional key-rule tables, so a family plugin is mostly data.
//
// A rule is a sequence of segments. A segment is a regex fragment (the same text on both sides,
// copied verbatim) or an equivalent pair `eq(side0, side1)` (a literal rewritten from one side's
// spelling to the other's). A rule may end with a nested RuleSet: then the segments match a prefix
// and the nested rules convert the rest. Within a RuleSet the first matching rule wins, in either
// direction, from one table — the Model Zoo's ConversionRule semantics (spec/mappings.md §1.1).
// Patterns are compiled when a rule is first tried, so a malformed fragment throws
// std::regex_error at the first conversion that reaches its rule, not when the plugin loads.
#pragma once

#include <ckptconv/cpp/config.hpp>
#include <ckptconv/cpp/error.hpp>
#include <ckptconv/cpp/plan.hpp>
#include <ckptconv/cpp/plugin.hpp>
#include <ckptconv/cpp/release_gate.hpp>
#include <ckptconv/cpp/value.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace ckpt::sdk {

/// One piece of a key pattern.
struct Segment {
    bool literal = false;  // true: an equivalent pair of literals; false: a regex fragment
    std::string text[2];   // side 0 / side 1 (equal for regex fragments)
};

/// A regex fragment matched and copied as is. It must not contain capture groups; use (?:...).
inline Segment re(std::string pattern)
{
    for (size_t i = 0; i + 1 < pattern.size(); ++i)
        if (pattern[i] == '(' && (i == 0 || pattern[i - 1] != '\\') && pattern[i + 1] != '?')
            throw Error(CKPT_ERR_INVALID_ARGUMENT, "rule fragment '" + pattern + "' has a capture group; use (?:a|b)");
    Segment s;
    s.text[0] = s.text[1] = std::move(pattern);
    return s;
}

/// The same sub-key spelled `side0` on one side and `side1` on the other.
inline Segment eq(std::string side0, std::string side1)
{
    Segment s;
    s.literal = true;
    s.text[0] = std::move(side0);
    s.text[1] = std::move(side1);
    return s;
}

/// What happens to a matched key. A default-constructed action (no function) drops the key: it
/// counts as matched and nothing is written.
template <class Ctx>
struct Action {
    std::string name = "None";
    std::function<void(Ctx& ctx, const std::string& old_key, const std::string& new_key)> fn;
};

template <class Ctx>
class RuleSet : public std::enable_shared_from_this<RuleSet<Ctx>> {
public:
    struct Match {
        std::string new_key;
        const Action<Ctx>* action;
    };

    /// Appends a rule that converts whole keys.
    RuleSet& add(std::vector<Segment> segments, Action<Ctx> action)
    {
        m_rules.push_back(make(std::move(segments), nullptr, std::move(action)));
        return *this;
    }
    /// Appends a rule whose segments match a prefix and whose `nested` rules convert the rest.
    RuleSet& add(std::vector<Segment> segments, std::shared_ptr<const RuleSet> nested)
    {
        m_rules.push_back(make(std::move(segments), std::move(nested), {}));
        return *this;
    }

    /// Converts `key` from side `from` (0 or 1) to the other side: the first matching rule wins.
    std::optional<Match> convert(const std::string& key, int from) const { return convert_at(key, 0, "", from); }

    size_t size() const { return m_rules.size(); }

private:
    // A side's pattern, compiled when first matched: a plugin defines every rule of every model
    // when it is loaded, and compiling them all (std::regex is slow to build) cost each run of
    // the host several milliseconds per plugin, for models it was not asked about.
    struct Pattern {
        std::string text;
        std::once_flag once;
        std::regex compiled;
        const std::regex& get()
        {
            std::call_once(once, [this] { compiled = std::regex(text, std::regex::ECMAScript | std::regex::optimize); });
            return compiled;
        }
    };
    struct Rule {
        std::vector<Segment> segments;
        std::shared_ptr<const RuleSet> nested;
        Action<Ctx> action;
        std::shared_ptr<Pattern> pattern[2];
    };

    static Rule make(std::vector<Segment> segments, std::shared_ptr<const RuleSet> nested, Action<Ctx> action)
    {
        Rule r{std::move(segments), std::move(nested), std::move(action), {}};
        for (int side = 0; side < 2; ++side) {
            r.pattern[side] = std::make_shared<Pattern>();
            for (const auto& s : r.segments)
                r.pattern[side]->text += "(" + (s.literal ? escape(s.text[side]) : s.text[side]) + ")";
        }
        return r;
    }

    static std::string escape(const std::string& literal)
    {
        static const std::string special = R"(\^$.|?*+()[]{}-/)";
        std::string out;
        for (char c : literal) {
            if (special.find(c) != std::string::npos)
                out += '\\';
            out += c;
        }
        return out;
    }

    std::optional<Match> convert_at(const std::string& key, size_t pos, const std::string& prefix, int from) const
    {
        const int to = 1 - from;
        for (const Rule& r : m_rules) {
            std::smatch m;
            const auto begin = key.begin() + static_cast<std::ptrdiff_t>(pos);
            const std::regex& pattern = r.pattern[from]->get();
            bool ok = r.nested ? std::regex_search(begin, key.end(), m, pattern, std::regex_constants::match_continuous)
                               : std::regex_match(begin, key.end(), m, pattern);
            if (!ok)
                continue;
            std::string converted = prefix;
            for (size_t i = 0; i < r.segments.size(); ++i)
                converted += r.segments[i].literal ? r.segments[i].text[to] : m[i + 1].str();
            if (r.nested) {
                if (auto sub = r.nested->convert_at(key, pos + static_cast<size_t>(m.length(0)), converted, from))
                    return sub;
                continue;
            }
            return Match{converted, &r.action};
        }
        return std::nullopt;
    }

    std::vector<Rule> m_rules;
};

// ---- checkpoints ---------------------------------------------------------------------------

/// What a checkpoint rule's action sees. `config[0]` / `config[1]` are the model sections of the
/// side-0 and side-1 configs (for HF <-> CS: HF first, CS second, whatever the direction — as the
/// Model Zoo passes them), `from` the side being converted from.
struct CheckpointContext {
    const Request& req;
    Plan& plan;
    ConstNode config[2];
    int from;
    /// False where the HF model keeps muP itself (BTLM, JAIS): muP-aware actions then copy
    /// CS tensors unscaled on the way to HF instead of folding them.
    bool fold_mup = true;
};

using CheckpointRules = RuleSet<CheckpointContext>;
using CheckpointAction = Action<CheckpointContext>;

/// Copies the tensor under its new name (the Model Zoo's replaceKey).
inline CheckpointAction copy_tensor()
{
    return {"replaceKey", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                c.plan.copy(n, c.plan.input(o));
            }};
}

/// Transposes 2-D tensors (GPT-2 Conv1D weights), copies others (the Model Zoo's transpose_key_if_2D).
inline CheckpointAction transpose_if_2d()
{
    return {"transpose_key_if_2D", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                auto id = c.plan.input(o);
                if (c.plan.value_info(id).shape.size() == 2)
                    c.plan.transpose(n, id);
                else
                    c.plan.copy(n, id);
            }};
}

/// Matches and drops the key.
inline CheckpointAction drop_tensor() { return {}; }

/// Applies `rules` to every source tensor: matched keys run their action (dropped keys are marked
/// matched), unmatched ones are left for the host to report. With --debug, logs
/// `Matched <old> -> <new> action: <name>` for every match, as the Model Zoo prints it.
inline void apply_rules(const CheckpointRules& rules, CheckpointContext& ctx)
{
    for (const std::string& name : ctx.plan.input_names()) {
        auto m = rules.convert(name, ctx.from);
        if (!m)
            continue;
        if (ctx.req.debug())
            ctx.req.log(CKPT_LOG_INFO, "Matched " + name + " -> " + m->new_key + " action: " + m->action->name);
        if (m->action->fn)
            m->action->fn(ctx, name, m->new_key);
        else
            ctx.plan.drop(name);
        ctx.plan.note_match(name, m->new_key);
    }
}

// ---- configs -------------------------------------------------------------------------------

/// What a config rule's action sees: the source model section (with pre-convert defaults filled
/// in) and the target being built.
struct ConfigContext {
    const Request& req;
    ConstNode src;
    Node dst;
    int from;
};

using ConfigRules = RuleSet<ConfigContext>;
using ConfigAction = Action<ConfigContext>;

/// Copies the value under the new key (the Model Zoo's replaceKey).
inline ConfigAction rename_key()
{
    return {"replaceKey", [](ConfigContext& c, const std::string& o, const std::string& n) {
                c.dst.entry(n).assign(c.src[o]);
            }};
}

/// The Model Zoo's assert_factory_fn: the key may only appear on side `side`, with a value in
/// `allowed`; it is never written (the target value comes from defaults).
inline ConfigAction assert_value(int side, std::vector<Value> allowed)
{
    return {"assert_factory_wrapper", [side, allowed](ConfigContext& c, const std::string& o, const std::string&) {
                if (c.from != side)
                    throw ConfigConversionError(o + " should not appear in the config");
                Value v = Value::read(c.src[o]);
                for (const auto& a : allowed)
                    if (v == a)
                        return;
                const std::string only = allowed.size() == 1 ? allowed[0].str() : Value::list(allowed).str();
                throw ConfigConversionError("Can't convert config with " + o + "=" + v.str() + ". Only " + only +
                                            " is supported.");
            }};
}

/// A custom config action with a name for --debug.
inline ConfigAction config_action(std::string name,
                                  std::function<void(ConfigContext&, const std::string&, const std::string&)> fn)
{
    return {std::move(name), std::move(fn)};
}

/// The Model Zoo's config pipeline for one converter: defaults before (into the source), the
/// rules key by key (first match wins; unmatched keys are dropped silently, as the CLI does),
/// then defaults after (into the target) — with hooks for family-specific fixes.
class TableConfigConverter {
public:
    using Defaults = std::vector<std::pair<std::string, Value>>;

    ConfigRules rules;
    Defaults pre_defaults[2];  // inserted into a side-i source when missing (maps merged one level)
    Defaults post_defaults[2]; // inserted into a side-i target when missing
    /// CS keys newer than some release the table writes for, applied last to a `cs-X.Y` target
    /// (release_gate.hpp): the table's record of which release each such key first appears in.
    KeyGates gates;

    virtual ~TableConfigConverter() = default;

    /// Runs the pipeline. `src` is the source model section, `dst` the empty target map.
    void run(const Request& req, ConstNode src, Node dst) const
    {
        const int from = req.direction == 0 ? 0 : 1;
        ScratchTree scratch(req.host->config);
        Node work = scratch.root();
        work.assign(src);
        fill(work, pre_defaults[from]);
        ConfigContext ctx{req, work, dst, from};
        pre_convert(ctx, work);
        for (size_t i = 0; i < work.size(); ++i) {
            const std::string key = work.key_at(i);
            auto m = rules.convert(key, from);
            if (!m)
                continue;
            if (req.debug())
                req.log(CKPT_LOG_INFO, "Matched " + key + " -> " + m->new_key + " action: " + m->action->name);
            if (m->action->fn)
                m->action->fn(ctx, key, m->new_key);
        }
        post_convert(ctx);
        fill(dst, post_defaults[1 - from]);
        apply_release_gates(gates, req.tgt_fmt, dst);
    }

    /// Inserts `defaults` into `map` for keys it lacks; for map defaults whose key exists as a
    /// map, inserts the missing inner keys (one level, as the Model Zoo does).
    static void fill(const Node& map, const Defaults& defaults)
    {
        for (const auto& [k, v] : defaults) {
            ConstNode existing = map[k];
            if (!existing.present()) {
                v.write(map.entry(k));
            } else if (v.kind() == Value::Kind::map && existing.is_map()) {
                Node inner = map.find_mut(k);
                for (const auto& [ik, iv] : v.entries())
                    if (!inner.has(ik))
                        iv.write(inner.entry(ik));
            }
        }
    }

protected:
    /// Family fixes before the rules run; `work` is the writable source copy.
    virtual void pre_convert(ConfigContext&, Node /*work*/) const {}
    /// Family fixes after the rules ran, before post-defaults.
    virtual void post_convert(ConfigContext&) const {}
};

} // namespace ckpt::sdk
