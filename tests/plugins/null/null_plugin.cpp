// SPDX-License-Identifier: Apache-2.0
// The `null` fixture family: two toy formats and a handful of rules, enough to drive list and
// convert end to end without a real model family.
//
// toy-a keys: `a.<name>.weight` (2-D, stored transposed relative to toy-b), `a.<name>.bias`;
// config key `a_size`. toy-b keys: `b.<name>.weight`, `b.<name>.bias`; config key `b_size`.
// `a.scratch` exists only in toy-a and is dropped; anything else is unmatched.
#include <ckptconv/cpp/plugin.hpp>

#include <string>

namespace {

using ckpt::sdk::ConstNode;
using ckpt::sdk::Node;
using ckpt::sdk::Plan;
using ckpt::sdk::Request;

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& p)
{
    return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

class ToyConverter : public ckpt::sdk::Converter {
public:
    ToyConverter() : Converter({"toy-a"}, {"toy-b1", "toy-b2"}, "toy TensorA <-> toy TensorB (fixture)") {}

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        const bool to_b = req.direction == 0;
        const char* from = to_b ? "a_size" : "b_size";
        const char* to = to_b ? "b_size" : "a_size";
        if (!src.has(from))
            throw ckpt::sdk::ConfigConversionError(std::string(from) + " is required");
        dst.entry(to).set(src[from].as_int());
        if (src.has("mode")) {
            std::string mode = src["mode"].as_string();
            if (mode != "plain")
                throw ckpt::sdk::ConfigConversionError("Can't convert config with mode=" + mode +
                                                       ". Only plain is supported.");
            dst.entry("mode").set("plain");
        }
    }

    void plan_checkpoint(const Request& req, ConstNode, ConstNode, Plan& plan) override
    {
        const bool to_b = req.direction == 0;
        const std::string from = to_b ? "a." : "b.";
        const std::string to = to_b ? "b." : "a.";
        for (const std::string& name : plan.input_names()) {
            if (to_b && name == "a.scratch") {
                plan.drop(name);
                continue;
            }
            if (!starts_with(name, from))
                continue; // left unmatched on purpose
            const std::string out = to + name.substr(from.size());
            auto in = plan.input(name);
            if (ends_with(name, ".weight") && plan.value_info(in).shape.size() == 2)
                plan.transpose(out, in);
            else
                plan.copy(out, in);
            if (req.debug())
                plan.note_match(name, out);
        }
    }
};

} // namespace

CKPT_PLUGIN_DEFINE(def)
{
    def.info("null", "1.0", "toy family for tests");
    auto conv = std::make_shared<ToyConverter>();
    def.model("null", {"null-alias"}).add(conv);
    def.model("null-headless").add(conv);
}
