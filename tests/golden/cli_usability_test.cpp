// SPDX-License-Identifier: Apache-2.0
// What users reach for first (issue 18): model folders as input, --dtype, --json results read
// back, usage errors in sentences with suggestions and exit 2, global flags before the command,
// `help`, and --threads reaching the worker pool.
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>

namespace fs = std::filesystem;
using ckpt::test::data_path;
using ckpt::test::list_tree;
using ckpt::test::read_file;
using ckpt::test::run_cli;
using ckpt::test::TempDir;

namespace {

using ckpt::test::kFixtureFamilies;
/// Fixture folders whose model a built-in plugin converts as they are, with that model's name
/// (the t5 fixture's relative_attention_max_distance=16 is refused, as by the Model Zoo).
const std::pair<const char*, const char*> kConvertible[] = {
    {"bert", "bert"}, {"gpt2", "gpt2"}, {"llama", "llama"}, {"mistral", "mistral"}, {"roberta", "roberta"}};

/// The built-in plugins only (the build's plugin directory), as a user's install has them.
ckpt::test::RunResult cli(std::vector<std::string> args, std::vector<std::string> env = {})
{
    args.push_back("--plugin-dir");
    args.push_back(CKPTCONV_BUILD_PLUGIN_DIR);
    env.push_back("CKPT_PLUGIN_DEFAULT_DIR=");
    return run_cli(args, env);
}

rapidjson::Document parse(const std::string& text)
{
    rapidjson::Document d;
    d.Parse(text.c_str(), text.size());
    EXPECT_FALSE(d.HasParseError()) << text;
    return d;
}

/// A copy of a fixture folder (config.json and the checkpoint files) under `dir`.
fs::path copy_folder(const fs::path& from, const fs::path& to)
{
    fs::create_directories(to);
    for (const auto& f : fs::directory_iterator(from))
        fs::copy_file(f.path(), to / f.path().filename());
    return to;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

} // namespace

TEST(ModelFolder, InspectReadsTheFileTransformersWouldForEveryFamilyAndLayout)
{
    for (const char* fam : kFixtureFamilies)
        for (const auto& [layout, file] : {std::pair<std::string, std::string>{"bin", "pytorch_model.bin"},
                                           {"safetensors", "model.safetensors"}}) {
            const fs::path folder = data_path(std::string("hf/") + fam + "/" + layout);
            auto by_folder = cli({"inspect", folder.string(), "--json"});
            auto by_file = cli({"inspect", (folder / file).string(), "--json"});
            ASSERT_EQ(by_folder.exit_code, 0) << fam << "/" << layout << by_folder.err;
            auto a = parse(by_folder.out), b = parse(by_file.out);
            EXPECT_EQ(a["files"], b["files"]) << fam << "/" << layout;
            EXPECT_EQ(a["entries"], b["entries"]) << fam << "/" << layout;
            // diff and repack take the folder too.
            EXPECT_EQ(cli({"diff", folder.string(), (folder / file).string()}).exit_code, 0) << fam << "/" << layout;
        }
    for (const char* sharded : {"hf/gpt2/sharded-bin", "hf/llama/sharded-safetensors"}) {
        auto r = cli({"inspect", data_path(sharded).string()});
        EXPECT_EQ(r.exit_code, 0) << sharded << r.err;
        EXPECT_TRUE(contains(r.out, "(3 shards)")) << r.out;
    }
}

TEST(ModelFolder, ConvertTakesConfigJsonAndNamesOutputsAfterTheFolder)
{
    for (const auto& [fam, model] : kConvertible)
        for (const char* layout : {"bin", "safetensors"}) {
            TempDir dir;
            const std::string name = std::string(fam) + "-" + layout;
            const fs::path folder = copy_folder(data_path(std::string("hf/") + fam + "/" + layout), dir / name);
            const auto before = list_tree(folder);
            auto r = cli({"convert", folder.string() + "/", "--model", model, "--src-fmt", "hf", "--tgt-fmt", "cs-2.3"});
            ASSERT_EQ(r.exit_code, 0) << name << r.err;
            const fs::path mdl = dir / (name + "_to_cs-2.3.mdl"), yaml = dir / (name + "_to_cs-2.3.yaml");
            EXPECT_EQ(r.out, "Checkpoint saved to " + mdl.string() + "\nConfig saved to " + yaml.string() + "\n");
            EXPECT_EQ(list_tree(folder), before) << "the input folder must not change";
            // The same as converting the file with --config, byte for byte in the config and
            // tensor for tensor in the checkpoint.
            fs::create_directories(dir / "by-file");
            const std::string file = std::string(layout) == "bin" ? "pytorch_model.bin" : "model.safetensors";
            auto f = cli({"convert", (folder / file).string(), "--config", (folder / "config.json").string(), "--model",
                          model, "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--output-dir", (dir / "by-file").string()});
            ASSERT_EQ(f.exit_code, 0) << name << f.err;
            const std::string stem = std::string(layout) == "bin" ? "pytorch_model" : "model";
            EXPECT_EQ(read_file(yaml), read_file(dir / "by-file" / "config_to_cs-2.3.yaml")) << name;
            auto d = cli({"diff", mdl.string(), (dir / "by-file" / (stem + "_to_cs-2.3.mdl")).string()});
            EXPECT_EQ(d.exit_code, 0) << name << d.out;
        }
}

TEST(ModelFolder, SafetensorsIsPreferredAndAmbiguousOrEmptyFoldersAreErrors)
{
    TempDir dir;
    // Both forms, as many hub repositories ship them: safetensors wins, as in transformers.
    const fs::path both = copy_folder(data_path("hf/gpt2/safetensors"), dir / "both");
    fs::copy_file(data_path("hf/gpt2/bin/pytorch_model.bin"), both / "pytorch_model.bin");
    auto r = cli({"inspect", both.string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(parse(r.out)["files"][0].GetString(), (both / "model.safetensors").string());
    EXPECT_TRUE(contains(r.err, "pytorch_model.bin is ignored")) << r.err;

    // No standard name and two candidates: an error listing both.
    const fs::path two = dir / "two";
    fs::create_directories(two);
    fs::copy_file(data_path("hf/gpt2/bin/pytorch_model.bin"), two / "a.bin");
    fs::copy_file(data_path("hf/gpt2/safetensors/model.safetensors"), two / "b.safetensors");
    auto amb = cli({"inspect", two.string()});
    EXPECT_EQ(amb.exit_code, 4);
    EXPECT_TRUE(contains(amb.err, "several checkpoints")) << amb.err;
    EXPECT_TRUE(contains(amb.err, "a.bin, b.safetensors")) << amb.err;
    // One candidate under another name is taken.
    fs::remove(two / "a.bin");
    EXPECT_EQ(cli({"inspect", two.string()}).exit_code, 0);

    const fs::path empty = dir / "empty";
    fs::create_directories(empty);
    auto none = cli({"inspect", empty.string()});
    EXPECT_EQ(none.exit_code, 4);
    EXPECT_TRUE(contains(none.err, "holds no checkpoint")) << none.err;

    // A folder without config.json needs --config: a usage error naming the folder.
    auto no_cfg = cli({"convert", two.string(), "--model", "gpt2", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3"});
    EXPECT_EQ(no_cfg.exit_code, 2);
    EXPECT_TRUE(contains(no_cfg.err, "--config is missing")) << no_cfg.err;
    EXPECT_TRUE(contains(no_cfg.err, "has no config.json")) << no_cfg.err;
}

TEST(Dtype, ConvertWritesBfloat16AndTorchDtypeMatches)
{
    TempDir dir;
    const fs::path folder = copy_folder(data_path("hf/gpt2/safetensors"), dir / "gpt2");
    auto to_cs = cli({"convert", folder.string(), "--model", "gpt2", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3",
                      "--dtype", "bfloat16"});
    ASSERT_EQ(to_cs.exit_code, 0) << to_cs.err;
    auto inspect = parse(cli({"inspect", (dir / "gpt2_to_cs-2.3.mdl").string(), "--json"}).out);
    size_t tensors = 0;
    for (const auto& e : inspect["entries"].GetArray())
        if (std::string(e["kind"].GetString()) == "tensor") {
            ++tensors;
            EXPECT_STREQ(e["dtype"].GetString(), "BF16") << e["name"].GetString();
        }
    EXPECT_GT(tensors, 10u);
    auto back = cli({"convert", (dir / "gpt2_to_cs-2.3.mdl").string(), "--config",
                     (dir / "gpt2_to_cs-2.3.yaml").string(), "--model", "gpt2", "--src-fmt", "cs-2.3", "--tgt-fmt",
                     "hf", "--export-safetensors", "--dtype", "float32"});
    ASSERT_EQ(back.exit_code, 0) << back.err;
    const std::string cfg = read_file(dir / "gpt2_to_cs-2.3_to_hf" / "config.json");
    EXPECT_TRUE(contains(cfg, "\"torch_dtype\": \"float32\"")) << cfg;
    auto bf16_back = cli({"convert", (dir / "gpt2_to_cs-2.3.mdl").string(), "--config",
                          (dir / "gpt2_to_cs-2.3.yaml").string(), "--model", "gpt2", "--src-fmt", "cs-2.3",
                          "--tgt-fmt", "hf", "--output-dir", (dir / "bf16").string()});
    ASSERT_EQ(bf16_back.exit_code, 0) << bf16_back.err;
    EXPECT_TRUE(contains(read_file(dir / "bf16" / "gpt2_to_cs-2.3_to_hf" / "config.json"),
                         "\"torch_dtype\": \"bfloat16\""));
}

TEST(Dtype, RepackCastsAsTorchDoesAndNamesOverflowingTensors)
{
    TempDir dir;
    for (const char* dtype : {"float16", "bfloat16", "float32"}) {
        const fs::path out = dir / (std::string(dtype) + ".safetensors");
        auto r = cli({"repack", data_path("dtype/edge_cases.safetensors").string(), out.string(), "--dtype", dtype});
        ASSERT_EQ(r.exit_code, 0) << dtype << r.err;
        auto d = cli({"diff", out.string(), data_path(std::string("dtype/edge_cases_") + dtype + ".safetensors").string()});
        EXPECT_EQ(d.exit_code, 0) << dtype << d.out;
        if (std::string(dtype) == "float16") {
            EXPECT_TRUE(contains(r.err, "WARNING f32: ")) << r.err;
            EXPECT_TRUE(contains(r.err, "beyond the range of the target dtype")) << r.err;
        }
    }
    // Integer tensors untouched, into the other containers too.
    auto bin = cli({"repack", data_path("dtype/edge_cases.safetensors").string(), (dir / "e.bin").string(), "--dtype",
                    "bfloat16"});
    ASSERT_EQ(bin.exit_code, 0) << bin.err;
    auto j = parse(cli({"inspect", (dir / "e.bin").string(), "--json"}).out);
    for (const auto& e : j["entries"].GetArray()) {
        const std::string name = e["name"].GetString(), dt = e["dtype"].GetString();
        EXPECT_EQ(dt, name == "i64" ? "I64" : name == "mask" ? "BOOL" : "BF16") << name;
    }
}

TEST(Json, ConvertAndRepackPrintOneObjectAScriptCanRead)
{
    TempDir dir;
    const fs::path folder = copy_folder(data_path("hf/llama/safetensors"), dir / "llama");
    auto r = cli({"convert", folder.string(), "--model", "llama", "--src-fmt", "hf", "--tgt-fmt", "hf", "--json"});
    EXPECT_EQ(r.exit_code, 1); // hf -> hf: nothing to convert, and no JSON on stdout
    EXPECT_EQ(r.out, "");
    r = cli({"convert", folder.string(), "--model", "llama", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = parse(r.out);
    EXPECT_STREQ(j["command"].GetString(), "convert");
    EXPECT_EQ(std::string(j["inputs"]["checkpoint_file"].GetString()), (folder / "model.safetensors").string());
    EXPECT_EQ(std::string(j["inputs"]["config"].GetString()), (folder / "config.json").string());
    EXPECT_TRUE(contains(j["conversion_path"].GetString(), "hf -> cs-2.3")) << r.out;
    ASSERT_EQ(j["outputs"].Size(), 2u);
    const auto& ck = j["outputs"][0];
    EXPECT_STREQ(ck["kind"].GetString(), "checkpoint");
    EXPECT_EQ(ck["bytes"].GetUint64(), fs::file_size(ck["path"].GetString()));
    EXPECT_GT(ck["tensors"].GetUint64(), 10u);
    EXPECT_EQ(j["outputs"][1]["bytes"].GetUint64(), fs::file_size(j["outputs"][1]["path"].GetString()));
    EXPECT_TRUE(j["warnings"].IsArray());
    EXPECT_GE(j["seconds"].GetDouble(), 0.0);

    // A dry run prints its plan to stderr, so stdout stays one JSON object.
    auto dry = cli({"convert", folder.string(), "--model", "llama", "--src-fmt", "hf", "--tgt-fmt", "cs-2.4", "--json",
                    "--dry-run"});
    ASSERT_EQ(dry.exit_code, 0) << dry.err;
    auto d = parse(dry.out);
    EXPECT_EQ(d["outputs"].Size(), 0u);
    EXPECT_EQ(std::string(d["would_write"][0].GetString()), (dir / "llama_to_cs-2.4.mdl").string());
    EXPECT_TRUE(contains(dry.err, "Conversion path: hf -> cs-2.4")) << dry.err;
    EXPECT_FALSE(fs::exists(dir / "llama_to_cs-2.4.mdl"));

    // Warnings are collected into the object (and still printed on stderr).
    auto warned = cli({"repack", data_path("dtype/edge_cases.safetensors").string(), (dir / "e16.safetensors").string(),
                       "--dtype", "float16", "--json"});
    ASSERT_EQ(warned.exit_code, 0) << warned.err;
    auto w = parse(warned.out);
    ASSERT_TRUE(w["warnings"].IsArray());
    ASSERT_GE(w["warnings"].Size(), 1u);
    EXPECT_TRUE(contains(w["warnings"][0].GetString(), "written as infinity")) << warned.out;
    EXPECT_STREQ(w["dtype"].GetString(), "float16");
    EXPECT_EQ(w["outputs"][0]["tensors"].GetUint64(), 5u);
    auto rp = cli({"repack", folder.string(), (dir / "shards").string(), "--shard-size", "100KB", "--json"});
    ASSERT_EQ(rp.exit_code, 0) << rp.err;
    auto p = parse(rp.out);
    EXPECT_STREQ(p["command"].GetString(), "repack");
    const auto& out = p["outputs"][0];
    uint64_t total = 0;
    for (const auto& f : out["files"].GetArray())
        total += fs::file_size(f["path"].GetString());
    EXPECT_EQ(out["bytes"].GetUint64(), total);
    EXPECT_GT(out["files"].Size(), 2u);
    EXPECT_EQ(p["dtype"].IsNull(), true);
}

TEST(Json, ListAndPluginsGiveAliasesAsData)
{
    auto l = parse(cli({"list", "--json"}).out);
    bool saw_alias = false;
    for (const auto& m : l["models"].GetArray()) {
        if (std::string(m["model"].GetString()) == "llamaV2") {
            EXPECT_STREQ(m["alias_of"].GetString(), "llama");
            saw_alias = true;
        }
        if (std::string(m["model"].GetString()) == "llama") {
            EXPECT_TRUE(m["alias_of"].IsNull());
            EXPECT_TRUE(m["aliases"].IsArray());
        }
    }
    EXPECT_TRUE(saw_alias);
    auto p = parse(cli({"plugins", "--json"}).out);
    bool llama_aliases = false;
    for (const auto& plugin : p["plugins"].GetArray())
        if (plugin.HasMember("models"))
            for (const auto& m : plugin["models"].GetArray()) {
                ASSERT_TRUE(m["aliases"].IsArray());
                EXPECT_EQ(std::string(m["name"].GetString()).find(" (aliases"), std::string::npos);
                if (std::string(m["name"].GetString()) == "llama")
                    llama_aliases = m["aliases"].Size() > 0;
            }
    EXPECT_TRUE(llama_aliases);
}

TEST(UsageErrors, SuggestionsSentencesAndExitCode2)
{
    const std::string ck = data_path("hf/gpt2/safetensors").string();
    const std::vector<std::string> head{"convert", ck};
    struct Case {
        std::vector<std::string> args;
        std::string message;
    } cases[] = {
        {{"--model", "gtp2", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3"},
         "The model gtp2 is not supported. Did you mean 'gpt2'?"},
        {{"--model", "gpt2", "--src-fmt", "hff", "--tgt-fmt", "cs-2.3"}, "Did you mean 'hf'?"},
        {{"--model", "gpt2", "--src-fmt", "hf", "--tgt-fmt", "cs2.3"}, "Did you mean 'cs-2.3'?"},
        {{"--modle", "gpt2", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3"}, "unknown option --modle. Did you mean '--model'?"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> args = head;
        args.insert(args.end(), c.args.begin(), c.args.end());
        auto r = cli(args);
        EXPECT_EQ(r.exit_code, 2) << c.message;
        EXPECT_TRUE(contains(r.err, c.message)) << r.err;
    }
    auto dtype = cli({"repack", ck, "x.safetensors", "--dtype", "float61"});
    EXPECT_EQ(dtype.exit_code, 2);
    EXPECT_TRUE(contains(dtype.err, "Did you mean 'float16'?")) << dtype.err;
    auto cmd = run_cli({"inspekt", ck});
    EXPECT_EQ(cmd.exit_code, 2);
    EXPECT_TRUE(contains(cmd.err, "Did you mean 'inspect'?")) << cmd.err;

    // The positional argument is named in a sentence, not the library's wording.
    auto missing = cli({"convert", "--model", "gpt2", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3"});
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_TRUE(contains(missing.err, "CHECKPOINT is missing")) << missing.err;
    EXPECT_FALSE(contains(missing.err, "required but missing")) << missing.err;
    auto missing_flag = cli({"convert", ck, "--src-fmt", "hf", "--tgt-fmt", "cs-2.3"});
    EXPECT_EQ(missing_flag.exit_code, 2);
    EXPECT_TRUE(contains(missing_flag.err, "--model is missing")) << missing_flag.err;
    auto extra = cli({"inspect", ck, ck});
    EXPECT_EQ(extra.exit_code, 2);
    EXPECT_TRUE(contains(extra.err, "too many arguments: this command takes PATH")) << extra.err;
    auto no_value = run_cli({"inspect", ck, "--threads"});
    EXPECT_EQ(no_value.exit_code, 2);
    EXPECT_TRUE(contains(no_value.err, "--threads needs a value")) << no_value.err;
}

TEST(UsageErrors, GlobalFlagsBeforeTheCommandHelpAndVersion)
{
    const std::string ck = data_path("hf/gpt2/safetensors/model.safetensors").string();
    auto before = run_cli({"-v", "--plugin-dir", CKPTCONV_BUILD_PLUGIN_DIR, "inspect", ck}, {"CKPT_PLUGIN_DEFAULT_DIR="});
    EXPECT_EQ(before.exit_code, 0) << before.err;
    EXPECT_TRUE(contains(before.err, std::string("DEBUG plugin directory: ") + CKPTCONV_BUILD_PLUGIN_DIR)) << before.err;
    auto quiet = run_cli({"-q", "diff", ck, ck});
    EXPECT_EQ(quiet.exit_code, 0);
    EXPECT_EQ(quiet.err, "");
    auto unknown = run_cli({"--verbsoe", "list"});
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_TRUE(contains(unknown.err, "Did you mean '--verbose'?")) << unknown.err;

    auto help = run_cli({"help", "convert"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_TRUE(contains(help.out, "Usage: ckptconv convert CHECKPOINT")) << help.out;
    EXPECT_TRUE(contains(help.out, "--dtype")) << help.out;
    EXPECT_EQ(run_cli({"help", "nope"}).exit_code, 2);
    auto top = run_cli({"--help"});
    EXPECT_TRUE(contains(top.out, "--version")) << top.out;
    EXPECT_TRUE(contains(top.out, "--threads")) << top.out;
    auto version = run_cli({"--version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_TRUE(contains(version.out, "ckptconv ")) << version.out;
}

TEST(Threads, TheLimitReachesTheWorkerPool)
{
    TempDir dir;
    const std::string ck = data_path("hf/gpt2/safetensors/model.safetensors").string();
    // Writing LZ4-compressed .mdl datasets runs on the worker pool, which reports its size under -v.
    auto one = run_cli({"--threads", "1", "-v", "repack", ck, (dir / "a.mdl").string()});
    ASSERT_EQ(one.exit_code, 0) << one.err;
    EXPECT_TRUE(contains(one.err, "DEBUG worker pool: 1 thread\n")) << one.err;
    auto two = run_cli({"repack", ck, (dir / "b.mdl").string(), "--threads=2", "-v"});
    ASSERT_EQ(two.exit_code, 0) << two.err;
    EXPECT_TRUE(contains(two.err, "DEBUG worker pool: 2 threads\n")) << two.err;
    auto env = run_cli({"-v", "repack", ck, (dir / "c.mdl").string()}, {"CKPTCONV_THREADS=1"});
    ASSERT_EQ(env.exit_code, 0) << env.err;
    EXPECT_TRUE(contains(env.err, "DEBUG worker pool: 1 thread\n")) << env.err;
    // The flag wins over the environment; nonsense in either is a usage error.
    auto both = run_cli({"-v", "--threads", "2", "repack", ck, (dir / "d.mdl").string()}, {"CKPTCONV_THREADS=1"});
    EXPECT_TRUE(contains(both.err, "DEBUG worker pool: 2 threads\n")) << both.err;
    EXPECT_EQ(run_cli({"--threads", "0", "list"}).exit_code, 2);
    auto bad_env = run_cli({"list"}, {"CKPTCONV_THREADS=lots"});
    EXPECT_EQ(bad_env.exit_code, 2);
    EXPECT_TRUE(contains(bad_env.err, "CKPTCONV_THREADS=lots")) << bad_env.err;
    // The same bytes whatever the thread count.
    EXPECT_EQ(read_file(dir / "a.mdl").size(), read_file(dir / "b.mdl").size());
    EXPECT_EQ(run_cli({"diff", (dir / "a.mdl").string(), (dir / "b.mdl").string()}).exit_code, 0);
}
