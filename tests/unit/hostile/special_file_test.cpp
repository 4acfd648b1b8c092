// SPDX-License-Identifier: Apache-2.0
// A FIFO (or any file that is not a regular file) given as checkpoint, shard, config or side file
// is refused at once with exit 4, instead of a reader waiting forever for a writer.
#include "core/error.hpp"
#include "core/input_file.hpp"
#include "core/mapped_file.hpp"
#include "hostile_support.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

namespace ckpt {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

void make_fifo(const fs::path& p)
{
    ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0) << p;
}

TEST(SpecialFile, EveryInputOpenRefusesAFifo)
{
    TempDir dir;
    const fs::path fifo = dir / "pipe";
    make_fifo(fifo);
    for (auto open : {+[](const fs::path& p) { ::close(open_input_file(p)); },
                      +[](const fs::path& p) { (void)read_head(p, 16); },
                      +[](const fs::path& p) { (void)MappedFile::open(p); }}) {
        try {
            open(fifo);
            ADD_FAILURE() << "a FIFO was opened";
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find(fifo.string() + ": is a FIFO (named pipe), not a regular file"),
                      std::string::npos)
                << e.what();
        }
    }
    EXPECT_THROW(::close(open_input_file("/dev/null")), InputError);
    EXPECT_THROW(::close(open_input_file(dir.path())), InputError);
}

class SpecialFileCli : public ::testing::Test {
protected:
    void SetUp() override
    {
        for (const auto& f : fs::directory_iterator(test::data_path("toy")))
            fs::copy_file(f.path(), dir / f.path().filename().string());
        fs::create_directory(dir / "sharded");
        for (const auto& f : fs::directory_iterator(test::data_path("hf/gpt2/sharded-safetensors")))
            fs::copy_file(f.path(), dir / "sharded" / f.path().filename().string());
    }

    void expect_refused(const test::RunResult& r, const fs::path& fifo)
    {
        EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
        EXPECT_NE(r.err.find(fifo.string()), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("FIFO"), std::string::npos) << r.err;
    }

    TempDir dir;
};

TEST_F(SpecialFileCli, FifoAsCheckpoint)
{
    const fs::path fifo = dir / "model.mdl";
    make_fifo(fifo);
    const auto before = test::snapshot(dir.path());
    expect_refused(test::ckptconv_cli({"inspect", fifo.string()}), fifo);
    expect_refused(test::ckptconv_cli({"convert", fifo.string(), "--model", "null", "--src-fmt", "cs-2.2",
                                       "--tgt-fmt", "hf", "--config", (dir / "config.json").string()}),
                   fifo);
    EXPECT_EQ(test::snapshot(dir.path()), before);
}

TEST_F(SpecialFileCli, FifoAsConfig)
{
    const fs::path fifo = dir / "config.yaml";
    make_fifo(fifo);
    const auto before = test::snapshot(dir.path());
    expect_refused(test::ckptconv_cli({"convert", (dir / "model.safetensors").string(), "--model", "null",
                                       "--src-fmt", "hf", "--tgt-fmt", "cs-2.2", "--config", fifo.string()}),
                   fifo);
    EXPECT_EQ(test::snapshot(dir.path()), before);
    EXPECT_FALSE(fs::exists(dir / "model_to_cs-2.2.mdl"));
}

TEST_F(SpecialFileCli, FifoAsIndexShard)
{
    const fs::path fifo = dir / "sharded" / "model-00002-of-00003.safetensors";
    fs::remove(fifo);
    make_fifo(fifo);
    const auto before = test::snapshot(dir.path());
    expect_refused(test::ckptconv_cli({"inspect", (dir / "sharded" / "model.safetensors.index.json").string()}),
                   fifo);
    EXPECT_EQ(test::snapshot(dir.path()), before);
}

TEST_F(SpecialFileCli, FifoAsHdf5ExternalFile)
{
    const fs::path mdl = dir / "model.mdl";
    const fs::path fifo = dir / "raw.bin";
    test::write_small_mdl(mdl);
    make_fifo(fifo);
    const std::string raw = fifo.string();
    test::replace_dataset(mdl, "model.w", [&](hid_t file, const std::string& name) {
        test::create_external_dataset(file, name, raw);
    });
    const auto before = test::snapshot(dir.path());
    const auto r = test::ckptconv_cli({"repack", mdl.string(), (dir / "out.safetensors").string()});
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_NE(r.err.find("external file ('" + raw + "')"), std::string::npos) << r.err;
    EXPECT_EQ(test::snapshot(dir.path()), before);
    EXPECT_FALSE(fs::exists(dir / "out.safetensors"));
}

} // namespace
} // namespace ckpt
