// SPDX-License-Identifier: Apache-2.0
// One conversion as the user asks for it: the path of converters, then the phases in order
// (plan -> validate -> write -> commit), each in the file named after it.
#include "convert/conversion.hpp"

#include "config/config_file.hpp"
#include "convert/conversion_plan.hpp"
#include "convert/dtype_cast.hpp"
#include "convert/output_names.hpp"
#include "convert/output_writer.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "engine/plan_api.hpp"
#include "formats/compound_folder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <iostream>
#include <map>
#include <regex>
#include <set>

namespace ckpt::convert {

namespace fs = std::filesystem;

namespace {

/// "Cannot convert ..." with the rows `list` would print for the model.
[[noreturn]] void cannot_convert(const host::Registry& reg, const host::ModelEntry& model, const std::string& name,
                                 const std::string& src, const std::string& tgt)
{
    std::string msg = fmt::format("Cannot convert {} from {} to {}. Conversions {} supports (both directions, "
                                  "chained as needed):",
                                  name, src, tgt, name);
    for (const auto& row : reg.list_rows(model))
        msg += fmt::format("\n  {} <-> {}{}", fmt::join(row.side[0], ", "), fmt::join(row.side[1], ", "),
                           row.fallback() ? "  (generic release step)" : "");
    // A model its plugin stops at an older release (MPT, which the Model Zoo removed): say which.
    if (const auto& last = model.last_release)
        for (const std::string& f : {src, tgt})
            if (auto v = host::parse_cs_version(f); v && last->version < *v) {
                msg += fmt::format("\n{} is the last release ckptconv converts {} to{}{}; convert to {} or older.",
                                   last->version.name(), name, last->why.empty() ? "" : ": ", last->why,
                                   last->version.name());
                break;
            }
    throw ConversionError(msg);
}

} // namespace

std::vector<Step> find_path(const host::Registry& reg, const host::ModelEntry& model, const std::string& src,
                            const std::string& tgt)
{
    if (src == tgt)
        throw ConversionError(fmt::format("--src-fmt and --tgt-fmt are both {}: nothing to convert", src));
    // Every edge, model converters first so that among equally short paths they win.
    std::vector<const host::ConverterEntry*> edges;
    for (const auto& c : model.converters)
        edges.push_back(&c);
    for (const auto& g : model.generic)
        edges.push_back(&g);

    std::map<std::string, Step> came_from; // format -> the step that reached it
    std::deque<std::string> queue{src};
    std::map<std::string, bool> seen{{src, true}};
    while (!queue.empty()) {
        std::string at = queue.front();
        queue.pop_front();
        if (at == tgt)
            break;
        for (const host::ConverterEntry* e : edges) {
            for (int dir = 0; dir < 2; ++dir) {
                const auto& from = e->side[dir];
                if (std::find(from.begin(), from.end(), at) == from.end())
                    continue;
                for (const auto& next : e->side[1 - dir]) {
                    // Never pass through hf on the way between two CS releases: CS-only config keys
                    // and checkpoint sections would be lost. To or from a private format, hf is
                    // the common ground (cs-2.3 -> hf -> acme-1).
                    if (seen[next] || (is_hf(next) && next != tgt && is_cs(src) && is_cs(tgt)))
                        continue;
                    seen[next] = true;
                    came_from[next] = Step{nullptr, at, next, dir};
                    came_from[next].converter = e;
                    queue.push_back(next);
                }
            }
        }
    }
    if (!came_from.count(tgt))
        cannot_convert(reg, model, model.name, src, tgt);
    std::vector<Step> path;
    for (std::string at = tgt; at != src; at = came_from[at].src)
        path.insert(path.begin(), came_from[at]);
    return path;
}

std::string describe_path(const std::vector<Step>& path)
{
    std::vector<std::string> parts;
    for (const auto& s : path)
        parts.push_back(fmt::format("{} -> {} ({})", s.src, s.tgt,
                                    s.converter->fallback() ? "generic release step" : "model converter"));
    return fmt::format("{}", fmt::join(parts, ", "));
}

std::string remove_file_extension(const std::string& filename)
{
    static const std::regex suffix(R"(\.[A-Za-z]+$)");
    std::string out = filename;
    while (true) {
        std::string next = std::regex_replace(out, suffix, "");
        if (next == out || next.empty())
            break;
        out = next;
    }
    return out;
}

Result convert_config_file(const host::Registry& reg, const Request& r)
{
    engine::install_plan_api();
    const host::ModelEntry& model = find_model(reg, r.model);
    const std::string model_name = reg.spelling(r.model);
    check_format(reg, r.src_fmt, "--src-fmt");
    const std::string tgt = resolve_tgt(r.tgt_fmt);
    check_format(reg, tgt, "--tgt-fmt");
    auto path = find_path(reg, model, r.src_fmt, tgt);
    log::debug("conversion path: {}", describe_path(path));
    Node source = read_config_input(r.config);
    const Node out_cfg = convert_configs(path, model_name, reg.registry_name(r.model), r, source).files.back();

    Result res;
    // A compound config goes into part folders of the output directory.
    res.config = is_hf(tgt) && is_compound_config(out_cfg) ? output_dir_for(r, r.config) : name_config_output(r, tgt);
    if (!r.dry_run)
        write_config_output(out_cfg, res.config, tgt, r);
    return res;
}

namespace {

void print_dry_run(const ConversionPlan& plan, const OutputNames& names)
{
    std::cout << fmt::format("Conversion path: {}\n", describe_path(plan.path));
    for (size_t i = 0; i < plan.path.size(); ++i)
        std::cout << fmt::format("\nStep {}: {} -> {}\n{}", i + 1, plan.path[i].src, plan.path[i].tgt,
                                 plan.step_descriptions[i]);
    std::cout << fmt::format("\nWould write {} and {}\n", names.checkpoint.string(), names.config.string());
}

/// Bytes the conversion reads, for the progress bar; a tied tensor is read once.
uint64_t total_bytes(const std::vector<NamedTensor>& tensors)
{
    uint64_t total = 0;
    std::set<const TensorData*> counted;
    for (const auto& t : tensors)
        if (counted.insert(t.tensor.get()).second)
            total += t.tensor->info().nbytes();
    return total;
}

} // namespace

Result convert_checkpoint(const host::Registry& reg, const std::vector<host::PluginRecord>& plugins, const Request& r)
{
    engine::install_plan_api();
    const ConversionPlan plan = plan_conversion(reg, plugins, r); // path, configs, validated plans
    const OutputNames names = is_hf(plan.tgt) && is_compound_config(plan.out_config)
                                  ? name_compound_outputs(r, plan.out_config)
                                  : name_outputs(r, plan.tgt);
    for (const auto& t : plan.tensors) // a compound output has a folder for every tensor
        if (!names.parts.empty() && (!split_part(t.name) || std::find(names.parts.begin(), names.parts.end(),
                                                                      split_part(t.name)->first) == names.parts.end()))
            throw ConversionError(fmt::format("the plan writes tensor '{}' outside the parts ({}) of its compound "
                                              "output; this is a bug in the plugin",
                                              t.name, fmt::join(names.parts, ", ")));
    Result res;
    res.checkpoint = names.checkpoint;
    res.config = names.config;
    res.path = describe_path(plan.path);
    res.tensors = plan.tensors.size();
    if (r.dry_run) {
        print_dry_run(plan, names);
        return res;
    }
    if (r.export_safetensors && !is_hf(plan.tgt))
        log::warning("--export-safetensors applies to Hugging Face output only; ignored");

    prepare_outputs(plan, names, r);
    log::info("Saving...");
    ProgressBar bar("Converting checkpoint", total_bytes(plan.tensors), r.progress);
    StagedOutputs outputs = write_outputs(plan, with_progress(plan.tensors, bar), names, r);
    outputs.commit();
    warn_overflows(*plan.overflows); // counted while the cast tensors streamed (--dtype)
    return res;
}

} // namespace ckpt::convert
