// SPDX-License-Identifier: Apache-2.0
// The whole-config part of the Cerebras release steps: the trainer layout against the Model Zoo's
// own outputs, and each release's runconfig, sparsity, optimizer, precision, name and muP rules.
#include "config/cs_release_config.hpp"
#include "config/trainer_layout.hpp"
#include "config/yaml_config.hpp"

#include "core/error.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace ckpt::test {
namespace {

Node yaml(const std::string& text) { return parse_yaml_config(text, "test.yaml"); }

std::string text(const Node& n) { return format_yaml_config(n); }

Node finish(const std::string& config, const char* src, const char* tgt, const std::string& name = "gpt2")
{
    return finish_cs_release_step(yaml(config), src, tgt, name, "test.yaml");
}

// ---- the trainer layout, against real Model Zoo output ------------------------------------------

TEST(TrainerLayout, TrainingConfigMatchesModelZooReference)
{
    // Release 2.3.0's convert_checkpoint.py, cs-2.2 -> cs-2.3 of a whole training config.
    const Node in = read_yaml_config(data_path("configs/cs-ref/gpt2/input_cs22_train/params_gpt2_tiny.yaml"));
    const Node out = legacy_to_trainer_config(in, "params_gpt2_tiny.yaml");
    EXPECT_EQ(text(out),
              read_file(data_path("configs/cs-ref/gpt2/cs22_to_cs23_train_state/params_gpt2_tiny_to_cs-2.3.yaml")));
}

TEST(TrainerLayout, ModelOnlyConfigMatchesModelZooReference)
{
    const Node in = read_yaml_config(data_path("cs-ref/gpt2/hf_to_cs/config_to_cs-2.3.yaml"));
    const Node out = finish_cs_release_step(in, "cs-2.2", "cs-2.3", "gpt2", "config_to_cs-2.3.yaml");
    EXPECT_EQ(text(out), read_file(data_path("configs/cs-ref/gpt2/cs22_to_cs23/config_to_cs-2.2_to_cs-2.3.yaml")));
}

TEST(TrainerLayout, ShippedBertConfigMatchesItsTrainerVersion)
{
    // The Model Zoo shipped this config in the legacy layout (2.3) and in the trainer layout
    // (2.9). Its 2.9 file was edited by hand afterwards; undo exactly those edits (README.md).
    const Node legacy = read_yaml_config(data_path("configs/modelzoo/bert_base_MSL128_release-2.3.yaml"));
    Node expected = read_yaml_config(data_path("configs/modelzoo/bert_base_MSL128_release-2.9.yaml"));
    Node& trainer = *expected.find("trainer");
    Node& init = *trainer.find("init");
    init.erase("backend");
    init.find("model")->erase("name");
    init.find("model")->set("mixed_precision", Node(true));
    init.find("model")->set("fp16_type", Node("cbfloat16"));
    const Node& train_vocab = *legacy.find("train_input")->find("vocab_file");
    const Node& eval_vocab = *legacy.find("eval_input")->find("vocab_file");
    trainer.find("fit")->find("train_dataloader")->set("vocab_file", train_vocab);
    // One YAML anchor in the 2.9 file: the same evaluation dataloader in three places.
    trainer.find("fit")->find("val_dataloader")->set("vocab_file", eval_vocab);
    trainer.find("validate")->find("val_dataloader")->set("vocab_file", eval_vocab);
    trainer.find("validate_all")->find("val_dataloaders")->set("vocab_file", eval_vocab);

    const Node out = finish_cs_release_step(legacy, "cs-2.2", "cs-2.3", "bert", "bert_base_MSL128.yaml");
    EXPECT_EQ(text(out), text(expected));
}

TEST(TrainerLayout, RunconfigCallbacksLoggersAndValidation)
{
    const Node out = legacy_to_trainer_config(yaml(R"(
train_input: {batch_size: 8, micro_batch_size: 2}
eval_input: {batch_size: 4}
model: {hidden_size: 64, lora_params: {r: 4}}
optimizer:
  optimizer_type: SGD
  momentum: 0.9
  learning_rate: 0.1
  adjust_learning_rate: {decoder_kernel: 0.5}
  log_summaries: true
sparsity: {sparsity: 0.5, add_summaries: true, init_method: random}
runconfig:
  mode: train
  target_device: CSX
  num_csx: 2
  mount_dirs: [/a, /b]
  checkpoint_path: ckpt.mdl
  log_input_summaries: true
  check_loss_values: false
  experimental:
    listeners: [{listener_type: SummaryTensorListener, summaries: [x]}]
  some_unknown_key: 1
wandb: {project: p}
)"),
                                              "t.yaml");
    EXPECT_EQ(text(out), R"(trainer:
    fit:
        ckpt_path: ckpt.mdl
        train_dataloader:
            batch_size: 8
        val_dataloader:
            batch_size: 4
    init:
        backend:
            backend_type: CSX
            cluster_config:
                mount_dirs:
                - /a
                - /b
                num_csx: 2
        callbacks:
        -   ScopedTrainFlags:
                csx.performance.micro_batch_size: 2
        -   Lora:
                lora_params:
                    r: 4
        -   LogInputSummaries: {}
        -   CheckLoss: null
        -   ComputeNorm: {}
        -   LogSparsity: {}
        -   SummaryTensorListener:
                summaries:
                - x
        loggers:
        -   WandbLogger:
                project: p
        model:
            hidden_size: 64
        optimizer:
            SGD:
                adjust_learning_rate:
                    decoder_kernel: 0.5
                learning_rate: 0.1
                momentum: 0.9
        precision:
            log_loss_scale: true
        schedulers:
        -   ScalePerParamLR:
                scheduler:
                    ConstantLR:
                        learning_rate: 0.1
        sparsity:
            init_method: random
            sparsity: 0.5
    validate:
        ckpt_path: ckpt.mdl
        val_dataloader:
            batch_size: 4
    validate_all:
        ckpt_paths: ckpt.mdl
        val_dataloaders:
            batch_size: 4
)");
}

TEST(TrainerLayout, SchedulerListsAndErrors)
{
    Node out = legacy_to_trainer_config(yaml(R"(
optimizer:
  optimizer_type: adam
  learning_rate:
  - {scheduler: linear, main_scheduler: chained, total_iters: 5}
  - {scheduler: CosineDecay, main_scheduler: chained, total_iters: 7}
)"),
                                        "t.yaml");
    EXPECT_EQ(text(*out.find("trainer")->find("init")->find("schedulers")), R"(-   ChainedScheduler:
        schedulers:
        -   LinearLR:
                total_iters: 5
        -   CosineDecayLR:
                total_iters: 7
)");
    EXPECT_THROW(legacy_to_trainer_config(yaml("optimizer: {optimizer_type: adam, learning_rate: [{scheduler: linear, "
                                               "main_scheduler: a}, {scheduler: linear, main_scheduler: b}]}"),
                                          "t.yaml"),
                 ConversionError);
    EXPECT_THROW(legacy_to_trainer_config(yaml("optimizer: {optimizer_type: adam, learning_rate: {scheduler: nope}}"),
                                          "t.yaml"),
                 ConversionError);
    EXPECT_THROW(legacy_to_trainer_config(yaml("optimizer: {learning_rate: 0.1}"), "t.yaml"), ConversionError);
    EXPECT_THROW(legacy_to_trainer_config(yaml("runconfig: {experimental: {listeners: [{a: 1}]}}"), "t.yaml"),
                 ConversionError);
    // Already in the trainer layout: unchanged.
    const Node trainer = yaml("trainer: {init: {model: {a: 1}}}");
    EXPECT_EQ(legacy_to_trainer_config(trainer, "t.yaml"), trainer);
}

TEST(TrainerLayout, SharedEvaluationDataloaderIsPrunedEverywhere)
{
    const Node out = legacy_to_trainer_config(
        yaml("train_input: {batch_size: 1}\neval_input: {batch_size: 2, micro_batch_size: 4}\n"
             "runconfig: {checkpoint_path: c.mdl}\n"),
        "t.yaml");
    const Node& t = *out.find("trainer");
    for (const Node* dl : {t.find("fit")->find("val_dataloader"), t.find("validate")->find("val_dataloader"),
                           t.find("validate_all")->find("val_dataloaders")}) {
        ASSERT_NE(dl, nullptr);
        EXPECT_EQ(text(*dl), "batch_size: 2\n");
    }
    EXPECT_EQ(text(*t.find("init")->find("callbacks")), "-   ScopedValidateFlags:\n        csx.performance.micro_batch_size: 4\n");
}

// ---- release rules ----------------------------------------------------------------------------------

TEST(CsReleaseConfig, RunconfigCleanupFrom20)
{
    const Node out = finish(R"(
cerebras: {save_iter_state_path: x}
csconfig: {a: 1}
model: {hidden_size: 8}
runconfig: {num_wgt_servers: 2, multireplica: true, is_pretrained_checkpoint: true, keep_checkpoint_max: 3, seed: 1}
)",
                            "cs-1.9", "cs-2.0");
    EXPECT_EQ(text(out), R"(model:
    hidden_size: 8
runconfig:
    load_checkpoint_states:
    - model
    - dataloader
    max_checkpoints: 3
    seed: 1
)");
}

