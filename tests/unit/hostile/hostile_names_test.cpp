// SPDX-License-Identifier: Apache-2.0
// Names and headers from hostile files: "." / ".." tensors refused before a `.mdl` is written,
// terminal controls escaped in messages and `inspect`, refused callables flagged, and a damaged
// safetensors length prefix named as such.
#include "formats/mdl/mdl_names.hpp"
#include "hostile_support.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace ckpt {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// A safetensors file of one F32[1] tensor per name, with `header_len` written as the length
// prefix when given (else the true length).
std::string safetensors_of(const std::vector<std::string>& names, std::optional<uint64_t> header_len = {})
{
    std::string json = "{";
    for (size_t i = 0; i < names.size(); ++i)
        json += (i ? "," : "") + ("\"" + names[i] + "\"") + ":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" +
                std::to_string(4 * i) + "," + std::to_string(4 * i + 4) + "]}";
    json += "}";
    const uint64_t n = header_len.value_or(json.size());
    std::string out(8, '\0');
    for (int k = 0; k < 8; ++k)
        out[static_cast<size_t>(k)] = static_cast<char>((n >> (8 * k)) & 0xff);
    return out + json + std::string(4 * names.size(), '\0');
}

// A small `.mdl` whose `model.v` is cstorch's ObjectH5Type: a (dill) pickle stored as hex.
void write_mdl_with_object(const fs::path& mdl, const std::string& pickle)
{
    test::write_small_mdl(mdl);
    const std::string hex = detail::to_hex(pickle);
    test::replace_dataset(mdl, "model.v", [&](hid_t file, const std::string& name) {
        const hid_t space = H5Screate(H5S_SCALAR);
        const hid_t d = H5Dcreate2(file, name.c_str(), H5T_STD_I8LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        ASSERT_GE(d, 0);
        const hid_t str = H5Tcopy(H5T_C_S1);
        H5Tset_size(str, H5T_VARIABLE);
        for (const auto& [attr, value] : {std::pair<std::string, std::string>{"__H5_TYPE__", "ObjectH5Type"},
                                          {"object_value", hex}}) {
            const hid_t a = H5Acreate2(d, attr.c_str(), str, space, H5P_DEFAULT, H5P_DEFAULT);
            const char* p = value.c_str();
            H5Awrite(a, str, &p);
            H5Aclose(a);
        }
        H5Tclose(str);
        H5Dclose(d);
        H5Sclose(space);
    });
}

TEST(HostileNames, DotAndDotDotTensorsAreRefusedBeforeAnMdlIsWritten)
{
    for (const std::string name : {"..", "."}) {
        SCOPED_TRACE(name);
        TempDir dir;
        test::write_file(dir / "in.safetensors", safetensors_of({"ok", name}));
        const auto before = test::snapshot(dir.path());
        const auto r = test::ckptconv_cli({"repack", (dir / "in.safetensors").string(), (dir / "out.mdl").string()});
        EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
        EXPECT_NE(r.err.find("key '" + name + "'"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("reserved by HDF5"), std::string::npos) << r.err;
        EXPECT_EQ(test::snapshot(dir.path()), before) << "output or partial file left behind";
    }
}

TEST(HostileNames, TerminalControlsAreEscapedInInspectAndMessages)
{
    TempDir dir;
    // ESC ] 0 ; … BEL retitles a terminal window; \u001b is how JSON spells the ESC byte.
    const std::string evil = "x\\u001b]0;pwned\\u0007y";
    test::write_file(dir / "in.safetensors", safetensors_of({evil}));
    const auto r = test::ckptconv_cli({"inspect", (dir / "in.safetensors").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find('\x07'), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("x\\x1b]0;pwned\\x07y"), std::string::npos) << r.out;

    // Raw controls in a log line: a refused callable whose module name carries them, named in
    // the warning and in inspect's value column.
    write_mdl_with_object(dir / "evil.mdl", "cos.\x1b]0;pwned\x07\nsystem\n(S'true'\ntR.");
    const auto e = test::ckptconv_cli({"inspect", (dir / "evil.mdl").string()});
    ASSERT_EQ(e.exit_code, 0) << e.err;
    for (const std::string& text : {e.out, e.err}) {
        EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
        EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
        EXPECT_NE(text.find("os.\\x1b]0;pwned\\x07.system"), std::string::npos) << text;
    }
}

TEST(HostileNames, ADamagedSafetensorsLengthIsNamed)
{
    TempDir dir;
    test::write_file(dir / "in.safetensors", safetensors_of({"a"}, uint64_t{1} << 20));
    const auto r = test::ckptconv_cli({"inspect", (dir / "in.safetensors").string()});
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_NE(r.err.find("damaged safetensors header: the 8-byte header length says 1048576 bytes, but only"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("not a checkpoint"), std::string::npos) << r.err;
}

TEST(HostileNames, InspectFlagsARefusedCallable)
{
    TempDir dir;
    const fs::path mdl = dir / "model.mdl";
    // This pickle calls os.system('true') when Python loads it.
    write_mdl_with_object(mdl, "cos\nsystem\n(S'true'\ntR.");
    const auto r = test::ckptconv_cli({"inspect", mdl.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("<REFUSED callable os.system>"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("WARNING"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("os.system"), std::string::npos) << r.err;
}

} // namespace
} // namespace ckpt
