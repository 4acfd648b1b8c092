// SPDX-License-Identifier: Apache-2.0
// The legacy → trainer config layout (cs-2.2 → cs-2.3), reproducing the Model Zoo's mapping
// table and its pytree-based algorithm step for step: the same keys land in the same places,
// the same empty values disappear, and the same quirks survive (see docs/decisions.md D11).
#include "config/trainer_layout.hpp"

#include "config/json_config.hpp"
#include "config/python_float.hpp"
#include "config/python_values.hpp"
#include "core/tree_paths.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <vector>

namespace ckpt {

namespace {

// TRAINER_PARAMS_TO_LEGACY of Model Zoo Release 2.9/2.10 (trainer/utils.py): each leaf names the
// legacy key whose value goes there; `a.*` takes the whole subtree under `a`; a `*` key merges
// its subtree into the enclosing mapping.
constexpr const char* kTrainerToLegacy = R"({
 "init": {
  "model_dir": "runconfig.model_dir",
  "seed": "runconfig.seed",
  "backend": {
   "backend_type": "runconfig.target_device",
   "compile_dir": "runconfig.compile_dir",
   "compile_only": "runconfig.compile_only",
   "validate_only": "runconfig.validate_only",
   "cluster_config": {
    "num_csx": "runconfig.num_csx",
    "max_wgt_servers": "runconfig.num_wgt_servers",
    "mgmt_address": "runconfig.mgmt_address",
    "mgmt_namespace": "runconfig.mgmt_namespace",
    "credentials_path": "runconfig.credentials_path",
    "mount_dirs": "runconfig.mount_dirs.*",
    "python_paths": "runconfig.python_paths.*",
    "num_workers_per_csx": "runconfig.num_workers_per_csx",
    "max_act_per_csx": "runconfig.num_act_servers",
    "cbcore_image": "runconfig.cbcore_image",
    "job_labels": "runconfig.job_labels.*",
    "job_priority": "runconfig.job_priority",
    "job_time_sec": "runconfig.job_time_sec",
    "disable_version_check": "runconfig.disable_version_check"
   },
   "enable_distributed": "runconfig.enable_distributed",
   "main_process_id": "runconfig.main_process_id",
   "dist_backend": "runconfig.dist_backend",
   "init_method": "runconfig.init_method",
   "sync_batchnorm": "runconfig.sync_batchnorm"
  },
  "model": {"*": "model.*"},
  "optimizer": "optimizer.*",
  "schedulers": "optimizer.learning_rate.*",
  "precision": {
   "enabled": "model.mixed_precision",
   "fp16_type": "model.fp16_type",
   "precision_opt_level": "runconfig.precision_opt_level",
   "loss_scaling_factor": "optimizer.loss_scaling_factor",
   "initial_loss_scale": "optimizer.initial_loss_scale",
   "steps_per_increase": "optimizer.steps_per_increase",
   "min_loss_scale": "optimizer.min_loss_scale",
   "max_loss_scale": "optimizer.max_loss_scale",
   "max_gradient_norm": "optimizer.max_gradient_norm",
   "max_gradient_value": "optimizer.max_gradient_value",
   "log_loss_scale": "optimizer.log_summaries"
  },
  "sparsity": {"*": "sparsity.*", "sparsity": "sparsity"},
  "loop": {
   "num_steps": "runconfig.num_steps",
   "max_steps": "runconfig.max_steps",
   "num_epochs": "runconfig.num_epochs",
   "steps_per_epoch": "runconfig.steps_per_epoch",
   "eval_frequency": "runconfig.eval_frequency",
   "eval_steps": "runconfig.eval_steps",
   "grad_accum_steps": "optimizer.grad_accum_steps"
  },
  "checkpoint": {
   "steps": "runconfig.checkpoint_steps",
   "disable_strict_checkpoint_loading": "runconfig.disable_strict_checkpoint_loading",
   "autoload_last_checkpoint": "runconfig.autoload_last_checkpoint",
   "save_initial_checkpoint": "runconfig.save_initial_checkpoint"
  },
  "logging": {
   "log_steps": "runconfig.log_steps",
   "log_level": "runconfig.logging",
   "wsc_log_level": "runconfig.wsc_log_level.*",
   "enable_act_frequency": "runconfig.enable_act_frequency"
  },
  "callbacks": [
   {"GlobalFlags": {
     "csx.performance.transfer_processes": "runconfig.transfer_processes",
     "csx.debug.ini": "runconfig.ini.*",
     "csx.debug.debug_args": "runconfig.debug_args.*",
     "csx.debug.retrace_every_iteration": "runconfig.retrace_every_iteration",
     "csx.debug.lazy_initialization": "runconfig.lazy_initialization",
     "csx.debug.log_initialization": "runconfig.log_initialization",
     "csx.debug.drop_data": "runconfig.drop_data",
     "csx.debug.fabric_type_blacklist": "runconfig.fabric_type_blacklist.*",
     "csx.debug.compile_crd_memory_gi": "runconfig.compile_crd_memory_gi",
     "csx.debug.execute_crd_memory_gi": "runconfig.execute_crd_memory_gi",
     "csx.debug.wrk_memory_gi": "runconfig.wrk_memory_gi",
     "csx.debug.act_memory_gi": "runconfig.act_memory_gi",
     "csx.debug.cmd_memory_gi": "runconfig.cmd_memory_gi",
     "csx.debug.wgt_memory_gi": "runconfig.wgt_memory_gi",
     "csx.debug.chf_memory_gi": "runconfig.chf_memory_gi"}},
   {"ScopedTrainFlags": {"csx.performance.micro_batch_size": {
     "*": "train_input.micro_batch_size.*",
     "csx.performance.micro_batch_size": "train_input.micro_batch_size"}}},
   {"ScopedValidateFlags": {"csx.performance.micro_batch_size": {
     "*": "eval_input.micro_batch_size.*",
     "csx.performance.micro_batch_size": "eval_input.micro_batch_size"}}},
   {"DebugArgsPath": {"debug_args_path": "runconfig.debug_args_path"}},
   {"Lora": {"lora_params": "model.lora_params.*"}},
   {"LogInputSummaries": "runconfig.log_input_summaries"},
   {"CheckLoss": "runconfig.check_loss_values"},
   {"ComputeNorm": "optimizer.log_summaries"},
   {"LoadCheckpointStates": {"load_checkpoint_states": "runconfig.load_checkpoint_states"}},
   {"KeepNCheckpoints": {"n": "runconfig.max_checkpoints"}},
   {"LogSparsity": "sparsity.add_summaries"},
   {"WeightCompression": {"compressions": "model.compression.*"}},
   {"SelectiveGrad": {"selective_grads": "model.selective_grad.*"}},
   {"Listener": {"listeners": "runconfig.experimental.listeners.*"}},
   {"OpProfiler": "runconfig.op_profiler_config.*"},
   {"DumpActivations": "runconfig.dump_activations"},
   {"HFCacheDir": {"cache_dir": "runconfig.hf_cache_dir"}}
  ],
  "loggers": [
   {"TensorBoardLogger": {
     "summary_dir": "runconfig.summary_dir",
     "legacy_event_dirs": "runconfig.legacy_event_dirs"}},
   {"WandbLogger": {
     "project": "wandb.project",
     "group": "wandb.group",
     "run_id": "wandb.run_id",
     "run_name": "wandb.run_name",
     "job_type": "wandb.job_type",
     "tags": "wandb.tags",
     "resume": "wandb.resume",
     "entity": "wandb.entity"}}
  ]
 },
 "fit": {
  "train_dataloader": {"*": "train_input.*"},
  "val_dataloader": {"*": "eval_input.*"},
  "ckpt_path": "runconfig.checkpoint_path"
 },
 "validate": {
  "val_dataloader": {"*": "eval_input.*"},
  "ckpt_path": "runconfig.checkpoint_path"
 },
 "validate_all": {
  "val_dataloaders": {"*": "eval_input.*"},
  "ckpt_paths": "runconfig.checkpoint_path"
 }
})";