TEST(CsReleaseConfig, Cs20To21RenamesOptimizerSchedulerPrecision)
{
    const Node out = finish(R"(
model: {hidden_size: 8, precision_opt_level: 1, use_bfloat16: true}
optimizer:
  optimizer_type: AdamW
  beta1: 0.9
  beta2: 0.95
  eps: 1.0e-8
  weight_decay_rate: 0.1
  learning_rate:
  - {scheduler: Linear, learning_rate: 0.1, steps: 10}
  - {scheduler: Step, learning_rate: 0.1, step_size: 3}
  - {scheduler: CosineAnnealing, learning_rate: 0.1, t_max: 9}
runconfig: {max_steps: 4}
)",
                            "cs-2.0", "cs-2.1");
    EXPECT_EQ(text(out), R"(model:
    fp16_type: bfloat16
    hidden_size: 8
optimizer:
    betas:
    - 0.9
    - 0.95
    eps: 1.0e-08
    learning_rate:
    -   initial_learning_rate: 0.1
        scheduler: Linear
        total_iters: 10
    -   initial_learning_rate: 0.1
        scheduler: Step
        step_size: 3
    -   T_max: 9
        initial_learning_rate: 0.1
        scheduler: CosineAnnealing
    optimizer_type: AdamW
    weight_decay: 0.1
runconfig:
    max_steps: 4
    precision_opt_level: 1
)");
    // Without a runconfig the precision level stays where it is.
    EXPECT_TRUE(finish("model: {precision_opt_level: 1}", "cs-2.0", "cs-2.1").find("model")->find("precision_opt_level"));
}

