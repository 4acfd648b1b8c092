// SPDX-License-Identifier: Apache-2.0
// Helpers on a whole Cerebras config: where its model section is, and the HF→CS output wrapper.
#include "config/cs_config.hpp"

#include "core/error.hpp"

namespace ckpt {

bool cs_config_has_trainer(const Node& config) { return config.find("trainer") != nullptr; }

const Node* cs_model_section(const Node& config, const std::string& file)
{
    if (!config.is_map())
        throw_input("{}: expected a mapping at the top level of a Cerebras config, found a {}", file,
                    Node::kind_name(config.kind()));
    const Node* model = nullptr;
    const char* where = "model";
    if (const Node* trainer = config.find("trainer")) {
        if (trainer->is_sequence())
            throw_input("{}: Converting a config with multiple trainer configs is not supported. "
                        "(`trainer` is a list of {}; keep one trainer)",
                        file, trainer->size());
        if (!trainer->is_map())
            throw_input("{}: `trainer` must be a mapping with `init.model`, found a {}", file,
                        Node::kind_name(trainer->kind()));
        const Node* init = trainer->find("init");
        if (!init || !init->is_map())
            throw_input("{}: `trainer` has no `init` mapping; expected the model under `trainer.init.model`", file);
        model = init->find("model");
        where = "trainer.init.model";
    } else {
        model = config.find("model");
    }
    if (!model)
        throw_input("{}: no model section: expected `model` (or `trainer.init.model` for cs-2.3 and later)", file);
    if (!model->is_map())
        throw_input("{}: `{}` must be a mapping of model parameters, found a {}", file, where,
                    Node::kind_name(model->kind()));
    return model;
}

Node* cs_model_section(Node& config, const std::string& file)
{
    return const_cast<Node*>(cs_model_section(static_cast<const Node&>(config), file));
}

Node make_cs_model_config(Node model)
{
    Node config = Node::map();
    config.set("model", std::move(model));
    return config;
}

const Node* cs_decoder_kernel(const Node& config)
{
    const Node* root = &config;
    if (const Node* trainer = config.find("trainer"); trainer && trainer->is_map()) {
        const Node* init = trainer->find("init");
        root = init && init->is_map() ? init : nullptr;
    }
    const Node* optimizer = root ? root->find("optimizer") : nullptr;
    const Node* adjust = optimizer && optimizer->is_map() ? optimizer->find("adjust_learning_rate") : nullptr;
    return adjust && adjust->is_map() ? adjust->find(kCsDecoderKernelKey) : nullptr;
}

void lift_cs_decoder_kernel(Node& config, Node& model)
{
    const Node* kernel = model.find(kCsDecoderKernelKey);
    if (!kernel)
        return;
    Node adjust = Node::map();
    adjust.set(kCsDecoderKernelKey, *kernel);
    Node optimizer = Node::map();
    optimizer.set("adjust_learning_rate", std::move(adjust));
    config.set("optimizer", std::move(optimizer));
    model.erase(kCsDecoderKernelKey);
    if (Node* section = config.find("model"))
        section->erase(kCsDecoderKernelKey);
}

} // namespace ckpt
