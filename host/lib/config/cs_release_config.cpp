// SPDX-License-Identifier: Apache-2.0
// The whole-config part of each Cerebras release step, as the Model Zoo's CS -> CS config
// converters do it (Release 2.9/2.10 base_converter.py and mup.py; facts, re-implemented here).
#include "config/cs_release_config.hpp"

#include "config/cs_config.hpp"
#include "config/python_values.hpp"
#include "config/trainer_layout.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

#include <fmt/format.h>

#include <cmath>
#include <iterator>
#include <utility>
#include <vector>

namespace ckpt {

namespace {

// ---- facts: the optimizer and LR scheduler signatures the Model Zoo pickled for cs-2.0 --------
// (artifacts/cs-2.0/optimizer_lrs_signatures.pkl: parameter names after self/params/optimizer.)

struct Signature {
    const char* name;
    std::vector<const char*> params;
};

const std::vector<Signature>& optimizer_signatures()
{
    static const std::vector<Signature> table = {
        {"adadelta", {"lr", "rho", "eps", "weight_decay", "maximize"}},
        {"adafactor", {"lr", "eps", "clip_threshold", "decay_rate", "beta1", "weight_decay", "scale_parameter",
                       "relative_step", "warmup_init"}},
        {"adagrad", {"lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize"}},
        {"adamax", {"lr", "betas", "eps", "weight_decay", "maximize"}},
        {"adambase", {"lr", "betas", "eps", "weight_decay", "l2_regularization_rate", "correct_bias", "amsgrad"}},
        {"adamw", {"lr", "betas", "eps", "weight_decay", "correct_bias", "amsgrad"}},
        {"adam", {"lr", "betas", "eps", "weight_decay", "amsgrad"}},
        {"asgd", {"lr", "lambd", "alpha", "t0", "weight_decay", "maximize"}},
        {"lamb", {"lr", "betas", "eps", "weight_decay", "adam"}},
        {"lion", {"lr", "betas", "weight_decay"}},
        {"nadam", {"lr", "betas", "eps", "weight_decay", "momentum_decay"}},
        {"radam", {"lr", "betas", "eps", "weight_decay"}},
        {"rmsprop", {"lr", "alpha", "eps", "weight_decay", "momentum", "centered"}},
        {"rprop", {"lr", "etas", "step_sizes"}},
        {"sgd", {"lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"}},
    };
    return table;
}

const std::vector<Signature>& scheduler_signatures()
{
    static const std::vector<Signature> table = {
        {"constantlr", {"learning_rate", "total_iters"}},
        {"polynomiallr", {"initial_learning_rate", "end_learning_rate", "total_iters", "power", "cycle"}},
        {"linearlr", {"initial_learning_rate", "end_learning_rate", "total_iters", "cycle"}},
        {"exponentiallr", {"initial_learning_rate", "total_iters", "decay_rate", "staircase"}},
        {"inverseexponentialtimedecaylr",
         {"initial_learning_rate", "step_exponent", "total_iters", "decay_rate", "staircase"}},
        {"inversesquarerootdecaylr", {"initial_learning_rate", "scale", "warmup_steps"}},
        {"cosinedecaylr", {"initial_learning_rate", "end_learning_rate", "total_iters"}},
        {"sequentiallr", {"schedulers", "milestones", "last_epoch"}},
        {"piecewiseconstantlr", {"learning_rates", "milestones"}},
        {"multisteplr", {"initial_learning_rate", "gamma", "milestones"}},
        {"steplr", {"initial_learning_rate", "step_size", "gamma"}},
        {"cosineannealinglr", {"initial_learning_rate", "T_max", "eta_min"}},
        {"lambdalr", {"initial_learning_rate"}},
        {"cosineannealingwarmrestarts", {"initial_learning_rate", "T_0", "T_mult", "eta_min"}},
        {"multiplicativelr", {"initial_learning_rate", "coefficient"}},
        {"chainedscheduler", {"schedulers"}},
        {"cycliclr", {"base_lr", "max_lr", "step_size_up", "step_size_down", "mode", "gamma", "scale_mode"}},
        {"onecyclelr", {"initial_learning_rate", "max_lr", "total_steps", "pct_start", "final_div_factor",
                        "three_phase", "anneal_strategy"}},
        {"scaleperparamlr", {"scheduler"}},
    };
    return table;
}

const Signature* find_signature(const std::vector<Signature>& table, const std::string& name)
{
    for (const auto& s : table)
        if (name == s.name)
            return &s;
    return nullptr;
}

bool truthy(const Node* n) { return n && python_truthy(*n); }

Node& section(Node& config, const char* key)
{
    if (Node* s = config.find(key))
        return *s;
    return config.set(key, Node::map());
}

// ---- runconfig ----------------------------------------------------------------------------------

/// From cs-1.9 / cs-2.0: keys the 2.1 runtime rejects.
void remove_runconfig_keys_2_1(Node& runconfig)
{
    if (runconfig.find("num_act_servers") || runconfig.find("num_wgt_servers"))
        log::warning("Removing 'num_act_servers' or 'num_wgt_servers' found in runconfig. Release 2.0 and later "
                     "chooses optimal values for these params.");
    for (const char* k : {"experimental_api", "multireplica", "num_replicas", "save_losses", "service_dir",
                          "use_appliance_data", "num_act_servers", "num_wgt_servers"})
        runconfig.erase(k);
    if (const Node* pre = runconfig.find("is_pretrained_checkpoint")) {
        const bool on = truthy(pre);
        runconfig.erase("is_pretrained_checkpoint");
        if (on) {
            Node states = Node::list();
            states.push_back(Node("model"));
            states.push_back(Node("dataloader"));
            runconfig.set("load_checkpoint_states", std::move(states));
        }
    }
    if (const Node* keep = runconfig.find("keep_checkpoint_max")) {
        Node value = *keep;
        runconfig.erase("keep_checkpoint_max");
        if (!value.is_null() && !runconfig.find("max_checkpoints"))
            runconfig.set("max_checkpoints", std::move(value));
    }
}

/// From cs-2.1: gradient accumulation became the dataloaders' micro_batch_size.
void remove_runconfig_keys_2_2(Node& config, const std::string& file)
{
    Node& runconfig = *config.find("runconfig");
    if (const Node* accum = runconfig.find("use_cs_grad_accum")) {
        const Node enable = *accum;
        runconfig.erase("use_cs_grad_accum");
        if (enable.kind() != Node::Kind::boolean)
            throw ConversionError(fmt::format("{}: runconfig.use_cs_grad_accum: Invalid \"{}\" value {}. Expected "
                                              "True or False.",
                                              file, python_str(enable), python_str(enable)));
        for (const char* name : {"train_input", "eval_input"}) {
            Node& input = section(config, name);
            if (!input.is_map())
                throw ConversionError(fmt::format("{}: {} must be a mapping", file, name));
            if (!enable.as_bool())
                input.set("micro_batch_size", Node());
            else if (!input.find("micro_batch_size"))
                input.set("micro_batch_size", Node("auto"));
        }
    }
    config.find("runconfig")->erase("autogen_policy");
}

// ---- sparsity (cs-2.1 -> cs-2.2) -----------------------------------------------------------------

std::string regex_to_glob(std::string pattern)
{
    for (size_t at = pattern.find(".*"); at != std::string::npos; at = pattern.find(".*", at + 1))
        pattern.replace(at, 2, "*");
    return pattern;
}

Node globs_of(const Node& patterns, const std::string& file)
{
    if (patterns.kind() == Node::Kind::string)
        return Node(regex_to_glob(patterns.as_string()));
    Node out = Node::list();
    for (const auto& p : patterns.items()) {
        if (p.kind() != Node::Kind::string)
            throw ConversionError(fmt::format("{}: sparsity.param_name_patterns must hold regex strings", file));
        out.push_back(Node(regex_to_glob(p.as_string())));
    }
    return out;
}

void convert_sparsity_2_2(Node& config, const std::string& file)
{
    Node& sparsity = *config.find("sparsity");
    if (!sparsity.is_map())
        return; // a number (or anything else the 2.1 schema did not have) stays as it is
    if (const Node* type = sparsity.find("type")) {
        Node v = *type;
        sparsity.erase("type");
        sparsity.set("algorithm", std::move(v));
    }
    if (const Node* alg = sparsity.find("algorithm");
        alg && alg->kind() == Node::Kind::string && alg->as_string() == "static") {
        sparsity.erase("algorithm");
        if (sparsity.size() == 1 && sparsity.find("sparsity")) {
            Node level = *sparsity.find("sparsity");
            config.set("sparsity", std::move(level));
            return;
        }
    }
    if (const Node* sched = sparsity.find("schedule")) {
        Node v = *sched;
        sparsity.erase("schedule");
        sparsity.set("update", std::move(v));
    }
    if (const Node* pairs = sparsity.find("sparsity_schedule")) {
        Node steps = Node::list(), values = Node::list();
        if (!pairs->is_sequence())
            throw ConversionError(fmt::format("{}: sparsity.sparsity_schedule must be a list of [step, value]", file));
        for (const auto& p : pairs->items()) {
            if (!p.is_sequence() || p.items().size() != 2)
                throw ConversionError(fmt::format("{}: sparsity.sparsity_schedule must be a list of [step, value]", file));
            steps.push_back(p.items()[0]);
            values.push_back(p.items()[1]);
        }
        sparsity.erase("sparsity_schedule");
        sparsity.set("schedule", std::move(values));
        Node update = Node::map();
        update.set("steps", std::move(steps));
        sparsity.set("update", std::move(update));
    }
    if (const Node* level = sparsity.find("sparsity");
        level && level->kind() != Node::Kind::integer && level->kind() != Node::Kind::floating) {
        Node v = *level;
        sparsity.erase("sparsity");
        sparsity.set("schedule", std::move(v));
    }
    if (const Node* update = sparsity.find("update"); update && update->kind() == Node::Kind::integer) {
        const int64_t freq = update->as_int();
        if (freq == 1) {
            sparsity.erase("update");
        } else {
            Node f = Node::map();
            f.set("freq", Node(freq));
            sparsity.set("update", std::move(f));
        }
    }
    if (const Node* found = sparsity.find("param_name_patterns")) {
        const Node patterns = *found;
        sparsity.erase("param_name_patterns");
        if (patterns.kind() == Node::Kind::string || patterns.is_sequence()) {
            sparsity.set("param_filter", globs_of(patterns, file));
        } else if (patterns.is_map()) {
            Node groups = Node::list();
            for (const auto& [pattern, overrides] : patterns.entries()) {
                if (pattern.kind() != Node::Kind::string || !(overrides.is_map() || overrides.is_null()))
                    throw ConversionError(fmt::format(
                        "{}: sparsity.param_name_patterns as a mapping must map regex strings to sparsity settings", file));
                Node group = Node::map();
                group.set("param_filter", Node(regex_to_glob(pattern.as_string())));
                for (const auto& [k, v] : sparsity.entries())
                    group.set(Node::key_text(k), v);
                if (overrides.is_map())
                    for (const auto& [k, v] : overrides.entries())
                        group.set(Node::key_text(k), v);
                groups.push_back(std::move(group));
            }
            config.set("sparsity", std::move(groups));
        } else {
            throw ConversionError(fmt::format("{}: invalid param_name_patterns type: {}", file,
                                              Node::kind_name(patterns.kind())));
        }
    }
}

// ---- optimizer and LR schedulers (cs-2.0 -> cs-2.1) -----------------------------------------------

void rename_optimizer_params(Node& optimizer)
{
    const Node* type = optimizer.find("optimizer_type");
    if (!type || type->kind() != Node::Kind::string || type->as_string().empty())
        return;
    const Signature* sig = find_signature(optimizer_signatures(), ascii_lower(type->as_string()));
    if (!sig)
        return;
    struct Alias {
        const char* name;
        std::vector<const char*> from; // one key, or several joined into a list
    };
    static const Alias aliases[] = {{"weight_decay", {"weight_decay_rate"}},
                                    {"betas", {"beta1", "beta2"}},
                                    {"eps", {"eps1", "eps2"}},
                                    {"etas", {"eta1", "eta2"}},
                                    {"step_sizes", {"step_size_min", "step_size_max"}}};
    for (const char* param : sig->params) {
        if (std::string(param) == "lr" || optimizer.find(param))
            continue;
        for (const auto& a : aliases) {
            if (std::string(a.name) != param)
                continue;
            bool all = true;
            for (const char* f : a.from)
                all = all && optimizer.find(f);
            if (!all)
                continue;
            if (a.from.size() == 1) {
                Node v = *optimizer.find(a.from[0]);
                optimizer.erase(a.from[0]);
                optimizer.set(param, std::move(v));
            } else {
                Node list = Node::list();
                for (const char* f : a.from) {
                    list.push_back(*optimizer.find(f));
                    optimizer.erase(f);
                }
                optimizer.set(param, std::move(list));
            }
        }
    }
}

void rename_scheduler_params(Node& lr)
{
    const Node* sched = lr.find("scheduler");
    if (!sched || sched->kind() != Node::Kind::string)
        return;
    const std::string name = ascii_lower(sched->as_string());
    const Signature* sig = find_signature(scheduler_signatures(), name);
    if (!sig)
        sig = find_signature(scheduler_signatures(), name + "lr");
    if (!sig)
        return;
    struct Alias {
        const char* name;
        std::vector<const char*> from; // the first one present wins
    };
    static const Alias aliases[] = {{"total_iters", {"steps", "decay_steps"}},
                                    {"initial_learning_rate", {"learning_rate", "base_lr"}},
                                    {"base_lr", {"learning_rate", "initial_learning_rate"}},
                                    {"learning_rates", {"values"}},
                                    {"milestones", {"boundaries"}},
                                    {"T_max", {"t_max"}},
                                    {"T_0", {"t_0"}},
                                    {"T_mult", {"t_mult"}}};
    for (const char* param : sig->params) {
        if (std::string(param) == "optimizer" || lr.find(param))
            continue;
        for (const auto& a : aliases) {
            if (std::string(a.name) != param)
                continue;
            for (const char* f : a.from)
                if (const Node* v = lr.find(f)) {
                    Node value = *v;
                    lr.erase(f);
                    lr.set(param, std::move(value));
                    break;
                }
        }
    }
}

void rename_optimizer_and_schedulers(Node& optimizer)
{
    if (!optimizer.is_map())
        return;
    rename_optimizer_params(optimizer);
    if (Node* lr = optimizer.find("learning_rate")) {
        if (lr->is_map())
            rename_scheduler_params(*lr);
        else if (lr->is_sequence())
            for (auto& item : lr->items())
                if (item.is_map())
                    rename_scheduler_params(item);
    }
}

// ---- muP (cs-2.2 -> cs-2.3) -------------------------------------------------------------------------

double number(const Node& model, const char* key, const std::string& file, const char* why)
{
    const Node* v = model.find(key);
    if (!v || !(v->kind() == Node::Kind::integer || v->kind() == Node::Kind::floating))
        throw ConversionError(fmt::format("{}: model.{} must be a number {}", file, key, why));
    return v->as_float();
}

/// scale_initializers_by_dimension: `normal` and `truncated_normal` initializers scaled by `s`
/// (a and b default to -2 std and 2 std); names other than those, and bare strings, unchanged.
void scale_initializers(Node& init, double s, const std::string& file, const char* key)
{
    auto one = [&](Node& i) {
        if (i.kind() == Node::Kind::string)
            return;
        if (!i.is_map() || !i.find("name") || i.find("name")->kind() != Node::Kind::string)
            throw ConversionError(fmt::format("{}: model.{}: Initializer name must be provided", file, key));
        const std::string name = ascii_lower(i.find("name")->as_string());
        auto get = [&](const char* k, double dflt) {
            const Node* v = i.find(k);
            if (!v)
                return dflt;
            if (!(v->kind() == Node::Kind::integer || v->kind() == Node::Kind::floating))
                throw ConversionError(fmt::format("{}: model.{}.{} must be a number", file, key, k));
            return v->as_float();
        };
        if (name == "normal") {
            i.set("std", Node(get("std", 1.0) * s));
        } else if (name == "truncated_normal") {
            const double std = get("std", 1.0);
            i.set("std", Node(std * s));
            i.set("a", Node(get("a", -2 * std) * s));
            i.set("b", Node(get("b", 2 * std) * s));
        }
    };
    if (init.is_sequence())
        for (auto& i : init.items())
            one(i);
    else
        one(init);
}

// ---- releases ------------------------------------------------------------------------------------

const char* const kReleases[] = {"cs-1.6", "cs-1.7", "cs-1.8", "cs-1.9", "cs-2.0", "cs-2.1", "cs-2.2",
                                 "cs-2.3", "cs-2.4", "cs-2.5", "cs-2.6", "cs-2.7", "cs-2.8", "cs-2.9"};

int release_index(const std::string& fmt)
{
    for (size_t i = 0; i < std::size(kReleases); ++i)
        if (fmt == kReleases[i])
            return int(i);
    return -1;
}

/// The (from, to) release pairs whose rules a step applies: each release boundary an upgrade
/// crosses, in order (the Model Zoo's one-converter jumps such as cs-2.2 -> cs-2.4 apply only the
/// rules keyed on their own src/tgt; going release by release gives the same result as separate
/// runs), or the step itself for a downgrade or an unknown release.
std::vector<std::pair<std::string, std::string>> release_pairs(const std::string& src, const std::string& tgt)
{
    const int a = release_index(src), b = release_index(tgt);
    if (a < 0 || b < 0 || b <= a + 1)
        return {{src, tgt}};
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = a; i < b; ++i)
        out.emplace_back(kReleases[i], kReleases[i + 1]);
    return out;
}

void apply_release_pair(Node& config, const std::string& src, const std::string& tgt,
                        const std::string& registry_name, const std::string& file);

} // namespace

