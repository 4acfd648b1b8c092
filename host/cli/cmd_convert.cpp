// SPDX-License-Identifier: Apache-2.0
// `ckptconv convert CKPT --model M --src-fmt F --tgt-fmt G --config C`: the Model Zoo's command,
// with multi-release paths, --dry-run and --force.
#include "cli_common.hpp"
#include "commands.hpp"

#include "convert/conversion.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "formats/safetensors/hf_index.hpp"

#include <fmt/format.h>

#include <iostream>
#include <unistd.h>

namespace ckpt::cli {

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

void finish_common(const po::variables_map& vm, convert::Request& r)
{
    if (vm.count("output-dir"))
        r.output_dir = vm["output-dir"].as<std::string>();
}

} // namespace

int cmd_convert(const Args& args)
{
    CommonOptions common;
    convert::Request r;
    std::string checkpoint, config, shard = "10GB";
    std::vector<std::string> adapters;
    bool no_progress = false;
    Parser p("ckptconv convert CHECKPOINT --model M --src-fmt F --tgt-fmt G --config C [options]",
             "Converts a checkpoint and its config between formats (hf, cs-X.Y). Several release steps are "
             "chained automatically (e.g. cs-1.9 -> cs-2.4 in one command). For a sharded Hugging Face "
             "checkpoint give its *.index.json.");
    p.options().add_options()("checkpoint", po::value<std::string>(&checkpoint)->required(), "checkpoint file")(
        "config", po::value<std::string>(&config)->required(), "config file (HF config.json or CS .yaml)")(
        "hf-shard-size", po::value<std::string>(&shard), "largest Hugging Face shard (default 10GB)")(
        "export-safetensors", po::bool_switch(&r.export_safetensors), "write Hugging Face shards as safetensors")(
        "drop-unmatched-keys", po::bool_switch(&r.drop_unmatched_keys), "drop checkpoint keys no rule matches")(
        "no-progress-bar", po::bool_switch(&no_progress), "no progress bar")(
        "lora-adapter", po::value<std::vector<std::string>>(&adapters),
        "merge this PEFT LoRA adapter directory into the hf source first (repeatable)");
    add_format_options(p.options(), r);
    p.positional().add("checkpoint", 1);
    p.add_common(common);
    po::variables_map vm;
    if (!p.parse(args, vm))
        return 0;
    finish_common(vm, r);
    r.checkpoint = checkpoint;
    r.config = config;
    r.hf_shard_size = parse_size(shard);
    r.lora_adapters.assign(adapters.begin(), adapters.end());
    r.progress = !no_progress && isatty(STDERR_FILENO);
    if (r.debug)
        log::set_level(std::min(log::level(), log::Level::info));
    Session s = load_session(common);
    try {
        convert::Result res = convert::convert_checkpoint(s.registry, s.records, r);
        if (!r.dry_run) {
            std::cout << fmt::format("Checkpoint saved to {}\n", res.checkpoint.string());
            std::cout << fmt::format("Config saved to {}\n", res.config.string());
        }
    } catch (const ConversionError& e) {
        log::error("{}", e.what());
        std::cerr << "\nConversion failed.\n";
        return static_cast<int>(ExitCode::conversion_failed);
    }
    return 0;
}

int cmd_convert_config(const Args& args)
{
    CommonOptions common;
    convert::Request r;
    std::string config;
    Parser p("ckptconv convert-config CONFIG --model M --src-fmt F --tgt-fmt G [--output-dir D] [--debug]",
             "Converts a config file alone (HF config.json <-> CS .yaml, or between CS releases).");
    p.options().add_options()("config", po::value<std::string>(&config)->required(), "config file");
    add_format_options(p.options(), r);
    p.positional().add("config", 1);
    p.add_common(common);
    po::variables_map vm;
    if (!p.parse(args, vm))
        return 0;
    finish_common(vm, r);
    r.config = config;
    if (r.debug)
        log::set_level(std::min(log::level(), log::Level::info));
    Session s = load_session(common);
    try {
        convert::Result res = convert::convert_config_file(s.registry, r);
        if (r.dry_run)
            std::cout << fmt::format("Would write {}\n", res.config.string());
        else
            std::cout << fmt::format("Config saved to {}\n", res.config.string());
    } catch (const ConversionError& e) {
        log::error("{}", e.what());
        std::cerr << "\nConversion failed.\n";
        return static_cast<int>(ExitCode::conversion_failed);
    }
    return 0;
}

} // namespace ckpt::cli
