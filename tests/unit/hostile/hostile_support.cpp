// SPDX-License-Identifier: Apache-2.0
// Helpers of the hostile-input tests (see hostile_support.hpp).
#include "hostile_support.hpp"

#include "core/tensor.hpp"
#include "formats/mdl/mdl.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

namespace ckpt::test {

namespace fs = std::filesystem;

namespace {

TensorPtr counting_f32(std::vector<int64_t> shape)
{
    TensorInfo info{DType::f32, std::move(shape)};
    std::vector<std::byte> b(info.nbytes());
    for (size_t i = 0; i < b.size() / 4; ++i) {
        const float v = static_cast<float>(i);
        std::memcpy(b.data() + 4 * i, &v, 4);
    }
    return std::make_shared<MemoryTensor>(info, std::move(b));
}

herr_t copy_attr(hid_t src, const char* name, const H5A_info_t*, void* data)
{
    const hid_t dst = *static_cast<hid_t*>(data);
    const hid_t a = H5Aopen(src, name, H5P_DEFAULT);
    const hid_t type = H5Aget_type(a);
    const hid_t space = H5Aget_space(a);
    std::vector<unsigned char> buf(H5Tget_size(type) * static_cast<size_t>(std::max<hssize_t>(1, H5Sget_simple_extent_npoints(space))));
    H5Aread(a, type, buf.data());
    const hid_t b = H5Acreate2(dst, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(b, type, buf.data());
    // Variable-length strings were allocated by HDF5 while reading; it frees them too.
    if (H5Tis_variable_str(type) > 0 || H5Tdetect_class(type, H5T_VLEN) > 0)
        H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf.data());
    H5Aclose(b);
    H5Sclose(space);
    H5Tclose(type);
    H5Aclose(a);
    return 0;
}

} // namespace

void write_small_mdl(const fs::path& path)
{
    Node model = Node::map();
    model.set("w", counting_f32({4, 4}));
    model.set("v", counting_f32({4}));
    Node root = Node::map();
    root.set("model", std::move(model));
    MdlWriteOptions options;
    options.compress = false;
    write_mdl(path, root, options);
}

void replace_dataset(const fs::path& path, const std::string& name,
                     const std::function<void(hid_t file, const std::string& name)>& make)
{
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(file, 0) << path;
    const std::string old = name + ".old";
    ASSERT_GE(H5Lmove(file, name.c_str(), file, old.c_str(), H5P_DEFAULT, H5P_DEFAULT), 0) << name;
    make(file, name);
    H5O_info_t info{};
    // Attributes make the new object look like the tensor it replaced, so only its storage
    // differs. Not through links: the object a link names stays where it is.
    H5L_info_t link{};
    if (H5Lget_info(file, name.c_str(), &link, H5P_DEFAULT) >= 0 && link.type == H5L_TYPE_HARD &&
        H5Oget_info_by_name2(file, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 &&
        info.type == H5O_TYPE_DATASET) {
        const hid_t src = H5Dopen2(file, old.c_str(), H5P_DEFAULT);
        hid_t dst = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
        hsize_t idx = 0;
        H5Aiterate2(src, H5_INDEX_NAME, H5_ITER_INC, &idx, copy_attr, &dst);
        H5Dclose(dst);
        H5Dclose(src);
    }
    ASSERT_GE(H5Fclose(file), 0);
}

namespace {
void create_f32_4x4(hid_t file, const std::string& name, const std::function<void(hid_t dcpl, hid_t space)>& layout)
{
    const hsize_t dims[2] = {4, 4};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    layout(dcpl, space);
    const hid_t d = H5Dcreate2(file, name.c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    EXPECT_GE(d, 0) << name;
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
}
} // namespace

void create_external_dataset(hid_t file, const std::string& name, const std::string& raw)
{
    create_f32_4x4(file, name, [&](hid_t dcpl, hid_t) { EXPECT_GE(H5Pset_external(dcpl, raw.c_str(), 0, 64), 0); });
}

void create_virtual_dataset(hid_t file, const std::string& name, const std::string& source,
                            const std::string& source_name)
{
    create_f32_4x4(file, name, [&](hid_t dcpl, hid_t space) {
        EXPECT_GE(H5Pset_virtual(dcpl, space, source.c_str(), source_name.c_str(), space), 0);
    });
}

std::map<std::string, std::string> snapshot(const fs::path& dir)
{
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file())
            out[fs::relative(e.path(), dir).string()] = read_file(e.path());
    return out;
}

RunResult ckptconv_cli(std::vector<std::string> args)
{
    args.push_back("--plugin-dir");
    args.push_back(CKPTCONV_FIXTURE_PLUGIN_DIR);
    return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR="});
}

} // namespace ckpt::test