TEST(CsReleaseConfig, Cs21To22GradAccumAndSparsity)
{
    Node out = finish(R"(
model: {hidden_size: 8}
train_input: {batch_size: 8}
runconfig: {use_cs_grad_accum: true, autogen_policy: medium}
sparsity:
  type: gmp
  sparsity_schedule: [[0, 0.1], [10, 0.5]]
  param_name_patterns: ".*dense.*"
)",
                      "cs-2.1", "cs-2.2");
    EXPECT_EQ(text(out), R"(eval_input:
    micro_batch_size: auto
model:
    hidden_size: 8
runconfig: {}
sparsity:
    algorithm: gmp
    param_filter: '*dense*'
    schedule:
    - 0.1
    - 0.5
    update:
        steps:
        - 0
        - 10
train_input:
    batch_size: 8
    micro_batch_size: auto
)");
    out = finish("model: {}\nrunconfig: {use_cs_grad_accum: false}\nsparsity: {type: static, sparsity: 0.3}",
                 "cs-2.1", "cs-2.2");
    EXPECT_TRUE(out.find("train_input")->find("micro_batch_size")->is_null());
    EXPECT_DOUBLE_EQ(out.find("sparsity")->as_float(), 0.3);
    out = finish("model: {}\nsparsity: {algorithm: set, schedule: 5, sparsity: 0.5, param_name_patterns: "
                 "{'.*a': {sparsity: 0.1}, 'b.*': {}}}",
                 "cs-2.1", "cs-2.2");
    EXPECT_EQ(text(*out.find("sparsity")), R"(-   algorithm: set
    param_filter: '*a'
    sparsity: 0.1
    update:
        freq: 5
-   algorithm: set
    param_filter: b*
    sparsity: 0.5
    update:
        freq: 5
)");
    EXPECT_THROW(finish("model: {}\nrunconfig: {use_cs_grad_accum: 1}", "cs-2.1", "cs-2.2"), ConversionError);
}

TEST(CsReleaseConfig, Cs23To24AddsRegistryName)
{
    Node out = finish("trainer: {init: {model: {hidden_size: 8}}}", "cs-2.3", "cs-2.4", "bert/classifier");
    EXPECT_EQ(out.find("trainer")->find("init")->find("model")->find("name")->as_string(), "bert/classifier");
    out = finish("trainer: {init: {model: {name: mine}}}", "cs-2.3", "cs-2.4");
    EXPECT_EQ(out.find("trainer")->find("init")->find("model")->find("name")->as_string(), "mine");
    // Later releases change nothing else.
    EXPECT_EQ(text(finish("trainer: {init: {model: {a: 1}}}", "cs-2.4", "cs-2.5")), "trainer:\n    init:\n        model:\n            a: 1\n");
}