/// Legacy keys that are dropped without a warning.
const char* const kIgnoredLegacyKeys[] = {"runconfig.mode"};

/// Trainer keys removed after the move: they were copied into `precision`, `loop` or callbacks
/// and must not stay behind in the model, optimizer or dataloaders. Release 2.9 also prunes
/// init.model.mixed_precision and init.model.fp16_type; Release 2.3, whose output the reference
/// fixtures hold, keeps them in the model section (cs-2.3 models still read them), and so do we.
const char* const kPrunedAfterConversion[] = {
    "init.model.compression",
    "init.model.lora_params",
    "init.model.selective_grad",
    "init.optimizer.loss_scaling_factor",
    "init.optimizer.initial_loss_scale",
    "init.optimizer.steps_per_increase",
    "init.optimizer.min_loss_scale",
    "init.optimizer.max_loss_scale",
    "init.optimizer.max_gradient_norm",
    "init.optimizer.max_gradient_value",
    "init.optimizer.log_summaries",
    "init.optimizer.grad_accum_steps",
    "fit.train_dataloader.micro_batch_size",
    "fit.val_dataloader.micro_batch_size",
    "validate.val_dataloader.micro_batch_size",
    "validate_all.val_dataloader.micro_batch_size",
};

/// The cerebras.pytorch LR scheduler classes by lower-case name (the Model Zoo looks schedulers up
/// among the subclasses of cstorch's LRScheduler).
const char* const kSchedulerClasses[] = {
    "ChainedScheduler", "ConstantLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CosineDecayLR",
    "CyclicLR", "ExponentialLR", "InverseExponentialTimeDecayLR", "InverseSquareRootDecayLR", "LambdaLR",
    "LinearLR", "MultiStepLR", "MultiplicativeLR", "OneCycleLR", "PiecewiseConstantLR", "PolynomialLR",
    "ScalePerParamLR", "SequentialLR", "StepLR",
};

