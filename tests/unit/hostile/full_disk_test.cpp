// SPDX-License-Identifier: Apache-2.0
// A disk that fills up while an output is written: every output format fails with exit 4 and a
// message naming the file and "no space left", leaves nothing behind and never crashes, at
// several fill levels (on a small tmpfs mounted by the test).
#include "hostile_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace ckpt {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

constexpr uint64_t kDiskBytes = 512 * 1024; // the input writes about 320 KB in every format

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

class FullDisk : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (::geteuid() != 0)
            GTEST_SKIP() << "needs root to mount a small tmpfs (CI runs as root); run as root to test full disks";
        const std::string opts = "size=" + std::to_string(kDiskBytes) + ",mode=0700";
        if (::mount("tmpfs", disk.path().c_str(), "tmpfs", 0, opts.c_str()) != 0)
            GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                         << "); a full disk cannot be made without one";
        mounted = true;
        fs::copy_file(test::data_path("hf/gpt2/safetensors/model.safetensors"), in / "model.safetensors");
    }
    void TearDown() override
    {
        if (mounted)
            ::umount2(disk.path().c_str(), MNT_DETACH);
    }

    // Leaves `free_bytes` free on the small disk (a multiple of the page size, rounded down).
    void fill_leaving(uint64_t free_bytes)
    {
        fs::remove(disk / "filler");
        struct statvfs st{};
        ASSERT_EQ(::statvfs(disk.path().c_str(), &st), 0);
        const uint64_t avail = uint64_t{st.f_bavail} * st.f_frsize;
        ASSERT_GE(avail, free_bytes);
        std::ofstream f(disk / "filler", std::ios::binary);
        const std::string block(4096, 'x');
        for (uint64_t left = avail - free_bytes; left > 0;) {
            const uint64_t n = std::min<uint64_t>(left, block.size());
            f.write(block.data(), static_cast<std::streamsize>(n));
            left -= n;
        }
        f.close();
        ASSERT_TRUE(f) << "filling the small disk failed";
    }

    void expect_clean_failure(const std::vector<std::string>& extra, const std::string& out_name)
    {
        for (const uint64_t free_bytes : {uint64_t{0}, uint64_t{4096}, uint64_t{64} << 10, uint64_t{160} << 10,
                                          uint64_t{280} << 10}) {
            SCOPED_TRACE(out_name + " with " + std::to_string(free_bytes) + " bytes free");
            fill_leaving(free_bytes);
            const auto before = test::snapshot(in.path());
            std::vector<std::string> args{"repack", (in / "model.safetensors").string(), (disk / out_name).string()};
            args.insert(args.end(), extra.begin(), extra.end());
            const auto r = test::ckptconv_cli(args);
            EXPECT_EQ(r.signal, 0) << "killed by signal " << r.signal << "\n" << r.err;
            EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
            EXPECT_NE(lower(r.err).find("no space left"), std::string::npos) << r.err;
            // The file named is the one being written: the output's partial file beside it.
            EXPECT_NE(r.err.find((disk / ("." + out_name)).string()), std::string::npos) << r.err;
            EXPECT_EQ(test::list_tree(disk.path()), std::vector<std::string>{"filler"}) << r.err;
            EXPECT_EQ(test::snapshot(in.path()), before);
        }
    }

    TempDir disk;
    TempDir in;
    bool mounted = false;
};

TEST_F(FullDisk, MdlPlain) { expect_clean_failure({"--uncompressed"}, "out.mdl"); }
TEST_F(FullDisk, MdlLz4) { expect_clean_failure({}, "out.mdl"); }
TEST_F(FullDisk, Safetensors) { expect_clean_failure({}, "out.safetensors"); }
TEST_F(FullDisk, PytorchBin) { expect_clean_failure({}, "pytorch_model.bin"); }
TEST_F(FullDisk, ShardedSafetensors)
{
    expect_clean_failure({"--format", "safetensors", "--shard-size", "100KB"}, "shards");
}
TEST_F(FullDisk, ShardedBin) { expect_clean_failure({"--format", "pytorch", "--shard-size", "100KB"}, "shards"); }

} // namespace
} // namespace ckpt
