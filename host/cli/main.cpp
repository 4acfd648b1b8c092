// SPDX-License-Identifier: Apache-2.0
// Entry point: picks the sub-command and maps every error to its exit code (design.md §5).
#include "commands.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/partial_outputs.hpp"

#include <ckptconv/version.h>

#include <cstring>
#include <exception>
#include <iostream>
#include <new>

namespace {

struct CommandInfo {
    const char* name;
    const char* summary;
    int (*run)(const ckpt::cli::Args&);
};

const CommandInfo kCommands[] = {
    {"list", "list the supported models and conversions", ckpt::cli::cmd_list},
    {"convert", "convert a checkpoint and its config", ckpt::cli::cmd_convert},
    {"convert-config", "convert a config file alone", ckpt::cli::cmd_convert_config},
    {"plugins", "show the plugins found, loaded and rejected", ckpt::cli::cmd_plugins},
    {"inspect", "list the tensors and values in a checkpoint", ckpt::cli::cmd_inspect},
    {"diff", "compare two checkpoints tensor by tensor", ckpt::cli::cmd_diff},
    {"repack", "write a checkpoint's tensors into another container", ckpt::cli::cmd_repack},
    {"fold-lora", "fold LoRA factors or PEFT adapters into the base weights", ckpt::cli::cmd_fold_lora},
};

void print_usage(std::ostream& out)
{
    out << "Usage: ckptconv <command> [options]\n\n"
           "Converts model checkpoints and configs between Hugging Face and Cerebras Model Zoo\n"
           "formats through model-family plugins.\n\nCommands:\n";
    for (const auto& c : kCommands)
        out << "  " << c.name << std::string(16 - std::strlen(c.name), ' ') << c.summary << "\n";
    out << "\nRun `ckptconv <command> --help` for the options of a command.\n";
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        print_usage(std::cerr);
        return static_cast<int>(ckpt::ExitCode::usage);
    }
    const std::string name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        print_usage(std::cout);
        return 0;
    }
    if (name == "--version") {
        std::cout << "ckptconv " << CKPTCONV_VERSION << " (plugin ABI " << CKPT_ABI_VERSION_MAJOR << "."
                  << CKPT_ABI_VERSION_MINOR << ")\n";
        return 0;
    }
    const CommandInfo* cmd = nullptr;
    for (const auto& c : kCommands)
        if (name == c.name)
            cmd = &c;
    if (!cmd) {
        std::cerr << "ckptconv: unknown command '" << name << "'\n\n";
        print_usage(std::cerr);
        return static_cast<int>(ckpt::ExitCode::usage);
    }
    ckpt::cli::Args args(argv + 2, argv + argc);
    ckpt::remove_partial_outputs_on_signals();
    try {
        return cmd->run(args);
    } catch (const ckpt::Error& e) {
        ckpt::log::error("{}", e.what());
        return static_cast<int>(e.code());
    } catch (const std::bad_alloc&) {
        ckpt::log::error("out of memory");
        return static_cast<int>(ckpt::ExitCode::input);
    } catch (const std::exception& e) {
        ckpt::log::error("internal error: {}", e.what());
        return static_cast<int>(ckpt::ExitCode::conversion_failed);
    }
}