// ---- the "not given" marker -------------------------------------------------------------------

constexpr const char* kMissingType = "\x01ckptconv.missing";

Node missing() { return Node(Opaque{kMissingType, nullptr, nullptr, {}}); }

bool is_missing(const Node& n) { return n.kind() == Node::Kind::opaque && n.as_opaque().type == kMissingType; }

/// The Model Zoo's is_not_empty: given, and truthy or a scalar (so 0, false and "" stay).
bool kept(const Node& n)
{
    if (is_missing(n))
        return false;
    switch (n.kind()) {
    case Node::Kind::boolean:
    case Node::Kind::integer:
    case Node::Kind::floating:
    case Node::Kind::string: return true;
    default: return python_truthy(n);
    }
}

bool is_container(const Node& n) { return n.is_map() || n.is_sequence(); }

std::string python_list_of_strings(const std::vector<std::string>& v)
{
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i)
        out += fmt::format("{}'{}'", i ? ", " : "", v[i]);
    return out + "]";
}

std::vector<std::string> split_dots(const std::string& s)
{
    std::vector<std::string> parts;
    size_t at = 0;
    while (true) {
        size_t dot = s.find('.', at);
        parts.push_back(s.substr(at, dot - at));
        if (dot == std::string::npos)
            return parts;
        at = dot + 1;
    }
}

// ---- flattening ---------------------------------------------------------------------------------

/// The params flattened as pytree leaves: dotted key paths (list items by index) in tree order.
/// Empty mappings and lists have no leaves.
struct Flat {
    std::vector<std::string> keys;
    std::map<std::string, Node> values; // still unclaimed leaves
    std::set<std::string> all;
};

void flatten(const Node& params, Flat& out)
{
    for_each_leaf(params, [&](const std::string& key, const Node& v) {
        if (v.is_map() || v.is_sequence()) // an empty container holds no pytree leaf
            return;
        if (out.all.insert(key).second) {
            out.keys.push_back(key);
            out.values.emplace(key, v);
        }
    });
}

