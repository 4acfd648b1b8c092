// SPDX-License-Identifier: Apache-2.0
// Release-gated config keys (docs/config-keys-by-release.md), one row per gated key and target:
// a config for the release before the key leaves out the value that release implies or refuses
// any other naming the release that can express it; the release that has the key writes it.
#include "checkpoint_support.hpp"

#include <gtest/gtest.h>

#include <ostream>

namespace ckpt::test {
namespace {

enum class Expect { written, absent, refused };

struct GateRow {
    const char* name;
    const char* model;
    const char* src;
    const char* tgt;
    const char* base;   // the source config it starts from, under tests/data
    const char* key;    // the key set in the source config ("" to convert the base as it is)
    const char* value;  // its value (JSON for hf sources, YAML otherwise)
    Expect expect;
    const char* want;   // written: a line of the output; absent: the key; refused: a part of the message
};

void PrintTo(const GateRow& row, std::ostream* os) { *os << row.name; }

constexpr const char* kLinear = R"({"type": "linear", "factor": 2.0})";
constexpr const char* kLlama3 = R"({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, )"
                                R"("high_freq_factor": 4.0, "original_max_position_embeddings": 8192})";
constexpr const char* kYarn = R"({"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32})";
constexpr const char* kCs21 = "cs-ref/llama/hf_to_cs21/config_to_cs-2.1.yaml";

const GateRow kRows[] = {
    // pos_scaling_type: Release_2.4.0; before it only linear scaling, as pos_scaling_factor.
    {"llama_linear_cs23_factor", "llama", "hf", "cs-2.3", "hf/llama/bin/config.json", "rope_scaling", kLinear,
     Expect::written, "    pos_scaling_factor: 2.0\n"},
    {"llama_linear_cs23_no_type", "llama", "hf", "cs-2.3", "hf/llama/bin/config.json", "rope_scaling", kLinear,
     Expect::absent, "pos_scaling_type"},
    {"llama_linear_cs24", "llama", "hf", "cs-2.4", "hf/llama/bin/config.json", "rope_scaling", kLinear,
     Expect::written, "    pos_scaling_type: linear\n"},
    {"llama_llama3_cs23", "llama", "hf", "cs-2.3", "hf/llama/bin/config.json", "rope_scaling", kLlama3,
     Expect::refused, "pos_scaling_type=llama3 to cs-2.3: the Model Zoo knows pos_scaling_type from cs-2.4 (Release_2.4.0)"},
    {"llama_llama3_cs21", "llama", "hf", "cs-2.1", "hf/llama/bin/config.json", "rope_scaling", kLlama3,
     Expect::refused, "Convert to cs-2.4 or later instead."},
    {"llama_llama3_cs24", "llama", "hf", "cs-2.4", "hf/llama/bin/config.json", "rope_scaling", kLlama3,
     Expect::written, "    pos_scaling_type: llama3\n"},
    // pos_scaling_extra_args: Release_2.4.0 (only the types 2.3 cannot express write it).
    {"mistral_yarn_cs22", "mistral", "hf", "cs-2.2", "hf/mistral/bin/config.json", "rope_scaling", kYarn,
     Expect::refused, "pos_scaling_type=yarn to cs-2.2"},
    {"mistral_yarn_cs24", "mistral", "hf", "cs-2.4", "hf/mistral/bin/config.json", "rope_scaling", kYarn,
     Expect::written, "    pos_scaling_extra_args:\n        original_max_position_embeddings: 32\n"},
    // name: Release_2.4.0, for every family.
    {"gpt2_name_cs23", "gpt2", "hf", "cs-2.3", "hf/gpt2/bin/config.json", "", "", Expect::absent, "name"},
    {"gpt2_name_cs24", "gpt2", "hf", "cs-2.4", "hf/gpt2/bin/config.json", "", "", Expect::written, "    name: gpt2\n"},
    {"llama_name_cs23", "llama", "hf", "cs-2.3", "hf/llama/bin/config.json", "", "", Expect::absent, "name"},
    {"mistral_name_cs24", "mistral", "hf", "cs-2.4", "hf/mistral/bin/config.json", "", "", Expect::written,
     "    name: mistral\n"},
    {"bert_name_cs23", "bert", "hf", "cs-2.3", "hf/bert/bin/config.json", "", "", Expect::absent, "name"},
    {"bert_name_cs24", "bert", "hf", "cs-2.4", "hf/bert/bin/config.json", "", "", Expect::written, "    name: bert\n"},
    {"roberta_name_cs23", "roberta", "hf", "cs-2.3", "hf/roberta/bin/config.json", "", "", Expect::absent, "name"},
    {"t5_name_cs22", "t5", "hf", "cs-2.2", "cs-ref/t5/input/config.json", "", "", Expect::absent, "name"},
    {"t5_name_cs24", "t5", "hf", "cs-2.4", "cs-ref/t5/input/config.json", "", "", Expect::written, "    name: t5\n"},
    {"t5_name_cs29", "t5", "hf", "cs-2.9", "cs-ref/t5/input/config.json", "", "", Expect::written, "    name: t5\n"},
    // mixed_precision: last in Release_2.3.0 (written by each family for cs-2.1 ... cs-2.3).
    {"t5_mixed_precision_cs29", "t5", "hf", "cs-2.9", "cs-ref/t5/input/config.json", "", "", Expect::absent,
     "mixed_precision"},
    {"gpt2_name_cs23_to_cs22", "gpt2", "cs-2.3", "cs-2.2", "cs-ref/gpt2/hf_to_cs/config_to_cs-2.3.yaml", "name", "gpt2",
     Expect::absent, "name"},
    // freeze_ffn_bias_in_glu: Release_2.3.0 (bert pretraining).
    {"bert_freeze_cs22", "bert", "hf", "cs-2.2", "hf/bert/bin/config.json", "", "", Expect::absent,
     "freeze_ffn_bias_in_glu"},
    {"bert_freeze_cs23", "bert", "hf", "cs-2.3", "hf/bert/bin/config.json", "", "", Expect::written,
     "    freeze_ffn_bias_in_glu: false\n"},
    // rope_theta and pos_scaling_factor: Release_2.1.0; the step to cs-2.0 keeps the implied values.
    {"llama_rope_theta_cs20_implied", "llama", "cs-2.1", "cs-2.0", kCs21, "", "", Expect::written,
     "    rope_theta: 10000.0\n"},
    {"llama_rope_theta_cs20", "llama", "cs-2.1", "cs-2.0", kCs21, "rope_theta", "500000.0", Expect::refused,
     "rope_theta=500000.0 to cs-2.0: the Model Zoo knows rope_theta from cs-2.1 (Release_2.1.0)"},
    {"llama_rope_theta_cs19", "llama", "cs-2.1", "cs-1.9", kCs21, "rope_theta", "500000.0", Expect::refused,
     "rope_theta=500000.0 to cs-"},
    {"llama_rope_theta_cs21", "llama", "cs-2.0", "cs-2.1", "cs-ref/llama/cs21_to_cs20/config_to_cs-2.1_to_cs-2.0.yaml",
     "rope_theta", "500000.0", Expect::written, "    rope_theta: 500000.0\n"},
    {"llama_pos_scaling_factor_cs20", "llama", "cs-2.1", "cs-2.0", kCs21, "pos_scaling_factor", "4.0",
     Expect::refused, "pos_scaling_factor=4.0 to cs-2.0"},
    {"llama_pos_scaling_factor_cs20_implied", "llama", "cs-2.1", "cs-2.0", kCs21, "", "", Expect::written,
     "    pos_scaling_factor: 1.0\n"},

    // ---- btlm, jais (i14c) ----
    {"btlm_name_cs23", "btlm", "hf", "cs-2.3", "hf/btlm/bin/config.json", "", "", Expect::absent, "name"},
    {"btlm_name_cs24", "btlm", "hf", "cs-2.4", "hf/btlm/bin/config.json", "", "", Expect::written, "    name: btlm\n"},
    {"btlm_headless_name_cs24", "btlm-headless", "hf", "cs-2.4", "cs-ref/btlm/input_headless/config.json", "", "",
     Expect::written, "    name: btlm\n"},
    {"jais_name_cs29", "jais", "hf", "cs-2.9", "hf/jais/bin/config.json", "", "", Expect::written, "    name: jais\n"},
    {"jais_mixed_precision_cs29", "jais", "hf", "cs-2.9", "hf/jais/bin/config.json", "", "", Expect::absent,
     "mixed_precision"},
    // pos_scaling_factor (ALiBi scaling): Release_2.1.0; the step to cs-2.0 keeps the implied 1.0.
    {"btlm_pos_scaling_factor_cs20", "btlm", "cs-2.1", "cs-2.0", "cs-ref/btlm/hf_to_cs/config_to_cs-2.3.yaml",
     "pos_scaling_factor", "2.0", Expect::refused, "pos_scaling_factor=2.0 to cs-2.0: the Model Zoo knows "
     "pos_scaling_factor from cs-2.1 (Release_2.1.0)"},
    {"jais_pos_scaling_factor_cs20_implied", "jais", "cs-2.1", "cs-2.0", "cs-ref/jais/hf_to_cs/config_to_cs-2.3.yaml",
     "", "", Expect::written, "    pos_scaling_factor: 1.0\n"},
};