bool upgrade_cs22_mup_config(Node& config, Node& model, const std::string& src, const std::string& tgt,
                             const std::string& file)
{
    const int a = release_index(src), b = release_index(tgt), at = release_index("cs-2.3");
    if (!(a >= 0 && a < at && b >= at))
        return false;
    const Node* qk = model.find("scale_qk_dot_by_d");
    const Node* emb = model.find("embeddings_scale");
    const Node* logits = model.find("output_logits_scale");
    const bool all = truthy(qk) && truthy(emb) && truthy(logits);
    const bool any = truthy(qk) || truthy(logits);
    if (any && !all)
        throw ConversionError(fmt::format(
            "{}: This looks like an incomplete muP config. Either all of or none of \"scale_qk_dot_by_d\", "
            "\"embeddings_scale\", \"output_logits_scale\" can be specified, but this config only has some that are "
            "specified.",
            file));
    if (!all)
        return false;

    Node* optimizer = config.find("optimizer");
    const Node* adjust = optimizer && optimizer->is_map() ? optimizer->find("adjust_learning_rate") : nullptr;
    const Node* kernel = adjust && adjust->is_map() ? adjust->find("decoder_kernel") : nullptr;
    if (!kernel || !(kernel->kind() == Node::Kind::integer || kernel->kind() == Node::Kind::floating) ||
        !(kernel->as_float() > 0) || !std::isfinite(kernel->as_float()))
        throw ConversionError(fmt::format("{}: a cs-2.2 muP config needs optimizer.adjust_learning_rate.decoder_kernel "
                                          "(a positive number: base width / width) to become a cs-2.3 muP config",
                                          file));
    const double width = 1.0 / kernel->as_float();
    optimizer->erase("adjust_learning_rate");

    // Rules in the model section's key order: the three keys below change, the rest is kept.
    Node out = Node::map();
    for (const auto& [k, v] : model.entries()) {
        const std::string key = Node::key_text(k);
        if (key == "initializer") {
            Node init = v;
            scale_initializers(init, std::pow(width, 0.5), file, "initializer");
            out.set(key, std::move(init));
        } else if (key == "output_layer_initializer") {
            const double layers = number(model, "num_hidden_layers", file, "to unscale output_layer_initializer");
            Node init = v;
            scale_initializers(init, std::pow(width, 0.5) * std::pow(2 * layers, 0.5), file, "output_layer_initializer");
            out.set(key, std::move(init));
        } else if (key == "output_logits_scale") {
            const double hidden = number(model, "hidden_size", file, "to derive mup_base_hidden_size");
            const double filter = number(model, "filter_size", file, "to derive mup_base_filter_size");
            out.set("mup_base_hidden_size", Node(hidden / width));
            out.set("mup_base_filter_size", Node(filter / width));
            out.set("output_logits_alpha", Node(number(model, "output_logits_scale", file, "") * width));
        } else {
            out.set(key, v);
        }
    }
    model = std::move(out);
    return true;
}

