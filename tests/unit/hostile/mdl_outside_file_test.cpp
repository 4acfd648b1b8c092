// SPDX-License-Identifier: Apache-2.0
// An `.mdl` never makes ckptconv read another file: external raw storage, external, soft and
// virtual links are refused with the file and dataset named, by the reader and by the driver.
#include "core/error.hpp"
#include "core/tensor.hpp"
#include "core/tree_paths.hpp"
#include "formats/mdl/h5_handle.hpp"
#include "formats/mdl/h5_tensor.hpp"
#include "formats/mdl/mdl.hpp"
#include "hostile_support.hpp"

#include <gtest/gtest.h>

namespace ckpt {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

class OutsideFile : public ::testing::Test {
protected:
    void SetUp() override
    {
        test::write_small_mdl(mdl);
        // The file a hostile checkpoint points at: here a copy of the checkpoint itself, so
        // following the reference would give a perfectly readable tensor.
        fs::copy_file(mdl, secret_h5);
        test::write_file(secret_bin, std::string(64, '\x42'));
    }

    // Reads the checkpoint and every tensor byte, as `convert` would. Returns the error text.
    std::string read_everything()
    {
        try {
            const Checkpoint cp = read_mdl(mdl);
            for_each_leaf(cp.root, [](const std::string&, const Node& leaf) {
                if (leaf.is_tensor())
                    (void)read_all(*leaf.as_tensor());
            });
        } catch (const InputError& e) {
            return e.what();
        }
        return "";
    }

    TempDir dir;
    fs::path mdl = dir / "model.mdl";
    fs::path secret_h5 = dir / "secret.h5";
    fs::path secret_bin = dir / "secret.bin";
};

TEST_F(OutsideFile, ExternalRawStorageIsRefused)
{
    const std::string secret = secret_bin.string();
    test::replace_dataset(mdl, "model.w", [&](hid_t file, const std::string& name) {
        test::create_external_dataset(file, name, secret);
    });
    const std::string err = read_everything();
    EXPECT_NE(err.find(mdl.string()), std::string::npos) << err;
    EXPECT_NE(err.find("'model.w'"), std::string::npos) << err;
    EXPECT_NE(err.find("external file"), std::string::npos) << err;
    EXPECT_NE(err.find("secret.bin"), std::string::npos) << err;
}

TEST_F(OutsideFile, ExternalLinkIsRefused)
{
    const std::string secret = secret_h5.string();
    test::replace_dataset(mdl, "model.w", [&](hid_t file, const std::string& name) {
        ASSERT_GE(H5Lcreate_external(secret.c_str(), "/model.w", file, name.c_str(), H5P_DEFAULT, H5P_DEFAULT), 0);
    });
    const std::string err = read_everything();
    EXPECT_NE(err.find(mdl.string()), std::string::npos) << err;
    EXPECT_NE(err.find("'model.w' is an external link"), std::string::npos) << err;
}

TEST_F(OutsideFile, ExternalLinkOnThePathIsRefused)
{
    // A group link on the way to the dataset is followed by HDF5 before the dataset's own link.
    const std::string secret = secret_h5.string();
    test::replace_dataset(mdl, "model.w", [&](hid_t file, const std::string& name) {
        ASSERT_GE(H5Lcreate_external(secret.c_str(), "/", file, "elsewhere", H5P_DEFAULT, H5P_DEFAULT), 0);
        ASSERT_GE(H5Lcreate_soft("/elsewhere/model.w", file, name.c_str(), H5P_DEFAULT, H5P_DEFAULT), 0);
    });
    const std::string err = read_everything();
    EXPECT_NE(err.find("'model.w' is a soft link"), std::string::npos) << err;
    std::lock_guard<std::recursive_mutex> lock(detail::h5_mutex());
    const auto f = detail::H5File::open(mdl);
    EXPECT_THROW(detail::h5_hard_path_exists(f->id(), "elsewhere/model.w", "x"), InputError);
    EXPECT_FALSE(detail::h5_hard_path_exists(f->id(), "nowhere/model.w", "x"));
    EXPECT_TRUE(detail::h5_hard_path_exists(f->id(), "model.w.old", "x"));
}

TEST_F(OutsideFile, VirtualDatasetIsRefused)
{
    const std::string secret = secret_h5.string();
    test::replace_dataset(mdl, "model.w", [&](hid_t file, const std::string& name) {
        test::create_virtual_dataset(file, name, secret, "/model.w");
    });
    const std::string err = read_everything();
    EXPECT_NE(err.find(mdl.string()), std::string::npos) << err;
    EXPECT_NE(err.find("'model.w'"), std::string::npos) << err;
    EXPECT_NE(err.find("virtual dataset"), std::string::npos) << err;
}

TEST_F(OutsideFile, DriverOpensNoOtherFileEvenWhenAsked)
{
    // Below the reader's checks: HDF5 itself asked to follow an external link through an input
    // opened by ckptconv gets a refusal from the file driver.
    const std::string secret = secret_h5.string();
    test::replace_dataset(mdl, "model.w", [&](hid_t file, const std::string& name) {
        ASSERT_GE(H5Lcreate_external(secret.c_str(), "/model.w", file, name.c_str(), H5P_DEFAULT, H5P_DEFAULT), 0);
    });
    std::lock_guard<std::recursive_mutex> lock(detail::h5_mutex());
    // Control: opened with HDF5's default driver, the link leads into the other file.
    const hid_t plain = H5Fopen(mdl.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(plain, 0);
    const hid_t followed = H5Dopen2(plain, "model.w", H5P_DEFAULT);
    EXPECT_GE(followed, 0) << "HDF5 did not follow the link at all: " << detail::h5_error_text();
    if (followed >= 0)
        H5Dclose(followed);
    H5Fclose(plain);
    // Opened as ckptconv opens inputs, the driver refuses the second file (HDF5 retries it under
    // other prefixes and then reports only that it could not open it).
    const auto f = detail::H5File::open(mdl);
    const hid_t d = H5Dopen2(f->id(), "model.w", H5P_DEFAULT);
    if (d >= 0)
        H5Dclose(d);
    EXPECT_LT(d, 0) << "HDF5 followed the external link into " << secret;
    const std::string err = detail::h5_error_text();
    EXPECT_NE(err.find("unable to open external file"), std::string::npos) << err;
}

TEST_F(OutsideFile, CliRefusesWithExit4AndChangesNothing)
{
    const std::string secret = secret_bin.string();
    test::replace_dataset(mdl, "model.w", [&](hid_t file, const std::string& name) {
        test::create_external_dataset(file, name, secret);
    });
    const auto before = test::snapshot(dir.path());
    const auto r = test::ckptconv_cli({"repack", mdl.string(), (dir / "out.safetensors").string()});
    EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
    EXPECT_NE(r.err.find("external file"), std::string::npos) << r.err;
    EXPECT_EQ(test::snapshot(dir.path()), before);
}

} // namespace
} // namespace ckpt
