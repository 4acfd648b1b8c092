// SPDX-License-Identifier: Apache-2.0
// Optional (ctest label `python`): Python's h5py and pickle load what ckptconv writes.
#include "formats/mdl/mdl.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace ckpt {
namespace {

std::string python_with_h5py()
{
    for (const char* py : {"/usr/bin/python3", "python3"}) {
        const std::string cmd = std::string(py) + " -c 'import h5py, numpy' >/dev/null 2>&1";
        if (std::system(cmd.c_str()) == 0)
            return py;
    }
    return "";
}

TEST(MdlPython, H5pyAndPickleLoadOurOutput)
{
    const std::string py = python_with_h5py();
    if (py.empty())
        GTEST_SKIP() << "python3 with h5py and numpy not found (apt-get install python3-h5py)";
    test::TempDir dir;
    for (const char* rel : {"cs-ref/gpt2/cs22_to_cs23_train_state/checkpoint_10_to_cs-2.3.mdl",
                            "cs-ref/gpt2/hf_to_cs_bf16/pytorch_model_to_cs-2.3.mdl"}) {
        for (bool compress : {false, true}) {
            SCOPED_TRACE(std::string(rel) + (compress ? " lz4" : " plain"));
            const auto ref = test::data_path(rel);
            MdlWriteOptions o;
            o.compress = compress;
            const auto out = dir / (compress ? "lz4.mdl" : "plain.mdl");
            std::filesystem::remove(out);
            write_mdl(out, read_mdl(ref).root, o);
            const std::string cmd = py + " " + CKPTCONV_MDL_PY_CHECK + " '" + out.string() + "' '" + ref.string() + "'";
            EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
        }
    }
}

} // namespace
} // namespace ckpt