/// The legacy keys the table names, in table order.
void table_keys(const Node& n, std::vector<std::string>& out)
{
    if (n.is_map())
        for (const auto& e : n.entries())
            table_keys(e.second, out);
    else if (n.is_sequence())
        for (const auto& item : n.items())
            table_keys(item, out);
    else
        out.push_back(n.as_string());
}

struct Conversion {
    Flat flat;
    std::map<std::string, Node> legacy; // legacy key -> value taken for it
};

/// A glob's subtree: the params under its scope with every leaf already claimed by a deeper glob
/// marked missing (unless it is also a whole legacy key). Returns false when nothing matched.
bool claim_subtree(Node& n, const std::string& prefix, Conversion& c, bool& any)
{
    if (n.is_map()) {
        for (auto& [k, v] : n.entries())
            claim_subtree(v, prefix + "." + Node::key_text(k), c, any);
    } else if (n.is_sequence()) {
        for (size_t i = 0; i < n.items().size(); ++i)
            claim_subtree(n.items()[i], prefix + "." + std::to_string(i), c, any);
    } else {
        any = true;
        auto it = c.flat.values.find(prefix);
        if (it != c.flat.values.end()) {
            n = it->second;
            c.flat.values.erase(it);
        } else if (auto l = c.legacy.find(prefix); l != c.legacy.end()) {
            n = l->second;
        } else {
            n = missing();
        }
    }
    return any;
}

const Node* find_scope(const Node& params, const std::vector<std::string>& scope)
{
    const Node* at = &params;
    for (const auto& part : scope) {
        if (!at->is_map())
            return nullptr;
        at = at->find(part);
        if (!at)
            return nullptr;
    }
    return at;
}

/// The table with every legacy key replaced by its value (or the missing marker).
Node fill_table(const Node& t, const Conversion& c)
{
    if (t.is_map()) {
        Node out = Node::map();
        for (const auto& [k, v] : t.entries())
            out.append(k, fill_table(v, c));
        return out;
    }
    if (t.is_sequence()) {
        Node out = Node::list();
        for (const auto& item : t.items())
            out.push_back(fill_table(item, c));
        return out;
    }
    auto it = c.legacy.find(t.as_string());
    return it == c.legacy.end() ? missing() : it->second;
}

/// Removes every `add_summaries` key under `n` and reports whether any of them was truthy.
bool take_add_summaries(Node& n)
{
    bool any = false;
    if (n.is_map()) {
        if (const Node* v = n.find("add_summaries")) {
            any = !is_missing(*v) && python_truthy(*v);
            n.erase("add_summaries");
        }
        for (auto& e : n.entries())
            any = take_add_summaries(e.second) || any;
    } else if (n.is_sequence()) {
        for (auto& item : n.items())
            any = take_add_summaries(item) || any;
    }
    return any;
}

/// Drops missing and empty values; a `*` entry merges its mapping into the parent as it is (the
/// model may want its empty lists), or replaces the parent when it is not a mapping.
Node cleanup(const Node& n)
{
    if (n.is_map()) {
        Node out = Node::map();
        for (const auto& [k, v] : n.entries()) {
            if (is_missing(v))
                continue;
            if (k.kind() == Node::Kind::string && k.as_string() == "*") {
                if (!v.is_map())
                    return cleanup(v);
                for (const auto& [mk, mv] : v.entries())
                    out.set(Node::key_text(mk), mv);
                continue;
            }
            Node cv = cleanup(v);
            if (kept(cv))
                out.set(Node::key_text(k), std::move(cv));
        }
        return out;
    }
    if (n.is_sequence()) {
        Node out = Node::list();
        for (const auto& item : n.items()) {
            Node ci = cleanup(item);
            if (kept(ci))
                out.push_back(std::move(ci));
        }
        return out;
    }
    return n;
}

