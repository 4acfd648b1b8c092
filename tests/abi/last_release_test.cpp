// SPDX-License-Identifier: Apache-2.0
// ABI 1.2: a model's last Cerebras release is its plugin's fact. A 1.2 plugin that says one gets
// no release step past it and a later target refused naming it; a malformed one is refused at
// load; the C++ SDK checks the value; a 1.1 plugin (which cannot say one) still loads.
#include "convert/conversion.hpp"
#include "core/error.hpp"
#include "plugins/plugin_loader.hpp"
#include "plugins/registry.hpp"
#include "test_support.hpp"

#include <ckptconv/cpp/plugin.hpp>
#include <gtest/gtest.h>

using namespace ckpt;
using ckpt::test::RunResult;
using ckpt::test::TempDir;
namespace fs = std::filesystem;

namespace {

fs::path abi12_plugin(const std::string& name)
{
    return fs::path(CKPTCONV_ABI12_PLUGIN_DIR) / ("ckptconv_fixture_" + name + ".so");
}

/// The CLI with the ABI 1.2 fixtures as its only plugins.
RunResult cli(std::vector<std::string> args)
{
    args.insert(args.end(), {"--plugin-dir", CKPTCONV_ABI12_PLUGIN_DIR});
    return ckpt::test::run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR="});
}

std::vector<std::string> generic_rows(const host::ModelEntry& m)
{
    std::vector<std::string> out;
    for (const auto& g : m.generic)
        out.push_back(g.side[0].at(0) + ">" + g.side[1].at(0));
    return out;
}

} // namespace

TEST(LastRelease, AnAbi12PluginSaysItsModelsLastRelease)
{
    std::vector<host::PluginRecord> records{host::load_plugin(abi12_plugin("last_release"))};
    ASSERT_TRUE(records[0].loaded) << records[0].reason;
    EXPECT_EQ(host::format_abi(records[0].abi_version), "1.2");
    host::Registry reg = host::Registry::build(records);
    const host::ModelEntry* m = reg.find("LastRel-Alias");
    ASSERT_NE(m, nullptr);
    ASSERT_TRUE(m->last_release);
    EXPECT_TRUE(m->last_release->version == (host::CsVersion{2, 2}));
    EXPECT_EQ(m->last_release->why, "the fixture's family was removed after cs-2.2");
    // Without it the generic steps would go on to cs-2.9 (as Registry.GenericSteps shows).
    EXPECT_EQ(generic_rows(*m), (std::vector<std::string>{"cs-2.1>cs-2.2"}));

    EXPECT_EQ(convert::find_path(reg, *m, "hf", "cs-2.2").size(), 2u); // its converter, then the step
    for (const char* past : {"cs-2.3", "cs-2.9"}) {
        try {
            convert::find_path(reg, *m, "hf", past);
            ADD_FAILURE() << "hf -> " << past << " was not refused";
        } catch (const ConversionError& e) {
            EXPECT_NE(std::string(e.what()).find("cs-2.2 is the last release ckptconv converts lastrel to: the "
                                                 "fixture's family was removed after cs-2.2; convert to cs-2.2 or older."),
                      std::string::npos)
                << e.what();
        }
    }
}

TEST(LastRelease, TheCliConvertsUpToTheLastReleaseAndRefusesPastIt)
{
    TempDir dir;
    for (const char* f : {"model.safetensors", "config.json"})
        fs::copy_file(ckpt::test::data_path("toy") / f, dir / f);
    auto convert = [&](const std::string& tgt, const std::string& out) {
        return cli({"convert", (dir / "model.safetensors").string(), "--model", "lastrel", "--src-fmt", "hf",
                    "--tgt-fmt", tgt, "--config", (dir / "config.json").string(), "--output-dir",
                    (dir / out).string()});
    };
    RunResult ok = convert("cs-2.2", "ok");
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_FALSE(ckpt::test::list_tree(dir / "ok").empty());
    RunResult past = convert("cs-2.3", "past");
    EXPECT_EQ(past.exit_code, 1) << past.err;
    EXPECT_NE(past.err.find("cs-2.2 is the last release ckptconv converts lastrel to: the fixture's family was "
                            "removed after cs-2.2"),
              std::string::npos)
        << past.err;
    EXPECT_FALSE(fs::exists(dir / "past") && !ckpt::test::list_tree(dir / "past").empty());
}

TEST(LastRelease, AMalformedLastReleaseRefusesThePluginAtLoad)
{
    const fs::path file = abi12_plugin("bad_last_release");
    host::PluginRecord r = host::load_plugin(file);
    EXPECT_FALSE(r.loaded);
    EXPECT_EQ(r.reason, "model 'mpt' has last release '2.3', which is not a Cerebras release (cs-X.Y, e.g. cs-2.3)");

    RunResult plugins = cli({"plugins"});
    EXPECT_EQ(plugins.exit_code, 0) << plugins.err;
    EXPECT_NE(plugins.out.find("rejected  " + file.string() + "\n            model 'mpt' has last release '2.3'"),
              std::string::npos)
        << plugins.out;
    // Its model (a bundled family's) is then missing, a plugin failure: exit 3, naming the file.
    TempDir dir;
    RunResult convert = cli({"convert", (dir / "x.safetensors").string(), "--model", "mpt", "--src-fmt", "hf",
                             "--tgt-fmt", "cs-2.3", "--config", (dir / "config.json").string()});
    EXPECT_EQ(convert.exit_code, 3) << convert.err;
    EXPECT_NE(convert.err.find("plugin " + file.string() + " rejected: model 'mpt' has last release '2.3'"),
              std::string::npos)
        << convert.err;
}

TEST(LastRelease, AnAbi11PluginStillLoadsWithoutOne)
{
    std::vector<host::PluginRecord> records{
        host::load_plugin(fs::path(CKPTCONV_EXAMPLE_ABI11_PLUGIN_DIR) / "ckptconv_acme.so")};
    ASSERT_TRUE(records[0].loaded) << records[0].reason;
    EXPECT_EQ(host::format_abi(records[0].abi_version), "1.1");
    EXPECT_EQ(records[0].descriptor->models[0]->struct_size, offsetof(ckpt_model, last_release));
    host::Registry reg = host::Registry::build(records);
    const host::ModelEntry* m = reg.find("acme");
    ASSERT_NE(m, nullptr);
    EXPECT_FALSE(m->last_release);
}

TEST(LastRelease, TheSdkSetterTakesOnlyACsRelease)
{
    sdk::ModelDef def("m", {});
    for (const char* bad : {"2.3", "cs-2", "cs-2.3x", "cs-02.3", "cs-+2.3", "hf", ""})
        EXPECT_THROW(def.last_release(bad, "why"), sdk::Error) << bad;
    def.last_release("cs-2.10", "why");
    const ckpt_model* d = def.descriptor();
    EXPECT_EQ(d->struct_size, sizeof(ckpt_model)); // a plugin targeting this SDK's 1.2
    EXPECT_EQ(std::string(d->last_release.data, d->last_release.size), "cs-2.10");
    EXPECT_EQ(std::string(d->last_release_reason.data, d->last_release_reason.size), "why");
}
