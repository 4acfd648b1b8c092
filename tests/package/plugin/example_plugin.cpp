// SPDX-License-Identifier: Apache-2.0
// A third-party plugin: one model with one conversion edge, built from the installed SDK.
#include <ckptconv/cpp/plugin.hpp>

namespace {

class ExampleEdge : public ckpt::sdk::Converter {
public:
    ExampleEdge() : Converter({"example-v1"}, {"example-v2"}, "ExampleModel v1 <-> v2 (out-of-tree plugin)") {}

    void convert_config(const ckpt::sdk::Request&, ckpt::sdk::ConstNode src, ckpt::sdk::Node dst) override
    {
        dst.assign(src);
    }

    void plan_checkpoint(const ckpt::sdk::Request&, ckpt::sdk::ConstNode, ckpt::sdk::ConstNode,
                         ckpt::sdk::Plan& plan) override
    {
        for (const auto& name : plan.input_names())
            plan.copy(name, plan.input(name));
    }
};

} // namespace

CKPT_PLUGIN_DEFINE(def)
{
    def.info("example", "0.1", "out-of-tree example");
    def.model("example-model", {"example-alias"}).add(std::make_shared<ExampleEdge>());
}
