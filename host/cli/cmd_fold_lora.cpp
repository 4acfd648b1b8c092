// SPDX-License-Identifier: Apache-2.0
// `ckptconv fold-lora --model M -p CONFIG --checkpoint_path CKPT`: the Model Zoo's LoRA fold tool, and
// PEFT adapters merged into a Hugging Face checkpoint with --lora-adapter.
#include "cli_common.hpp"
#include "commands.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "lora/fold_lora.hpp"

#include <fmt/format.h>

#include <iostream>
#include <unistd.h>

namespace ckpt::cli {

int cmd_fold_lora(const Args& args)
{
    CommonOptions common;
    lora::FoldRequest r;
    std::string checkpoint, config, output_dir;
    std::vector<std::string> adapters;
    bool no_progress = false;
    Parser p("fold-lora", "ckptconv fold-lora --model M -p CONFIG --checkpoint_path CKPT [--lora-adapter DIR ...] [options]",
             "Folds LoRA factors into the base weights. A Cerebras checkpoint with *.lora_A/*.lora_B tensors and "
             "model.lora_params in its config becomes <ckpt>_folded.mdl and <config>_folded.yaml. With "
             "--lora-adapter (repeatable), a Hugging Face checkpoint and its config.json get the PEFT adapters "
             "merged into the directory <ckpt>_folded.");
    p.options().add_options()("model", po::value<std::string>(&r.model), "model name (see `ckptconv list`)")(
        "params,p", po::value<std::string>(&config)->required(), "config: CS .yaml with lora_params, or HF config.json")(
        "checkpoint_path", po::value<std::string>(&checkpoint)->required(), "checkpoint file")(
        "lora-adapter", po::value<std::vector<std::string>>(&adapters), "PEFT adapter directory (repeatable)")(
        "output-dir", po::value<std::string>(&output_dir), "where to write (default: beside the inputs)")(
        "dry-run", po::bool_switch(&r.dry_run), "print the plan and the output names; write nothing")(
        "force", po::bool_switch(&r.force), "replace outputs that already exist")(
        "no-progress-bar", po::bool_switch(&no_progress), "no progress bar");
    p.positional("checkpoint_path", "CKPT");
    p.add_common(common);
    po::variables_map vm;
    if (!p.parse(args, vm))
        return 0;
    if (adapters.empty() && r.model.empty())
        throw UsageError("fold-lora: --model is required for a Cerebras checkpoint (the module classes that "
                         "lora_params.target_modules name depend on it)");
    r.checkpoint = checkpoint;
    r.config = config;
    for (const auto& a : adapters)
        r.adapters.emplace_back(a);
    if (!output_dir.empty())
        r.output_dir = output_dir;
    r.progress = !no_progress && isatty(STDERR_FILENO);
    Session s = load_session(common);
    try {
        lora::FoldResult res = lora::fold_lora(s.registry, s.records, r);
        if (!r.dry_run) {
            if (r.adapters.empty()) {
                std::cout << fmt::format("Saved folded config to: {}\n", res.config.string());
                std::cout << fmt::format("Saved folded checkpoint to: {}\n", res.checkpoint.string());
            } else {
                std::cout << fmt::format("Checkpoint saved to {}\n", res.checkpoint.string());
                std::cout << fmt::format("Config saved to {}\n", res.config.string());
            }
        }
    } catch (const ConversionError& e) {
        log::error("{}", e.what());
        std::cerr << "\nFolding failed.\n";
        return static_cast<int>(ExitCode::conversion_failed);
    }
    return 0;
}

} // namespace ckpt::cli
