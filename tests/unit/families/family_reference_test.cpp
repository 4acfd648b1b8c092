// SPDX-License-Identifier: Apache-2.0
// One table of the behaviours every family plugin shares, checked against the Model Zoo's own
// outputs in tests/data/cs-ref/<family>: hf -> cs-2.3 from .bin and safetensors tensor for tensor
// and YAML byte for byte, convert-config likewise, newer targets and CS release steps naming the
// registry model, and the `list` note. Family-specific behaviour lives in tests/unit/<family>.
#include "checkpoint_support.hpp"

#include <gtest/gtest.h>

#include <ostream>

namespace ckpt::test {
namespace {

namespace fs = std::filesystem;

struct Family {
    std::string dir;      // tests/data/{hf,cs-ref}/<dir>
    std::string model;    // --model
    std::string registry; // `name` of cs-2.4+ configs
    std::string note;     // the hf <-> cs converter's `list` note
};

void PrintTo(const Family& f, std::ostream* os) { *os << f.model; }

class FamilyReference : public ::testing::TestWithParam<Family> {
protected:
    fs::path hf(const std::string& rel) const { return data_path("hf/" + GetParam().dir + "/" + rel); }
    fs::path ref(const std::string& rel) const { return data_path("cs-ref/" + GetParam().dir + "/" + rel); }
    const std::string& model() const { return GetParam().model; }
};

TEST_P(FamilyReference, HfToCsMatchesModelZoo)
{
    for (const std::string input : {"bin/pytorch_model.bin", "safetensors/model.safetensors"}) {
        TempDir out;
        RunResult r = convert_hf(model(), hf(input), out.path());
        ASSERT_EQ(r.exit_code, 0) << input << "\n" << r.out << r.err;
        const std::string stem = fs::path(input).stem().string();
        EXPECT_EQ(compare(model_tensors(out / (stem + "_to_cs-2.3.mdl")),
                          model_tensors(ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"))),
                  "")
            << input;
        EXPECT_EQ(read_file(out / "config_to_cs-2.3.yaml"), read_file(ref("hf_to_cs/config_to_cs-2.3.yaml"))) << input;
    }
}

TEST_P(FamilyReference, ConvertConfigMatchesModelZoo)
{
    TempDir out;
    RunResult r = run_bundled({"convert-config", "--model", model(), "--src-fmt", "hf", "--tgt-fmt", "cs-2.3",
                               "--config", hf("bin/config.json").string(), "--output-dir", out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(read_file(out / "config_to_cs-2.3.yaml"), read_file(ref("config_hf_to_cs/config_to_cs-2.3.yaml")));
}

TEST_P(FamilyReference, NewerTargetNamesTheRegistryModel)
{
    TempDir out;
    RunResult r = convert_hf(model(), hf("bin/pytorch_model.bin"), out.path(), "cs-2.5");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(compare(model_tensors(out / "pytorch_model_to_cs-2.5.mdl"),
                      model_tensors(ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"))),
              "");
    const std::string yaml = read_file(out / "config_to_cs-2.5.yaml");
    EXPECT_NE(yaml.find("name: " + GetParam().registry + "\n"), std::string::npos) << yaml;
    EXPECT_EQ(yaml.find("mixed_precision"), std::string::npos) << "a Model Zoo 2.1-2.3 post-default only\n" << yaml;
}

TEST_P(FamilyReference, CsReleaseStepKeepsTheTensors)
{
    TempDir out;
    RunResult r = run_bundled({"convert", "--model", model(), "--src-fmt", "cs-2.3", "--tgt-fmt", "cs-2.5", "--config",
                               ref("hf_to_cs/config_to_cs-2.3.yaml").string(),
                               ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl").string(), "--output-dir", out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(compare(model_tensors(out / "pytorch_model_to_cs-2.3_to_cs-2.5.mdl"),
                      model_tensors(ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"))),
              "");
    const std::string yaml = read_file(out / "config_to_cs-2.3_to_cs-2.5.yaml");
    EXPECT_NE(yaml.find("name: " + GetParam().registry + "\n"), std::string::npos) << yaml;
}

TEST_P(FamilyReference, ListShowsTheNote)
{
    RunResult r = run_bundled({"list", model(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("\"note\": \"" + json_escape(GetParam().note) + "\""), std::string::npos) << r.out;
}

const std::string kCs21On = "cs-2.1, cs-2.2, cs-2.3, cs-2.4, cs-2.5, cs-2.6, cs-2.7, cs-2.8, cs-2.9";
const std::string kCs23On = "cs-2.3, cs-2.4, cs-2.5, cs-2.6, cs-2.7, cs-2.8, cs-2.9";

INSTANTIATE_TEST_SUITE_P(
    Families, FamilyReference,
    ::testing::Values(Family{"esm2", "esm-2", "esm2", "hf EsmForMaskedLM <-> " + kCs21On + " for Esm2ForPreTrainingModel"},
                      Family{"clip_vit", "clip-vit", "vision_transformer",
                             "hf CLIPVisionModelWithProjection <-> " + kCs21On +
                                 " ViTClassificationModel.\nWe map the projection layer in  "
                                 "`CLIPVisionModelWithProjection` model to classifier layer in CS"},
                      Family{"mixtral", "mixtral", "mixtral",
                             "hf MixtralForCausalLM <-> " + kCs23On + " GPT2LMHeadModel (configured as Mixtral)"}),
    [](const ::testing::TestParamInfo<Family>& p) { return p.param.dir; });

} // namespace
} // namespace ckpt::test