/// Missing markers left inside merged subtrees (the Model Zoo would fail to write them).
void drop_missing(Node& n)
{
    if (n.is_map()) {
        auto& es = n.entries();
        es.erase(std::remove_if(es.begin(), es.end(), [](const Node::Entry& e) { return is_missing(e.second); }),
                 es.end());
        for (auto& e : es)
            drop_missing(e.second);
    } else if (n.is_sequence()) {
        auto& is = n.items();
        is.erase(std::remove_if(is.begin(), is.end(), is_missing), is.end());
        for (auto& i : is)
            drop_missing(i);
    }
}

double python_float(const Node& v, const std::string& what, const std::string& file)
{
    if (v.kind() == Node::Kind::integer || v.kind() == Node::Kind::floating)
        return v.as_float();
    if (v.kind() == Node::Kind::boolean)
        return v.as_bool() ? 1.0 : 0.0;
    if (v.kind() == Node::Kind::string) {
        std::string t = v.as_string();
        t.erase(0, t.find_first_not_of(" \t\n"));
        t.erase(t.find_last_not_of(" \t\n") + 1);
        bool neg = !t.empty() && t[0] == '-';
        if (!t.empty() && (t[0] == '-' || t[0] == '+'))
            t.erase(0, 1);
        double d = 0;
        if (parse_decimal_float(t, d))
            return neg ? -d : d;
    }
    throw ConversionError(fmt::format("{}: {} must be a number to become a ConstantLR scheduler", file, what));
}

/// convert_lr_scheduler: legacy `learning_rate` scheduler settings -> `{ClassName: params}`.
Node convert_scheduler(Node params, const Node* adjust_learning_rate, const std::string& file)
{
    Node out = Node::map();
    if (adjust_learning_rate && python_truthy(*adjust_learning_rate)) {
        Node inner = Node::map();
        inner.set("scheduler", convert_scheduler(std::move(params), nullptr, file));
        out.set("ScalePerParamLR", std::move(inner));
        return out;
    }
    if (params.is_sequence()) {
        Node list = Node::list();
        std::vector<std::string> mains;
        for (auto& sub : params.items()) {
            if (sub.is_map()) {
                if (const Node* m = sub.find("main_scheduler")) {
                    if (python_truthy(*m)) {
                        std::string name = m->kind() == Node::Kind::string ? m->as_string() : "";
                        if (std::find(mains.begin(), mains.end(), name) == mains.end())
                            mains.push_back(name);
                    }
                    sub.erase("main_scheduler");
                }
            }
            list.push_back(convert_scheduler(std::move(sub), nullptr, file));
        }
        if (mains.size() > 1)
            throw ConversionError(fmt::format("{}: Got conflicting `main_scheduler` values: {{{}}}. Please make sure "
                                              "to specify the same main scheduler.",
                                              file, python_list_of_strings(mains).substr(1, python_list_of_strings(mains).size() - 2)));
        const bool chained = !mains.empty() && (ascii_lower(mains[0]) == "chained" || ascii_lower(mains[0]) == "chainedlr");
        const char* key = chained ? "ChainedScheduler" : "SequentialLR";
        if (list.items().size() == 1 && !chained)
            return list.items()[0];
        Node inner = Node::map();
        inner.set("schedulers", std::move(list));
        out.set(key, std::move(inner));
        return out;
    }
    const Node* sched = params.is_map() ? params.find("scheduler") : nullptr;
    if (!sched || sched->kind() != Node::Kind::string)
        throw ConversionError(fmt::format("{}: every optimizer.learning_rate scheduler needs a `scheduler` name", file));
    const std::string name = ascii_lower(sched->as_string());
    params.erase("scheduler");
    for (const std::string& candidate : {name, name + "lr"})
        for (const char* cls : kSchedulerClasses)
            if (ascii_lower(cls) == candidate) {
                out.set(cls, std::move(params));
                return out;
            }
    std::vector<std::string> known;
    for (const char* cls : kSchedulerClasses)
        known.push_back(ascii_lower(cls));
    throw ConversionError(fmt::format("{}: Invalid lr_scheduler type. Expected one of {}. Got: {}", file,
                                      python_list_of_strings(known), name));
}

