// SPDX-License-Identifier: Apache-2.0
// Every reference config written by the Model Zoo (PyYAML 6 / Python json), by transformers and by
// PyYAML itself reads and writes back to the same bytes: this proves reader and writer together.
#include "config/config_file.hpp"
#include "config/json_config.hpp"
#include "config/yaml_config.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;
using ckpt::test::data_path;
using ckpt::test::read_file;

namespace {

std::vector<fs::path> files_under(const fs::path& dir, const std::string& ext)
{
    std::vector<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file() && e.path().extension() == ext)
            out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

// The first line where two texts differ, for readable failures on long files.
std::string first_difference(const std::string& a, const std::string& b)
{
    size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i])
        ++i;
    if (i == a.size() && i == b.size())
        return "identical";
    const size_t line_start = a.rfind('\n', i == 0 ? 0 : i - 1);
    const size_t from = line_start == std::string::npos ? 0 : line_start + 1;
    auto line_of = [&](const std::string& s) {
        const size_t end = s.find('\n', from);
        return s.substr(from, end == std::string::npos ? std::string::npos : end - from);
    };
    return "at byte " + std::to_string(i) + ":\n  got:      " + line_of(a) + "\n  expected: " + line_of(b);
}

bool is_transformers_input(const fs::path& p)
{
    // cs-ref/<family>/input*/config.json are inputs edited by hand and saved with indent=2,
    // sort_keys=True and no final newline.
    return p.parent_path().filename().string().rfind("input", 0) == 0;
}

} // namespace

TEST(ConfigReference, ModelZooYamlRoundTripsByteForByte)
{
    const auto files = files_under(data_path("configs/cs-ref"), ".yaml");
    ASSERT_GE(files.size(), 14u);
    size_t checked = 0;
    for (const fs::path& f : files) {
        if (f.filename() == "params_gpt2_tiny.yaml")
            continue; // a hand-written input, checked against PyYAML's dump below
        const std::string expected = read_file(f);
        const ckpt::Node config = ckpt::read_yaml_config(f);
        const std::string got = ckpt::format_yaml_config(config);
        EXPECT_EQ(got, expected) << f << "\n" << first_difference(got, expected);
        ++checked;
    }
    EXPECT_GE(checked, 13u);
}

TEST(ConfigReference, HandWrittenTrainingYamlDumpsAsPyyaml)
{
    const ckpt::Node config = ckpt::read_yaml_config(data_path("configs/cs-ref/gpt2/input_cs22_train/params_gpt2_tiny.yaml"));
    const std::string expected = read_file(data_path("configs/pyyaml/params_gpt2_tiny.dump.yaml"));
    const std::string got = ckpt::format_yaml_config(config);
    EXPECT_EQ(got, expected) << first_difference(got, expected);
}

TEST(ConfigReference, ModelZooJsonRoundTripsByteForByte)
{
    const auto files = files_under(data_path("configs/cs-ref"), ".json");
    ASSERT_GE(files.size(), 40u);
    for (const fs::path& f : files) {
        const ckpt::JsonStyle style = is_transformers_input(f) ? ckpt::JsonStyle{2, true, false} : ckpt::kModelZooJson;
        const std::string expected = read_file(f);
        const std::string got = ckpt::format_json_config(ckpt::read_json_config(f), style);
        EXPECT_EQ(got, expected) << f << "\n" << first_difference(got, expected);
    }
}

TEST(ConfigReference, HuggingFaceJsonRoundTripsByteForByte)
{
    const auto files = files_under(data_path("hf"), ".json");
    ASSERT_GE(files.size(), 24u);
    for (const fs::path& f : files) {
        // Not written by transformers' config classes: the llava fixtures' image processor
        // settings were written by hand (keys unsorted); ckptconv only reads them.
        if (f.filename() == "preprocessor_config.json")
            continue;
        const std::string expected = read_file(f);
        const std::string got = ckpt::format_json_config(ckpt::read_json_config(f), ckpt::kHuggingFaceJson);
        EXPECT_EQ(got, expected) << f << "\n" << first_difference(got, expected);
    }
}

