// SPDX-License-Identifier: Apache-2.0
// Small facts every t5 converter needs: format groups, registry names, config flags.
#include "t5.hpp"

namespace ckpt::t5 {

std::vector<std::string> hf_cs21_formats() { return {"cs-2.1", "cs-2.2"}; }

std::vector<std::string> hf_cs23_formats()
{
    return {"cs-2.3", "cs-2.4", "cs-2.5", "cs-2.6", "cs-2.7", "cs-2.8", "cs-2.9"};
}

std::string registry_name(const std::string& model)
{
    // ul2 and flan-ul2 are not in the Model Zoo registry (2.10 raises); they are T5 checkpoints.
    return model == "transformer" ? "transformer" : "t5";
}

bool has_input(const Plan& plan, const std::string& name)
{
    for (size_t i = 0, n = plan.input_count(); i < n; ++i)
        if (plan.input_info(i).name == name)
            return true;
    return false;
}

bool flag_or(ConstNode config, const std::string& key, bool fallback)
{
    ConstNode n = config[key];
    if (!n.present() || n.is_null())
        return fallback;
    return sdk::Value::read(n) == sdk::Value(true);
}

bool is_gated(ConstNode hf_config, ConstNode cs_config)
{
    ConstNode proj = hf_config["feed_forward_proj"];
    if (proj.present() && proj.kind() == CKPT_NODE_STRING)
        return proj.as_string().rfind("gated-", 0) == 0;
    ConstNode act = cs_config["encoder_nonlinearity"];
    if (act.present() && act.kind() == CKPT_NODE_STRING) {
        const std::string s = act.as_string();
        return s.size() >= 3 && s.compare(s.size() - 3, 3, "glu") == 0;
    }
    return false;
}

} // namespace ckpt::t5
