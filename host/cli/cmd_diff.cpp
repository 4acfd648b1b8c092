// SPDX-License-Identifier: Apache-2.0
// `ckptconv diff A B`: compares two checkpoints leaf by leaf, across containers, streaming
// tensor bytes in bounded chunks.
#include "cli_common.hpp"
#include "commands.hpp"
#include "json_output.hpp"

#include "core/element_convert.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "core/tree_paths.hpp"
#include "formats/container.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>

namespace ckpt::cli {

namespace {

struct TensorDiff {
    uint64_t differing = 0;
    double max_abs = 0;
};

/// Compares two tensors of equal dtype and shape: bytes, or values within `atol` for floats.
TensorDiff compare_tensors(const TensorData& a, const TensorData& b, std::optional<double> atol)
{
    TensorDiff d;
    const TensorInfo& info = a.info();
    const size_t esize = dtype_size(info.dtype);
    const uint64_t n = info.nbytes();
    constexpr uint64_t kChunkElems = 1u << 20;
    const uint64_t chunk = std::max<uint64_t>(esize, kChunkElems * esize);
    std::vector<std::byte> ba(std::min(n, chunk)), bb(std::min(n, chunk));
    const bool by_value = atol && (is_float_dtype(info.dtype) || info.dtype == DType::f8_e4m3 ||
                                             info.dtype == DType::f8_e5m2);
    for (uint64_t off = 0; off < n; off += chunk) {
        const uint64_t len = std::min(chunk, n - off);
        const std::byte* pa = a.data() ? a.data() + off : (a.read(off, ba.data(), len), ba.data());
        const std::byte* pb = b.data() ? b.data() + off : (b.read(off, bb.data(), len), bb.data());
        if (!by_value && std::memcmp(pa, pb, len) == 0)
            continue;
        for (uint64_t i = 0; i < len; i += esize) {
            if (std::memcmp(pa + i, pb + i, esize) == 0)
                continue;
            double x = load_double(info.dtype, pa + i), y = load_double(info.dtype, pb + i);
            double diff = std::fabs(x - y);
            if (std::isnan(x) && std::isnan(y))
                continue;
            if (by_value && diff <= *atol)
                continue;
            ++d.differing;
            if (std::isnan(diff) || diff > d.max_abs)
                d.max_abs = std::isnan(diff) ? INFINITY : diff;
        }
    }
    return d;
}

std::string py_list(const std::vector<std::string>& v)
{
    std::vector<std::string> q;
    for (const auto& s : v)
        q.push_back("'" + s + "'");
    return "[" + fmt::format("{}", fmt::join(q, ", ")) + "]";
}

} // namespace

int cmd_diff(const Args& args)
{
    CommonOptions common;
    std::string left, right;
    double atol_value = 0;
    bool json = false;
    Parser p("diff", "ckptconv diff LEFT RIGHT [--atol X] [--json]",
             "Compares two checkpoints entry by entry (any containers: safetensors, .bin, .mdl, sharded "
             "index, Hugging Face model folder). Tensors must have the same dtype and shape and equal bytes, or, with --atol, "
             "float values within X of each other. Exit 0 when the checkpoints are the same, 1 when they "
             "differ.");
    p.options().add_options()("left", po::value<std::string>(&left)->required(), "first checkpoint")(
        "right", po::value<std::string>(&right)->required(), "second checkpoint")(
        "atol", po::value<double>(&atol_value), "absolute tolerance for floating-point tensors")(
        "json", po::bool_switch(&json), "print the differences as JSON");
    p.positional("left", "LEFT");
    p.positional("right", "RIGHT");
    p.add_common(common);
    po::variables_map vm;
    if (!p.parse(args, vm))
        return 0;
    std::optional<double> atol;
    if (vm.count("atol")) {
        if (!(atol_value >= 0))
            throw UsageError("--atol must be a non-negative number");
        atol = atol_value;
    }
    Session s = load_session(common);
    log::info("Loading checkpoints...");
    Checkpoint a = open_checkpoint(left, &s.records);
    Checkpoint b = open_checkpoint(right, &s.records);
    log::info("Comparing checkpoints...");

    auto la = leaves(a.root), lb = leaves(b.root);
    std::map<std::string, const Node*> mb(lb.begin(), lb.end());
    std::map<std::string, const Node*> ma(la.begin(), la.end());
    std::vector<std::string> only_left, only_right, differences;
    std::vector<std::pair<std::string, std::string>> json_items; // name, why
    for (const auto& [name, na] : la) {
        auto it = mb.find(name);
        if (it == mb.end()) {
            only_left.push_back(name);
            continue;
        }
        const Node* nb = it->second;
        std::string why;
        if (na->is_tensor() != nb->is_tensor()) {
            why = fmt::format("{} vs {}", render_leaf(*na), render_leaf(*nb));
        } else if (na->is_tensor()) {
            const TensorInfo& ia = na->as_tensor()->info();
            const TensorInfo& ib = nb->as_tensor()->info();
            if (ia != ib) {
                why = fmt::format("{} vs {}", describe(ia), describe(ib));
            } else {
                TensorDiff d = compare_tensors(*na->as_tensor(), *nb->as_tensor(), atol);
                if (d.differing)
                    why = fmt::format("{} of {} elements differ (max abs difference {})", d.differing, ia.numel(),
                                      d.max_abs);
            }
        } else if (*na != *nb) {
            why = fmt::format("{} vs {}", render_leaf(*na), render_leaf(*nb));
        }
        if (!why.empty()) {
            differences.push_back(fmt::format("{}: {}", name, why));
            json_items.emplace_back(name, why);
        }
    }
    for (const auto& [name, nb] : lb)
        if (!ma.count(name))
            only_right.push_back(name);

    const bool same = only_left.empty() && only_right.empty() && differences.empty();
    if (json) {
        JsonOutput out;
        out.begin_object();
        out.member("same", same);
        out.member("only_left", only_left);
        out.member("only_right", only_right);
        out.key("differences");
        out.begin_array();
        for (const auto& [name, why] : json_items) {
            out.begin_object();
            out.member("name", name);
            out.member("difference", why);
            out.end_object();
        }
        out.end_array();
        out.end_object();
        out.print(std::cout);
        return same ? 0 : 1;
    }
    if (!only_left.empty())
        std::cout << "The following keys are in the left checkpoint but not right:\n" << escape_control(py_list(only_left)) << "\n";
    if (!only_right.empty())
        std::cout << "The following keys are in the right checkpoint but not left:\n" << escape_control(py_list(only_right)) << "\n";
    if (!differences.empty()) {
        std::cout << "The following keys differ:\n";
        for (const auto& d : differences)
            std::cout << "  " << escape_control(d) << "\n"; // names from the files: no raw controls
    }
    std::cout << (same ? "\nCheckpoints are the same\n" : "\nCheckpoints differ\n");
    return same ? 0 : 1;
}

} // namespace ckpt::cli