TEST(ConfigReference, PyyamlCorpusDumpsLikePyyaml)
{
    const ckpt::Node data = ckpt::read_yaml_config(data_path("configs/pyyaml/scalars.yaml"));
    {
        const std::string expected = read_file(data_path("configs/pyyaml/scalars.dump.yaml"));
        const std::string got = ckpt::format_yaml_config(data);
        EXPECT_EQ(got, expected) << first_difference(got, expected);
    }
    {
        const std::string expected = read_file(data_path("configs/pyyaml/scalars.safe_dump.yaml"));
        const std::string got = ckpt::format_yaml_config_unsorted(data);
        EXPECT_EQ(got, expected) << first_difference(got, expected);
    }
    {
        const std::string expected = read_file(data_path("configs/pyyaml/scalars.dump.json"));
        const std::string got = ckpt::format_json_config(data);
        EXPECT_EQ(got, expected) << first_difference(got, expected);
    }
}

TEST(ConfigReference, PyyamlDumpReadsBackToTheSameTree)
{
    const ckpt::Node data = ckpt::read_yaml_config(data_path("configs/pyyaml/scalars.yaml"));
    for (const char* name : {"configs/pyyaml/scalars.dump.yaml", "configs/pyyaml/scalars.safe_dump.yaml"}) {
        const ckpt::Node back = ckpt::read_yaml_config(data_path(name));
        // NaN != NaN, so compare the written forms instead of the trees.
        EXPECT_EQ(ckpt::format_yaml_config(back), ckpt::format_yaml_config(data)) << name;
    }
}

TEST(ConfigReference, WritersProduceTheFilesByteForByte)
{
    ckpt::test::TempDir dir;
    const fs::path yaml_ref = data_path("configs/cs-ref/gpt2/cs22_to_cs23_train_state/params_gpt2_tiny_to_cs-2.3.yaml");
    const fs::path json_ref = data_path("configs/cs-ref/gpt2/config_cs_to_hf/config_to_cs-2.3_to_hf.json");
    ckpt::write_config(dir / "out.yaml", ckpt::read_config(yaml_ref), true);
    ckpt::write_config(dir / "out.json", ckpt::read_config(json_ref), false);
    EXPECT_EQ(read_file(dir / "out.yaml"), read_file(yaml_ref));
    EXPECT_EQ(read_file(dir / "out.json"), read_file(json_ref));
}

TEST(ConfigReference, RandomPyyamlCorpusMatchesPyyaml)
{
    // Random trees in random PyYAML layouts (flow, block, quoted, narrow widths), generated by
    // tests/data/configs/pyyaml/make_random.py: the reader must see what PyYAML saw, and the
    // writers must write what PyYAML and json write.
    const auto inputs = files_under(data_path("configs/pyyaml/random"), ".yaml");
    size_t checked = 0;
    for (const fs::path& f : inputs) {
        const std::string name = f.filename().string();
        if (name.size() < 8 || name.substr(name.size() - 8) != ".in.yaml")
            continue;
        const std::string stem = f.string().substr(0, f.string().size() - 8);
        const ckpt::Node data = ckpt::read_yaml_config(f);
        const std::string dump = ckpt::format_yaml_config(data);
        const std::string expected_dump = read_file(stem + ".dump.yaml");
        EXPECT_EQ(dump, expected_dump) << f << "\n" << first_difference(dump, expected_dump);
        const std::string unsorted = ckpt::format_yaml_config_unsorted(data);
        const std::string expected_unsorted = read_file(stem + ".safe_dump.yaml");
        EXPECT_EQ(unsorted, expected_unsorted) << f << "\n" << first_difference(unsorted, expected_unsorted);
        if (fs::exists(stem + ".dump.json")) {
            const std::string json = ckpt::format_json_config(data);
            const std::string expected_json = read_file(stem + ".dump.json");
            EXPECT_EQ(json, expected_json) << f << "\n" << first_difference(json, expected_json);
        }
        ++checked;
    }
    EXPECT_EQ(checked, 16u);
}
