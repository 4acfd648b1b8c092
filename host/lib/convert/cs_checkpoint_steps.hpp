// SPDX-License-Identifier: Apache-2.0
// What the Model Zoo's CS checkpoint steps do outside the model's own tensors: dropping state the
// cs-1.6 steps cannot carry, the pre-2.0 scheduler fix, sparsity masks moved into the model,
// Release 1.9 dataloader state files, and "sideband" sparsity finalised (NaN -> 0) on the way to
// Hugging Face.
#pragma once

#include "core/node.hpp"
#include "core/tensor.hpp"

#include <string>
#include <vector>

namespace ckpt::convert {

/// After the model steps of a CS -> CS conversion. `root` is the output checkpoint (every input
/// section; its `model` is rebuilt from `model` by the caller), `model` the converted tensors.
/// `crosses_cs16`: a step goes to or from cs-1.6, whose BERT/T5 converters drop the non-model
/// sections (with a warning). Then, as BaseCheckpointConverter_CS_CS does on every step: when
/// `global_step` and `lr_scheduler.last_epoch` disagree, last_epoch becomes global_step (and each
/// SequentialLR sub-scheduler's becomes max(global_step - milestone, 0)); sparsity masks kept in
/// `optimizer.sparsity.state` become `<weight>_mask` model tensors, and the sparsity optimizer
/// becomes the top-level `sparsity` section (`step`, and `sparsity: {param: {index: step}}`).
void finish_cs_checkpoint(Node& root, std::vector<NamedTensor>& model, bool crosses_cs16, const std::string& file);

/// Release 1.9 dataloader state: when `config` (the source CS config) names a directory in
/// `cerebras.save_iter_state_path`, its `data_iter_checkpoint_state_file_global` (the data step)
/// and `data_iter_state_file_worker_<id>_step_<step>.txt` files (samples streamed per worker)
/// become the checkpoint's `dataloader` entry: `{samples_streamed, seed: 0}` for
/// GptHDF5MapDataProcessor, `{all_worker_states: [{samples_streamed, shard_index}...]}` for
/// GptHDF5DataProcessor (`train_input.data_processor`). A checkpoint that already has a
/// `dataloader` keeps it (with a warning). Throws InputError naming the file for anything
/// missing or unreadable.
void inject_r19_dataloader_state(Node& root, const Node& config, const std::string& config_file);

/// True when a legacy CS config has `sparsity: {type: sideband}`: its checkpoint keeps pruned
/// weights as NaN, which the Model Zoo turns into zeros when writing Hugging Face weights.
bool has_sideband_sparsity(const Node& cs_config);

/// The same tensors read with every floating-point NaN replaced by +0.0 (others unchanged).
std::vector<NamedTensor> with_nans_zeroed(const std::vector<NamedTensor>& tensors);

} // namespace ckpt::convert
