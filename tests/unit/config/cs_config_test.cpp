// SPDX-License-Identifier: Apache-2.0
// The CS model section (`model` or `trainer.init.model`) and the HF→CS output wrapper.
#include "config/cs_config.hpp"
#include "config/yaml_config.hpp"

#include "core/error.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

using ckpt::Node;
using ckpt::test::data_path;

TEST(CsConfig, LegacyLayoutUsesModel)
{
    const auto path = data_path("configs/cs-ref/gpt2/input_cs22_train/params_gpt2_tiny.yaml");
    Node c = ckpt::read_yaml_config(path);
    EXPECT_FALSE(ckpt::cs_config_has_trainer(c));
    Node* model = ckpt::cs_model_section(c, path.string());
    ASSERT_NE(model, nullptr);
    EXPECT_EQ(model, c.find("model"));
    EXPECT_EQ(model->find("hidden_size")->as_int(), 64);
}

TEST(CsConfig, TrainerLayoutUsesTrainerInitModel)
{
    const auto path = data_path("configs/cs-ref/gpt2/cs22_to_cs23_train_state/params_gpt2_tiny_to_cs-2.3.yaml");
    Node c = ckpt::read_yaml_config(path);
    EXPECT_TRUE(ckpt::cs_config_has_trainer(c));
    Node* model = ckpt::cs_model_section(c, path.string());
    ASSERT_NE(model, nullptr);
    EXPECT_EQ(model, c.find("trainer")->find("init")->find("model"));
    // Edits through the pointer land in the config.
    model->set("vocab_size", Node(int64_t(256)));
    EXPECT_EQ(c.find("trainer")->find("init")->find("model")->find("vocab_size")->as_int(), 256);
}

TEST(CsConfig, ListOfTrainersIsRefusedWithModelZooWording)
{
    const auto path = data_path("bad/config/trainer_list.yaml");
    Node c = ckpt::read_yaml_config(path);
    try {
        (void)ckpt::cs_model_section(c, path.string());
        FAIL() << "no error";
    } catch (const ckpt::InputError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
        EXPECT_NE(msg.find("Converting a config with multiple trainer configs is not supported."), std::string::npos)
            << msg;
    }
}

TEST(CsConfig, MissingOrWrongModelSection)
{
    Node c = ckpt::parse_yaml_config("runconfig: {max_steps: 1}\n", "p.yaml");
    EXPECT_THROW((void)ckpt::cs_model_section(c, "p.yaml"), ckpt::InputError);
    Node d = ckpt::parse_yaml_config("model: [1, 2]\n", "p.yaml");
    EXPECT_THROW((void)ckpt::cs_model_section(d, "p.yaml"), ckpt::InputError);
    Node e = ckpt::parse_yaml_config("trainer: {fit: {}}\n", "p.yaml");
    EXPECT_THROW((void)ckpt::cs_model_section(e, "p.yaml"), ckpt::InputError);
}

TEST(CsConfig, HfToCsWrapperMatchesModelZooOutput)
{
    // The model section of the Model Zoo's HF→CS output, wrapped again, is that output.
    const auto path = data_path("configs/cs-ref/gpt2/config_hf_to_cs/config_to_cs-2.3.yaml");
    Node ref = ckpt::read_yaml_config(path);
    Node wrapped = ckpt::make_cs_model_config(*ckpt::cs_model_section(ref, path.string()));
    EXPECT_EQ(wrapped, ref);
    EXPECT_EQ(ckpt::format_yaml_config(wrapped), ckpt::test::read_file(path));
}
