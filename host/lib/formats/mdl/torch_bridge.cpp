// SPDX-License-Identifier: Apache-2.0
// Delegates pickle-format `.mdl` files to the torch container, as cstorch.load falls back to
// torch.load for anything that is not HDF5.
#include "formats/mdl/torch_bridge.hpp"

#include "core/error.hpp"
#include "formats/mdl/mdl.hpp"
#include "formats/torch/torch_reader.hpp"

#if __has_include("formats/torch/torch_writer.hpp")
#include "formats/torch/torch_writer.hpp"
#define CKPT_MDL_HAVE_TORCH_WRITER 1
#endif

namespace ckpt {

namespace detail {

bool is_torch_file(std::string_view head)
{
    return is_torch_zip(head) || (head.size() >= 16 && is_torch_legacy(head));
}

Checkpoint read_mdl_torch(const std::filesystem::path& path)
{
    Checkpoint cp = read_torch(path);
    cp.format = "mdl-pickle";
    return cp;
}

} // namespace detail

void write_mdl_pickle(const std::filesystem::path& path, const Node& root)
{
#ifdef CKPT_MDL_HAVE_TORCH_WRITER
    write_torch(path, root);
#else
    (void)root;
    throw_input("{}: writing a pickle-format .mdl needs the torch writer, which this build lacks", path.string());
#endif
}

} // namespace ckpt
