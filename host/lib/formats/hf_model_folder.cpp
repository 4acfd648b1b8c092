// SPDX-License-Identifier: Apache-2.0
// A Hugging Face model folder given where a checkpoint file is expected: its checkpoint and config.
#include "formats/hf_model_folder.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

namespace ckpt {

namespace fs = std::filesystem;

namespace {

// transformers.modeling_utils checks these in this order for a local folder (safetensors before
// PyTorch, and within each the single file before the sharded index).
const char* const kStandardNames[] = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                      "pytorch_model.bin.index.json"};

bool is_file(const fs::path& p)
{
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

/// A file that could be a checkpoint when the folder has no standard name.
bool is_candidate(const std::string& name)
{
    static const std::regex checkpoint(R"(.*\.(safetensors|bin|pt|pth|mdl|index\.json)$)");
    // Shards belong to their index; the rest are what transformers' Trainer saves beside a model.
    static const std::regex not_a_model(
        R"(.*-[0-9]+-of-[0-9]+\.(safetensors|bin)|training_args\.bin|optimizer\.pt|scheduler\.pt|scaler\.pt|rng_state.*\.pth)");
    return std::regex_match(name, checkpoint) && !std::regex_match(name, not_a_model);
}

} // namespace

ModelFolder find_model_folder(const fs::path& dir)
{
    ModelFolder f;
    f.dir = dir;
    if (is_file(dir / "config.json"))
        f.config = dir / "config.json";
    for (const char* name : kStandardNames) {
        if (!is_file(dir / name))
            continue;
        if (f.checkpoint.empty())
            f.checkpoint = dir / name;
        else
            f.ignored.push_back(name);
    }
    if (!f.checkpoint.empty())
        return f;

    std::vector<std::string> candidates;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (is_file(it->path()) && is_candidate(it->path().filename().string()))
            candidates.push_back(it->path().filename().string());
    if (ec)
        throw_input("{}: cannot list the folder: {}", dir.string(), ec.message());
    std::sort(candidates.begin(), candidates.end());
    if (candidates.size() == 1) {
        f.checkpoint = dir / candidates.front();
        return f;
    }
    if (candidates.empty())
        throw_input("{}: the folder holds no checkpoint (looked for {}, and for any *.safetensors, *.bin, *.pt, "
                    "*.pth, *.mdl or *.index.json)",
                    dir.string(), fmt::join(kStandardNames, ", "));
    throw_input("{}: the folder holds several checkpoints and none has a standard name ({}); found {}. Give the "
                "one to use as the path",
                dir.string(), fmt::join(kStandardNames, ", "), fmt::join(candidates, ", "));
}

} // namespace ckpt
