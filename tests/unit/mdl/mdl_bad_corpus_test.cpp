// SPDX-License-Identifier: Apache-2.0
// Every broken file in tests/data/bad/mdl gives an InputError naming the file; none crashes.
#include "formats/mdl/mdl.hpp"

#include "core/error.hpp"
#include "formats/mdl/tree_spec.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <unistd.h>

namespace ckpt {
namespace {

// Reads the file and every tensor in it (LZ4 damage only shows when chunks are decoded).
void read_everything(const std::filesystem::path& p)
{
    const Checkpoint cp = read_mdl(p);
    std::function<void(const Node&)> walk = [&](const Node& n) {
        if (n.is_tensor())
            (void)read_all(*n.as_tensor());
        else if (n.is_map())
            for (const auto& e : n.entries())
                walk(e.second);
        else if (n.is_sequence())
            for (const auto& v : n.items())
                walk(v);
    };
    walk(cp.root);
}

// Captures what is written to stderr (fd 2) while `f` runs: HDF5 must not print its error stack.
std::string stderr_of(const std::function<void()>& f)
{
    std::fflush(stderr);
    char tmpl[] = "/tmp/ckptconv-mdl-stderr-XXXXXX";
    const int fd = mkstemp(tmpl);
    const int saved = dup(2);
    dup2(fd, 2);
    f();
    std::fflush(stderr);
    dup2(saved, 2);
    close(saved);
    const std::string out = test::read_file(tmpl);
    close(fd);
    std::remove(tmpl);
    return out;
}

TEST(MdlBadCorpus, EveryFileIsAnInputErrorNamingTheFile)
{
    const auto dir = test::data_path("bad/mdl");
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() != ".mdl")
            continue;
        ++n;
        SCOPED_TRACE(e.path().filename().string());
        std::string message;
        const std::string err = stderr_of([&] {
            try {
                read_everything(e.path());
                ADD_FAILURE() << "no error";
            } catch (const InputError& ex) {
                message = ex.what();
            } catch (const std::exception& ex) {
                ADD_FAILURE() << "not an InputError: " << ex.what();
            }
        });
        EXPECT_NE(message.find(e.path().filename().string()), std::string::npos) << message;
        EXPECT_EQ(err.find("HDF5-DIAG"), std::string::npos) << "HDF5 printed its error stack:\n" << err;
    }
    EXPECT_GE(n, 20u);
}

TEST(MdlBadCorpus, MissingFileIsAnInputError)
{
    EXPECT_THROW(read_mdl(test::data_path("bad/mdl/does-not-exist.mdl")), InputError);
}

TEST(MdlBadCorpus, HostileJsonIsBounded)
{
    std::string deep(100000, '[');
    EXPECT_THROW(detail::parse_json(deep, "deep"), InputError);
    EXPECT_THROW(detail::parse_json("{\"a\": ", "cut"), InputError);
}

} // namespace
} // namespace ckpt
