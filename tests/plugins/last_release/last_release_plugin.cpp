// SPDX-License-Identifier: Apache-2.0
// Fixture: an ABI 1.2 plugin whose model says its last Cerebras release (cs-2.2), as a third
// party would for a model a later Model Zoo release removed. Its one converter copies every key
// and tensor between hf and cs-2.1, so the generic cs-2.1 -> cs-2.2 step is its only way up.
#include <ckptconv/cpp/plugin.hpp>

#include <memory>

namespace {

using ckpt::sdk::ConstNode;
using ckpt::sdk::Node;
using ckpt::sdk::Plan;
using ckpt::sdk::Request;

class CopyHfCs21 : public ckpt::sdk::Converter {
public:
    CopyHfCs21() : Converter({"hf"}, {"cs-2.1"}, "copies every key and tensor (fixture)") {}

    void convert_config(const Request&, ConstNode src, Node dst) override
    {
        for (size_t i = 0; i < src.size(); ++i)
            dst.entry(src.key_at(i)).assign(src.value_at(i));
    }

    void plan_checkpoint(const Request&, ConstNode, ConstNode, Plan& plan) override
    {
        for (const std::string& name : plan.input_names())
            plan.copy(name, plan.input(name));
    }
};

} // namespace

CKPT_PLUGIN_DEFINE(def)
{
    def.info("last_release", "1.0", "a model whose last release is cs-2.2 (ABI 1.2 fixture)");
    def.model("lastrel", {"lastrel-alias"})
        .last_release("cs-2.2", "the fixture's family was removed after cs-2.2")
        .add(std::make_shared<CopyHfCs21>());
}
