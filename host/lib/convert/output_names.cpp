// SPDX-License-Identifier: Apache-2.0
// The naming phase of a conversion: where each output goes, in the Model Zoo's naming scheme.
#include "convert/output_names.hpp"

#include "plugins/registry.hpp"

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
    // A model folder given as input names both outputs after itself (Request::output_stem).
    const std::string ck_stem = r.output_stem ? *r.output_stem : remove_file_extension(r.checkpoint.filename().string());
    const std::string cfg_stem = r.output_stem ? *r.output_stem : remove_file_extension(r.config.filename().string());
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

fs::path name_config_output(const Request& r, const std::string& tgt)
{
    // Unlike convert, only the last suffix is dropped ("a.b.yaml" -> "a.b_to_...").
    return output_dir_for(r, r.config) / (r.config.stem().string() + "_to_" + tgt + (host::parse_cs_version(tgt) ? ".yaml" : ".json"));
}

} // namespace ckpt::convert
