// SPDX-License-Identifier: Apache-2.0
// `ckptconv convert CKPT --model M --src-fmt F --tgt-fmt G --config C`: the Model Zoo's command,
// with multi-release paths, model folders as input, --dtype, --json, --dry-run and --force.
#include "cli_common.hpp"
#include "commands.hpp"
#include "json_output.hpp"

#include "convert/conversion.hpp"
#include "convert/dtype_cast.hpp"
#include "convert/private_formats.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/spelling_suggestion.hpp"
#include "formats/compound_folder.hpp"
#include "formats/hf_model_folder.hpp"
#include "formats/safetensors/hf_index.hpp"

#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <unistd.h>

namespace ckpt::cli {

namespace fs = std::filesystem;

namespace {

void add_format_options(po::options_description& o, convert::Request& r)
{
    o.add_options()("model", po::value<std::string>(&r.model)->required(), "model name or alias (see `ckptconv list`)")(
        "src-fmt", po::value<std::string>(&r.src_fmt)->required(), "source format: hf, cs-X.Y or cs-auto")(
        "tgt-fmt", po::value<std::string>(&r.tgt_fmt)->required(), "target format: hf, cs-X.Y or cs-current")(
        "output-dir", po::value<std::string>(), "where to write (default: beside the inputs)")(
        "debug", po::bool_switch(&r.debug), "print every key match (Matched <old> -> <new>)")(
        "dry-run", po::bool_switch(&r.dry_run), "print the plan and the output names; write nothing")(
        "force", po::bool_switch(&r.force), "replace outputs that already exist");
}

/// Checks the model and both formats before anything is read: a misspelt one is a usage error
/// with a suggestion.
void finish_common(const po::variables_map& vm, const host::Registry& registry, convert::Request& r)
{
    if (vm.count("output-dir"))
        r.output_dir = vm["output-dir"].as<std::string>();
    require_model(registry, r.model);
    const std::vector<std::string> formats = format_names(&registry);
    for (const auto& [flag, value] : {std::pair<const char*, std::string>{"--src-fmt", r.src_fmt}, {"--tgt-fmt", r.tgt_fmt}})
        if (std::find(formats.begin(), formats.end(), value) == formats.end() && !host::parse_cs_version(value))
            throw UsageError(fmt::format("{} {}: expected hf or cs-X.Y ({}){}.{}", flag, value,
                                         std::string(flag) == "--src-fmt" ? "or cs-auto" : "or cs-current",
                                         convert::private_format_names(registry), did_you_mean(value, formats)));
}

/// Sends std::cout to stderr for its lifetime (when `enabled`).
class StdoutToStderr {
public:
    explicit StdoutToStderr(bool enabled) : m_saved(enabled ? std::cout.rdbuf(std::cerr.rdbuf()) : nullptr) {}
    ~StdoutToStderr()
    {
        if (m_saved)
            std::cout.rdbuf(m_saved);
    }
    StdoutToStderr(const StdoutToStderr&) = delete;
    StdoutToStderr& operator=(const StdoutToStderr&) = delete;

private:
    std::streambuf* m_saved;
};

int conversion_failed(const ConversionError& e)
{
    log::error("{}", e.what());
    std::cerr << "\nConversion failed.\n";
    return static_cast<int>(ExitCode::conversion_failed);
}

} // namespace

int cmd_convert(const Args& args)
{
    CommonOptions common;
    convert::Request r;
    std::string checkpoint, config, shard = "10GB", dtype;
    std::vector<std::string> adapters;
    bool no_progress = false, json = false;
    Parser p("convert", "ckptconv convert CHECKPOINT --model M --src-fmt F --tgt-fmt G [--config C] [options]",
             "Converts a checkpoint and its config between formats (hf, cs-X.Y). Several release steps are "
             "chained automatically (e.g. cs-1.9 -> cs-2.4 in one command). CHECKPOINT is a checkpoint file, the "
             "*.index.json of a sharded Hugging Face checkpoint, or a Hugging Face model folder (the checkpoint "
             "is found as transformers finds it, config.json is the default --config, and the outputs are named "
             "after the folder and written beside it).");
    p.options().add_options()("checkpoint", po::value<std::string>(&checkpoint)->required(),
                              "checkpoint file or Hugging Face model folder")(
        "config", po::value<std::string>(&config),
        "config file (HF config.json or CS .yaml); default: config.json of a model folder")(
        "dtype", po::value<std::string>(&dtype), "write floating-point weights as float32, bfloat16 or float16")(
        "hf-shard-size", po::value<std::string>(&shard), "largest Hugging Face shard (default 10GB)")(
        "export-safetensors", po::bool_switch(&r.export_safetensors), "write Hugging Face shards as safetensors")(
        "drop-unmatched-keys", po::bool_switch(&r.drop_unmatched_keys), "drop checkpoint keys no rule matches")(
        "no-progress-bar", po::bool_switch(&no_progress), "no progress bar")(
        "lora-adapter", po::value<std::vector<std::string>>(&adapters),
        "merge this PEFT LoRA adapter directory into the hf source first (repeatable)")(
        "json", po::bool_switch(&json), "print the result as one JSON object instead of the \"saved to\" lines");
    add_format_options(p.options(), r);
    p.positional("checkpoint", "CHECKPOINT");
    p.add_common(common);
    po::variables_map vm;
    if (!p.parse(args, vm))
        return 0;
    r.dtype = parse_dtype_option(dtype);
    r.checkpoint = checkpoint;
    std::error_code ec;
    std::optional<ModelFolder> folder;
    if (fs::is_directory(r.checkpoint, ec)) {
        // Outputs go beside the folder, named after it: never into the input folder.
        fs::path dir = fs::absolute(r.checkpoint).lexically_normal();
        if (!dir.has_filename())
            dir = dir.parent_path();
        r.checkpoint = dir;
        r.output_dir = dir.parent_path(); // --output-dir, read below, still wins
        if (compound_parts(dir).empty()) {
            folder = find_model_folder(dir);
            r.output_stem = dir.filename().string();
        }
    }
    if (!config.empty())
        r.config = config;
    else if (!compound_parts(r.checkpoint).empty())
        r.config = r.checkpoint; // a compound folder holds its parts' configs
    else if (folder && folder->config)
        r.config = *folder->config;
    else
        throw UsageError(fmt::format(
            "ckptconv convert: --config is missing: give the config file (HF config.json or CS .yaml){}\nUsage: "
            "ckptconv convert CHECKPOINT --model M --src-fmt F --tgt-fmt G [--config C] [options]",
            folder ? fmt::format("; {} has no config.json", folder->dir.string()) : std::string()));
    r.hf_shard_size = parse_size(shard);
    r.lora_adapters.assign(adapters.begin(), adapters.end());
    r.progress = !no_progress && !json && isatty(STDERR_FILENO);
    if (r.debug)
        log::set_level(std::min(log::level(), log::Level::info));
    Session s = load_session(common);
    finish_common(vm, s.registry, r);
    const log::WarningCapture warnings(json);
    const auto start = std::chrono::steady_clock::now();
    convert::Result res;
    {
        // With --json, stdout carries the JSON object alone: what the conversion prints there
        // (the --dry-run plan) goes to stderr.
        const StdoutToStderr redirect(json);
        try {
            res = convert::convert_checkpoint(s.registry, s.records, r);
        } catch (const ConversionError& e) {
            return conversion_failed(e);
        }
    }
    if (json) {
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        JsonOutput out;
        out.begin_object();
        out.member("command", "convert");
        out.member("model", s.registry.spelling(r.model));
        out.key("inputs");
        out.begin_object();
        out.member("checkpoint", r.checkpoint.string());
        if (folder)
            out.member("checkpoint_file", folder->checkpoint.string());
        out.member("config", r.config.string());
        out.end_object();
        out.member("src_fmt", r.src_fmt);
        out.member("tgt_fmt", r.tgt_fmt);
        out.member("conversion_path", res.path);
        out.key("dtype");
        r.dtype ? out.string(*convert::torch_dtype_name(*r.dtype)) : out.null();
        out.member("dry_run", r.dry_run);
        out.key("outputs");
        out.begin_array();
        if (!r.dry_run) {
            out.output("checkpoint", res.checkpoint, res.tensors);
            out.output("config", res.config);
        }
        out.end_array();
        if (r.dry_run)
            out.member("would_write", std::vector<std::string>{res.checkpoint.string(), res.config.string()});
        out.member("warnings", warnings.warnings());
        out.member("seconds", seconds);
        out.end_object();
        out.print(std::cout);
    } else if (!r.dry_run) {
        std::cout << fmt::format("Checkpoint saved to {}\n", res.checkpoint.string());
        std::cout << fmt::format("Config saved to {}\n", res.config.string());
    }
    return 0;
}

int cmd_convert_config(const Args& args)
{
    CommonOptions common;
    convert::Request r;
    std::string config;
    Parser p("convert-config", "ckptconv convert-config CONFIG --model M --src-fmt F --tgt-fmt G [--output-dir D] [--debug]",
             "Converts a config file alone (HF config.json <-> CS .yaml, or between CS releases).");
    p.options().add_options()("config", po::value<std::string>(&config)->required(), "config file");
    add_format_options(p.options(), r);
    p.positional("config", "CONFIG");
    p.add_common(common);
    po::variables_map vm;
    if (!p.parse(args, vm))
        return 0;
    r.config = config;
    if (r.debug)
        log::set_level(std::min(log::level(), log::Level::info));
    Session s = load_session(common);
    finish_common(vm, s.registry, r);
    try {
        convert::Result res = convert::convert_config_file(s.registry, r);
        if (r.dry_run)
            std::cout << fmt::format("Would write {}\n", res.config.string());
        else
            std::cout << fmt::format("Config saved to {}\n", res.config.string());
    } catch (const ConversionError& e) {
        return conversion_failed(e);
    }
    return 0;
}

} // namespace ckpt::cli