class ReleaseGate : public ::testing::TestWithParam<GateRow> {};

TEST_P(ReleaseGate, OlderTargetOmitsOrRefusesNewerWrites)
{
    const GateRow& row = GetParam();
    TempDir dir;
    const bool from_hf = std::string(row.src) == "hf";
    std::string text = read_file(data_path(row.base));
    if (*row.key)
        text = from_hf ? with_json_key(text, row.key, row.value) : with_yaml_key(text, row.key, row.value);
    const fs::path input = dir / (from_hf ? "in/config.json" : "in/config.yaml");
    fs::create_directories(input.parent_path());
    write_file(input, text);

    RunResult r = convert_config(row.model, row.src, row.tgt, input, dir / "out");
    if (row.expect == Expect::refused) {
        EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
        EXPECT_NE(r.err.find("ConfigConversionError"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(row.want), std::string::npos) << r.err;
        EXPECT_TRUE(list_tree(dir / "out").empty()) << "no partial output";
        return;
    }
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::string out = read_file(only_file(dir / "out", ".yaml"));
    if (row.expect == Expect::written)
        EXPECT_NE(out.find(row.want), std::string::npos) << out;
    else
        EXPECT_EQ(out.find("\n    " + std::string(row.want) + ":"), std::string::npos) << out;
}

INSTANTIATE_TEST_SUITE_P(Keys, ReleaseGate, ::testing::ValuesIn(kRows),
                         [](const ::testing::TestParamInfo<GateRow>& p) { return std::string(p.param.name); });

} // namespace
} // namespace ckpt::test
