// SPDX-License-Identifier: Apache-2.0
// Fixture: claims a model name the `null` fixture already provides; the host must keep the first
// and report the clash, while still serving this plugin's other model.
#include <ckptconv/cpp/plugin.hpp>

namespace {
class Nothing : public ckpt::sdk::Converter {
public:
    Nothing() : Converter({"toy-a"}, {"toy-c"}, "duplicate fixture") {}
    void convert_config(const ckpt::sdk::Request&, ckpt::sdk::ConstNode, ckpt::sdk::Node) override {}
    void plan_checkpoint(const ckpt::sdk::Request&, ckpt::sdk::ConstNode, ckpt::sdk::ConstNode,
                         ckpt::sdk::Plan&) override
    {
    }
};
} // namespace

CKPT_PLUGIN_DEFINE(def)
{
    def.info("twin", "1.0", "duplicate-name fixture");
    auto conv = std::make_shared<Nothing>();
    def.model("null").add(conv);
    def.model("twin-only").add(conv);
}
