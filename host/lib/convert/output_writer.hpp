// SPDX-License-Identifier: Apache-2.0
// The validate, write and commit phases of a conversion: outputs checked against the inputs,
// written under temporary names by one writer per target kind, then moved into place together.
#pragma once

#include "convert/conversion_plan.hpp"
#include "convert/output_names.hpp"
#include "core/atomic_output.hpp"

#include <memory>
#include <vector>

namespace ckpt::convert {

/// Outputs written under temporary names; destroyed uncommitted, they remove what was written.
class StagedOutputs {
public:
    /// Every output added refuses, at commit, to replace any of `inputs`.
    explicit StagedOutputs(std::vector<std::filesystem::path> inputs) : m_inputs(std::move(inputs)) {}
    /// A new output for `target` (see AtomicOutput); stays valid while this object lives.
    AtomicOutput& add(const std::filesystem::path& target, AtomicOutput::Type type, bool overwrite);
    /// Moves every output into place, in the order they were added.
    void commit();

private:
    std::vector<std::filesystem::path> m_inputs;
    std::vector<std::unique_ptr<AtomicOutput>> m_outputs;
};

/// Creates directory `d` and its parents; InputError naming it when that fails.
void ensure_dir(const std::filesystem::path& d);
/// Throws InputError when `out` exists and is one of `inputs` (the same file by another name too).
void refuse_input_overwrite(const std::filesystem::path& out, const std::vector<std::filesystem::path>& inputs);
/// A flat state dict (map of name -> tensor) in the order given.
Node tensors_to_map(const std::vector<NamedTensor>& tensors);

/// Creates the output folders and refuses outputs that would replace an input file.
void prepare_outputs(const ConversionPlan& plan, const OutputNames& names, const Request& r);

/// Writes `tensors` (the plan's, possibly wrapped) and the config as the target kind asks: a
/// Hugging Face folder of shards, or a Cerebras `.mdl` and its YAML config.
StagedOutputs write_outputs(const ConversionPlan& plan, const std::vector<NamedTensor>& tensors,
                            const OutputNames& names, const Request& r);

/// `convert-config`'s one output.
void write_config_output(const Node& config, const std::filesystem::path& out, const std::string& tgt,
                         const Request& r);

} // namespace ckpt::convert