void prune(Node& trainer, const std::string& dotted)
{
    Node* at = &trainer;
    auto parts = split_dots(dotted);
    for (size_t i = 0; i < parts.size(); ++i) {
        if (!at->is_map())
            return;
        if (i + 1 == parts.size()) {
            at->erase(parts[i]);
            return;
        }
        at = at->find(parts[i]);
        if (!at)
            return;
    }
}

void convert_callbacks(Node& init, const std::string& file)
{
    Node* cbs = init.find("callbacks");
    if (!cbs || !cbs->is_sequence())
        return;
    Node out = Node::list();
    const std::string mbs = "csx.performance.micro_batch_size";
    for (Node cb : cbs->items()) {
        if (!cb.is_map() || cb.entries().empty())
            continue;
        const std::string name = Node::key_text(cb.entries()[0].first);
        Node& value = cb.entries()[0].second;
        if (value.kind() == Node::Kind::boolean)
            value = value.as_bool() ? Node::map() : Node();
        if (name == "Listener") {
            const Node* listeners = value.is_map() ? value.find("listeners") : nullptr;
            if (listeners && listeners->is_sequence())
                for (Node l : listeners->items()) {
                    const Node* type = l.is_map() ? l.find("listener_type") : nullptr;
                    if (!type)
                        throw ConversionError(fmt::format(
                            "{}: Expected to find a key named `listener_type` in all listeners. But found a "
                            "listener config that doesn't conform to this requirement (runconfig.experimental.listeners)",
                            file));
                    Node entry = Node::map();
                    std::string t = Node::key_text(*type);
                    l.erase("listener_type");
                    entry.set(t, std::move(l));
                    out.push_back(std::move(entry));
                }
        } else if ((name == "ScopedTrainFlags" || name == "ScopedValidateFlags") && value.is_map() &&
                   value.find(mbs) && value.find(mbs)->is_map() && value.find(mbs)->size() == 1 &&
                   value.find(mbs)->find(mbs)) {
            Node inner = Node::map();
            inner.set(mbs, *value.find(mbs)->find(mbs));
            Node entry = Node::map();
            entry.set(name, std::move(inner));
            out.push_back(std::move(entry));
        } else {
            out.push_back(std::move(cb));
        }
    }
    if (out.size() != 0)
        *cbs = std::move(out);
}

} // namespace