Node finish_cs_release_step(Node config, const std::string& src, const std::string& tgt,
                            const std::string& registry_name, const std::string& file)
{
    if (!config.is_map())
        throw ConversionError(fmt::format("{}: a Cerebras config must be a mapping", file));
    config.erase("cerebras");
    for (const auto& [from, to] : release_pairs(src, tgt))
        apply_release_pair(config, from, to, registry_name, file);
    return config;
}

namespace {

void apply_release_pair(Node& config, const std::string& src, const std::string& tgt,
                        const std::string& registry_name, const std::string& file)
{
    const bool from_19_20 = src == "cs-1.9" || src == "cs-2.0";
    if (Node* rc = config.find("runconfig"); rc && rc->is_map()) {
        if (from_19_20)
            remove_runconfig_keys_2_1(*rc);
        if (src == "cs-2.1")
            remove_runconfig_keys_2_2(config, file);
    }
    if (src == "cs-2.1" && config.find("sparsity"))
        convert_sparsity_2_2(config, file);
    if (from_19_20)
        config.erase("csconfig");

    if (src == "cs-2.0" && tgt == "cs-2.1") {
        if (Node* opt = config.find("optimizer"))
            rename_optimizer_and_schedulers(*opt);
        Node* model = cs_model_section(config, file);
        if (const Node* pol = model->find("precision_opt_level"); pol && config.find("runconfig")) {
            Node& rc = *config.find("runconfig");
            if (rc.is_map() && !rc.find("precision_opt_level"))
                rc.set("precision_opt_level", *pol);
            model->erase("precision_opt_level");
        }
        if (const Node* bf16 = model->find("use_bfloat16")) {
            const bool on = truthy(bf16);
            model->erase("use_bfloat16");
            model->set("fp16_type", Node(on ? "bfloat16" : "float16"));
        }
    }
    if (src == "cs-2.2" && tgt == "cs-2.3")
        config = legacy_to_trainer_config(config, file);
    if (src == "cs-2.3" && tgt == "cs-2.4") {
        Node* model = cs_model_section(config, file);
        if (!model->find("name"))
            model->set("name", Node(registry_name));
    }
}

} // namespace

} // namespace ckpt