TEST(CsReleaseConfig, MultiReleaseUpgradeEqualsStepByStep)
{
    const std::string legacy = R"(
model: {hidden_size: 8, use_bfloat16: false}
optimizer: {optimizer_type: adamw, beta1: 0.9, beta2: 0.99, learning_rate: 0.01}
runconfig: {max_steps: 4, use_cs_grad_accum: true, save_losses: true}
)";
    Node stepwise = yaml(legacy);
    const char* chain[] = {"cs-1.9", "cs-2.0", "cs-2.1", "cs-2.2", "cs-2.3", "cs-2.4"};
    for (int i = 0; i + 1 < 6; ++i)
        stepwise = finish_cs_release_step(stepwise, chain[i], chain[i + 1], "gpt2", "t.yaml");
    const Node once = finish(legacy, "cs-1.9", "cs-2.4");
    EXPECT_EQ(text(once), text(stepwise));
    EXPECT_EQ(once.find("trainer")->find("init")->find("model")->find("name")->as_string(), "gpt2");
    EXPECT_TRUE(once.find("trainer")->find("init")->find("optimizer")->find("adamw")->find("betas"));
}

// ---- muP: cs-2.2 keys -> cs-2.3 keys ------------------------------------------------------------------

TEST(CsReleaseConfig, Cs22MupUpgrade)
{
    Node config = yaml(R"(
model:
  hidden_size: 256
  filter_size: 1024
  num_hidden_layers: 8
  output_logits_scale: 0.5
  embeddings_scale: 10.0
  scale_qk_dot_by_d: true
  initializer: {name: truncated_normal, std: 0.02, a: -0.04, b: 0.04}
  output_layer_initializer: {name: normal, std: 0.01}
  embedding_initializer: {name: normal, std: 0.02}
optimizer: {optimizer_type: adamw, adjust_learning_rate: {decoder_kernel: 0.25}}
)");
    Node model = *config.find("model");
    ASSERT_TRUE(upgrade_cs22_mup_config(config, model, "cs-2.2", "cs-2.3", "t.yaml")); // width 4
    EXPECT_EQ(model.find("output_logits_scale"), nullptr);
    EXPECT_DOUBLE_EQ(model.find("output_logits_alpha")->as_float(), 2.0);
    EXPECT_DOUBLE_EQ(model.find("mup_base_hidden_size")->as_float(), 64.0);
    EXPECT_DOUBLE_EQ(model.find("mup_base_filter_size")->as_float(), 256.0);
    EXPECT_DOUBLE_EQ(model.find("initializer")->find("std")->as_float(), 0.04);
    EXPECT_DOUBLE_EQ(model.find("initializer")->find("a")->as_float(), -0.08);
    EXPECT_DOUBLE_EQ(model.find("initializer")->find("b")->as_float(), 0.08);
    EXPECT_DOUBLE_EQ(model.find("output_layer_initializer")->find("std")->as_float(), 0.01 * 2.0 * 4.0);
    EXPECT_DOUBLE_EQ(model.find("embedding_initializer")->find("std")->as_float(), 0.02);
    EXPECT_TRUE(model.find("embeddings_scale"));
    EXPECT_EQ(config.find("optimizer")->find("adjust_learning_rate"), nullptr);

    // Not muP, not crossing cs-2.3, or incomplete/without the multiplier.
    Node plain = yaml("model: {hidden_size: 8}");
    Node plain_model = *plain.find("model");
    EXPECT_FALSE(upgrade_cs22_mup_config(plain, plain_model, "cs-2.2", "cs-2.3", "t.yaml"));
    Node again = yaml("model: {output_logits_scale: 0.5, embeddings_scale: 1.0, scale_qk_dot_by_d: true}");
    Node again_model = *again.find("model");
    EXPECT_FALSE(upgrade_cs22_mup_config(again, again_model, "cs-2.3", "cs-2.4", "t.yaml"));
    EXPECT_THROW(upgrade_cs22_mup_config(again, again_model, "cs-2.2", "cs-2.3", "t.yaml"), ConversionError);
    Node partial = yaml("model: {output_logits_scale: 0.5}");
    Node partial_model = *partial.find("model");
    EXPECT_THROW(upgrade_cs22_mup_config(partial, partial_model, "cs-2.2", "cs-2.3", "t.yaml"), ConversionError);
}

} // namespace
} // namespace ckpt::test