Node legacy_to_trainer_config(const Node& legacy, const std::string& file)
{
    if (!legacy.is_map())
        throw ConversionError(fmt::format("{}: a Cerebras config must be a mapping", file));
    if (legacy.find("trainer"))
        return legacy;

    static const Node table = parse_json_config(kTrainerToLegacy, "the trainer layout table");
    std::vector<std::string> legacy_keys;
    table_keys(table, legacy_keys);

    Conversion c;
    flatten(legacy, c.flat);
    for (const char* k : kIgnoredLegacyKeys)
        c.flat.values.erase(k);
    for (const auto& k : legacy_keys)
        if (auto it = c.flat.values.find(k); it != c.flat.values.end()) {
            c.legacy.emplace(k, it->second);
            c.flat.values.erase(it);
        }

    // Globs, deepest scope first: a deeper glob claims its leaves before a shallower one.
    std::vector<std::string> globs;
    for (const auto& k : legacy_keys)
        if (k.size() > 2 && k.compare(k.size() - 2, 2, ".*") == 0 && !c.legacy.count(k) &&
            std::find(globs.begin(), globs.end(), k) == globs.end())
            globs.push_back(k);
    std::stable_sort(globs.begin(), globs.end(), [](const std::string& a, const std::string& b) {
        return split_dots(a).size() > split_dots(b).size();
    });
    for (const auto& g : globs) {
        const std::string scope = g.substr(0, g.size() - 2);
        const Node* sub = find_scope(legacy, split_dots(scope));
        if (!sub || !is_container(*sub))
            continue;
        Node copy = *sub;
        bool any = false;
        if (claim_subtree(copy, scope, c, any))
            c.legacy.emplace(g, std::move(copy));
    }

    std::vector<std::string> extra;
    for (const auto& k : c.flat.keys)
        if (c.flat.values.count(k))
            extra.push_back(k);
    if (!extra.empty()) {
        std::sort(extra.begin(), extra.end());
        log::warning("{}: Found extra keys in the params: {}", file, python_list_of_strings(extra));
    }

    Node trainer = fill_table(table, c);
    Node& init0 = *trainer.find("init");
    const bool log_sparsity = take_add_summaries(*init0.find("sparsity"));
    if (log_sparsity)
        for (auto& cb : init0.find("callbacks")->items())
            if (Node* v = cb.find("LogSparsity")) {
                *v = Node(true);
                break;
            }

    trainer = cleanup(trainer);
    if (!trainer.find("init"))
        trainer.set("init", Node::map());

    // The Model Zoo makes validate's and validate_all's evaluation dataloader the very object of
    // fit's, so what is later removed from one is removed from all (see the pruning below).
    bool shared_validate = false, shared_validate_all = false;
    if (Node* fit = trainer.find("fit"); fit && fit->find("val_dataloader")) {
        const Node shared = *fit->find("val_dataloader");
        if (Node* v = trainer.find("validate"); v && v->find("val_dataloader")) {
            v->set("val_dataloader", shared);
            shared_validate = true;
        }
        if (Node* v = trainer.find("validate_all"); v && v->find("val_dataloaders")) {
            v->set("val_dataloaders", shared);
            shared_validate_all = true;
        }
    }
    if (Node* fit = trainer.find("fit"); fit && !fit->find("train_dataloader"))
        trainer.erase("fit");
    if (Node* v = trainer.find("validate"); v && !v->find("val_dataloader"))
        trainer.erase("validate");

    Node& init = *trainer.find("init");
    std::optional<Node> adjust;
    if (const Node* opt = init.find("optimizer"); opt && opt->is_map())
        if (const Node* a = opt->find("adjust_learning_rate"))
            adjust = *a;
    if (Node* s = init.find("schedulers")) {
        Node list = Node::list();
        list.push_back(convert_scheduler(*s, adjust ? &*adjust : nullptr, file));
        *s = std::move(list);
    } else if (const Node* opt = init.find("optimizer"); opt && opt->is_map() && opt->find("learning_rate")) {
        Node constant = Node::map();
        constant.set("scheduler", Node("ConstantLR"));
        constant.set("learning_rate", Node(python_float(*opt->find("learning_rate"), "optimizer.learning_rate", file)));
        Node list = Node::list();
        list.push_back(convert_scheduler(std::move(constant), adjust ? &*adjust : nullptr, file));
        init.set("schedulers", std::move(list));
    }

    convert_callbacks(init, file);
    for (const char* k : kPrunedAfterConversion)
        prune(trainer, k);
    // One shared dataloader: a micro_batch_size pruned through fit or validate is gone from all
    // three places (validate_all's own prune entry names `val_dataloader` and never matches).
    const Node* fit_now = trainer.find("fit");
    if ((shared_validate || shared_validate_all) &&
        ((fit_now && fit_now->find("val_dataloader")) || (shared_validate && trainer.find("validate")))) {
        for (const char* k : {"fit.val_dataloader.micro_batch_size", "validate.val_dataloader.micro_batch_size"})
            prune(trainer, k);
        if (shared_validate_all)
            prune(trainer, "validate_all.val_dataloaders.micro_batch_size");
    }

    if (Node* opt = init.find("optimizer")) {
        const Node* type = opt->is_map() ? opt->find("optimizer_type") : nullptr;
        if (!type)
            throw ConversionError(fmt::format("{}: optimizer.optimizer_type is missing; the cs-2.3 layout names the "
                                              "optimizer by its type",
                                              file));
        const std::string name = Node::key_text(*type);
        opt->erase("optimizer_type");
        Node wrapped = Node::map();
        wrapped.set(name, std::move(*opt));
        *opt = std::move(wrapped);
    }
    drop_missing(trainer);

    Node out = Node::map();
    out.set("trainer", std::move(trainer));
    return out;
}

} // namespace ckpt
