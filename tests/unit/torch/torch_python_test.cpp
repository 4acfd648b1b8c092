// SPDX-License-Identifier: Apache-2.0
// Cross-checks with real PyTorch (ctest label `python`): skipped when `import torch` fails.
#include "core/error.hpp"
#include "formats/torch/torch_reader.hpp"
#include "formats/torch/torch_writer.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>

namespace ckpt {
namespace {

// The first interpreter that can import torch (Debian's python3-torch lives in /usr/bin).
std::string torch_python()
{
    for (const char* py : {"python3", "/usr/bin/python3"}) {
        const std::string cmd = std::string(py) + " -c 'import torch' >/dev/null 2>&1";
        if (std::system(cmd.c_str()) == 0)
            return py;
    }
    return {};
}

std::string run_python(const std::string& py, const std::filesystem::path& script)
{
    const std::string cmd = py + " " + script.string() + " 2>&1";
    FILE* f = popen(cmd.c_str(), "r");
    if (!f)
        return {};
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        out.append(buf, n);
    EXPECT_EQ(pclose(f), 0) << out;
    return out;
}

std::string hex(const std::vector<std::byte>& b)
{
    static const char* d = "0123456789abcdef";
    std::string s;
    for (auto x : b) {
        s += d[static_cast<unsigned>(x) >> 4];
        s += d[static_cast<unsigned>(x) & 15];
    }
    return s;
}

// Python side: one line per tensor, "name dtype shape hex".
constexpr const char* kDump = R"(
def dump(sd, out):
    import torch
    with open(out, 'w') as f:
        for k, v in sd.items():
            if not isinstance(v, torch.Tensor):
                continue
            b = v.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes().hex()
            f.write('%s %s %s %s\n' % (k, str(v.dtype).replace('torch.', ''), 'x'.join(map(str, v.shape)) or '-', b or '-'))
)";

std::map<std::string, std::string> parse_dump(const std::string& text)
{
    std::map<std::string, std::string> m;
    std::istringstream in(text);
    std::string name, dtype, shape, h;
    while (in >> name >> dtype >> shape >> h)
        m[name] = dtype + " " + shape + " " + (h == "-" ? "" : h);
    return m;
}

std::string describe_ours(const TensorData& t)
{
    static const std::map<DType, std::string> names = {
        {DType::f32, "float32"}, {DType::f16, "float16"}, {DType::bf16, "bfloat16"}, {DType::f64, "float64"},
        {DType::i64, "int64"},   {DType::i32, "int32"},   {DType::i16, "int16"},     {DType::i8, "int8"},
        {DType::u8, "uint8"},    {DType::boolean, "bool"}};
    std::string shape;
    for (auto d : t.info().shape)
        shape += (shape.empty() ? "" : "x") + std::to_string(d);
    return names.at(t.info().dtype) + " " + (shape.empty() ? "-" : shape) + " " + hex(read_all(t));
}

TEST(TorchPython, TorchLoadsOurOutput)
{
    const std::string py = torch_python();
    if (py.empty())
        GTEST_SKIP() << "python3 cannot import torch";
    test::TempDir dir;
    Node root = Node::map();
    std::mt19937 rng(5);
    auto make = [&](DType dt, std::vector<int64_t> shape) {
        TensorInfo info{dt, std::move(shape)};
        std::vector<std::byte> b(info.nbytes());
        for (auto& x : b)
            x = static_cast<std::byte>(dt == DType::boolean ? rng() & 1 : rng() & 0xff);
        if (dt == DType::f32 || dt == DType::f64 || dt == DType::f16 || dt == DType::bf16)
            for (size_t i = 0; i + 1 < b.size(); i += dtype_size(dt))
                b[i + dtype_size(dt) - 1] = static_cast<std::byte>(0x3c); // finite, no NaN payloads
        return std::make_shared<MemoryTensor>(info, std::move(b));
    };
    for (DType dt : {DType::f32, DType::f16, DType::bf16, DType::f64, DType::i64, DType::i32, DType::i16, DType::i8,
                     DType::u8, DType::boolean})
        root.set(std::string(dtype_name(dt)), Node(TensorPtr(make(dt, {3, 4}))));
    root.set("scalar", Node(TensorPtr(make(DType::f32, {}))));
    root.set("empty", Node(TensorPtr(make(DType::f32, {0, 2}))));
    const TensorPtr tied = make(DType::f32, {2, 2});
    root.set("tied_a", Node(tied));
    root.set("tied_b", Node(tied));
    const auto bin = dir / "ours.bin";
    write_torch(bin, root);

    const auto script = dir / "check.py";
    test::write_file(script, std::string(kDump) + "import torch\nsd = torch.load('" + bin.string() +
                                 "', weights_only=True)\nassert sd['tied_a'].data_ptr() == sd['tied_b'].data_ptr()\n"
                                 "dump(sd, '" + (dir / "dump.txt").string() + "')\n");
    run_python(py, script);
    const auto theirs = parse_dump(test::read_file(dir / "dump.txt"));
    ASSERT_EQ(theirs.size(), root.size());
    for (const auto& [k, v] : root.entries())
        EXPECT_EQ(theirs.at(k.as_string()), describe_ours(*v.as_tensor())) << k.as_string();
}

TEST(TorchPython, WeReadWhatTorchSaves)
{
    const std::string py = torch_python();
    if (py.empty())
        GTEST_SKIP() << "python3 cannot import torch";
    test::TempDir dir;
    const auto script = dir / "save.py";
    test::write_file(script, std::string(kDump) + R"(
import torch
torch.manual_seed(0)
base = torch.randn(6, 4)
w = torch.nn.Parameter(torch.randn(3, 3))
sd = {
    'plain': base,
    'transposed_f16': base.half().t(),
    'slice_i64': torch.arange(10)[2:7],
    'step': base[::2, 1::2],
    'bf16': torch.randn(5).bfloat16(),
    'param': w,
    'tied': base,
    'scalar': torch.tensor(3.5),
    'bool': torch.tensor([True, False, True]),
}
d = ')" + dir.path().string() + R"('
torch.save(sd, d + '/zip.pt')
torch.save(sd, d + '/legacy.pt', _use_new_zipfile_serialization=False)
dump(sd, d + '/dump.txt')
)");
    run_python(py, script);
    const auto want = parse_dump(test::read_file(dir / "dump.txt"));
    for (const char* file : {"zip.pt", "legacy.pt"}) {
        SCOPED_TRACE(file);
        const Checkpoint ck = read_torch(dir / file);
        ASSERT_EQ(ck.root.size(), want.size());
        for (const auto& [k, v] : ck.root.entries())
            EXPECT_EQ(describe_ours(*v.as_tensor()), want.at(k.as_string())) << k.as_string();
        EXPECT_EQ(ck.root.find("plain")->as_tensor().get(), ck.root.find("tied")->as_tensor().get());
    }
}

} // namespace
} // namespace ckpt
