// SPDX-License-Identifier: Apache-2.0
// The naming phase of a conversion: where each output goes, in the Model Zoo's naming scheme.
#include "convert/output_names.hpp"

#include "formats/compound_folder.hpp"
#include "plugins/registry.hpp"

#include <algorithm>

namespace ckpt::convert {

namespace fs = std::filesystem;

fs::path output_dir_for(const Request& r, const fs::path& input)
{
    if (r.output_dir)
        return *r.output_dir;
    fs::path d = input.parent_path();
    return d.empty() ? fs::path(".") : d;
}

OutputNames name_outputs(const Request& r, const std::string& tgt)
{
    OutputNames n;
    n.checkpoint_dir = output_dir_for(r, r.checkpoint);
    n.config_dir = output_dir_for(r, r.config);
    // A model folder given as input names both outputs after itself (Request::output_stem); a
    // compound folder's outputs have the Model Zoo's names for it.
    const bool compound = !compound_parts(r.checkpoint).empty();
    const std::string ck_stem = compound         ? "pytorch_model"
                                : r.output_stem ? *r.output_stem
                                                : remove_file_extension(r.checkpoint.filename().string());
    const std::string cfg_stem = compound || !compound_parts(r.config).empty()
                                     ? "config"
                                     : r.output_stem ? *r.output_stem : remove_file_extension(r.config.filename().string());
    if (tgt == "hf") {
        n.checkpoint = n.checkpoint_dir / (ck_stem + "_to_" + tgt);
        n.config = n.checkpoint / "config.json";
    } else if (!host::parse_cs_version(tgt)) {
        // A plugin's private format: its own single file, and the config beside it as JSON.
        n.checkpoint = n.checkpoint_dir / (ck_stem + "_to_" + tgt);
        n.config = n.config_dir / (cfg_stem + "_to_" + tgt + ".json");
    } else {
        n.checkpoint = n.checkpoint_dir / (ck_stem + "_to_" + tgt + ".mdl");
        n.config = n.config_dir / (cfg_stem + "_to_" + tgt + ".yaml");
    }
    return n;
}

OutputNames name_compound_outputs(const Request& r, const Node& config)
{
    OutputNames n;
    n.checkpoint_dir = output_dir_for(r, r.checkpoint);
    n.config_dir = n.checkpoint_dir;
    n.checkpoint = n.config = n.checkpoint_dir;
    for (const auto& [k, v] : config.entries()) {
        const std::string part = split_part(Node::key_text(k))->first;
        if (std::find(n.parts.begin(), n.parts.end(), part) == n.parts.end())
            n.parts.push_back(part);
    }
    return n;
}

fs::path name_config_output(const Request& r, const std::string& tgt)
{
    if (!compound_parts(r.config).empty()) // a compound folder: the Model Zoo names it "config"
        return output_dir_for(r, r.config) / ("config_to_" + tgt + (host::parse_cs_version(tgt) ? ".yaml" : ".json"));
    // Unlike convert, only the last suffix is dropped ("a.b.yaml" -> "a.b_to_...").
    return output_dir_for(r, r.config) / (r.config.stem().string() + "_to_" + tgt + (host::parse_cs_version(tgt) ? ".yaml" : ".json"));
}

} // namespace ckpt::convert
