// SPDX-License-Identifier: Apache-2.0
// Which Model Zoo module classes a Cerebras tensor lives in: a table of the decoder built by Gpt2Model.
//
// The table lives in the host, not in the family plugins: the Model Zoo's decoder models share
// one module tree (Gpt2Model -> GPT2LMHeadModel over the common layers), LoRA is a property of
// that shared tree rather than of any one family's conversion rules, and asking plugins would
// need a new ABI entry in every one of them (docs/decisions.md).
#include "lora/cs_module_classes.hpp"

#include <algorithm>
#include <regex>

namespace ckpt::lora {

namespace {

const char* const kGpt2ModelFamilies[] = {"gpt2", "gpt3",       "btlm",      "bloom", "llama", "mistral",
                                          "mixtral", "mpt",     "santacoder", "starcoder", "jais"};

bool is_gpt2_model(const std::string& model)
{
    return std::any_of(std::begin(kGpt2ModelFamilies), std::end(kGpt2ModelFamilies),
                       [&](const char* m) { return model == m; });
}

struct Rule {
    std::regex path;
    std::vector<std::string> classes; // below GPT2LMHeadModel; "@attn" = the attention class
};

const std::vector<Rule>& gpt2_rules()
{
    static const std::vector<Rule> rules = {
        {std::regex(R"(embedding_layer\.word_embeddings)"), {"EmbeddingLayer", "Embedding"}},
        {std::regex(R"(embedding_layer\.segment_embeddings)"), {"EmbeddingLayer", "Embedding"}},
        {std::regex(R"(embedding_layer\.position_embeddings\.embed)"),
         {"EmbeddingLayer", "LearnedPositionEmbeddingLayer", "Embedding"}},
        {std::regex(R"(transformer_decoder\.layers\.\d+\.(self_attn|multihead_attn)\.proj_(q|k|v|output)_dense_layer)"),
         {"TransformerDecoder", "ModuleList", "TransformerDecoderLayer", "@attn", "Linear"}},
        {std::regex(R"(transformer_decoder\.layers\.\d+\.ffn\.ffn\.\d+\.(linear_layer|linear_layer_for_glu))"),
         {"TransformerDecoder", "ModuleList", "TransformerDecoderLayer", "FeedForwardNetwork", "ModuleList",
          "SingleFeedForwardLayer", "Linear"}},
        {std::regex(R"(lm_head)"), {"Linear"}},
    };
    return rules;
}

std::string attention_class(const Node& model_config)
{
    const Node* m = model_config.find("attention_module");
    const std::string name = m && m->kind() == Node::Kind::string ? m->as_string() : "aiayn_attention";
    return name == "multiquery_attention" ? "MultiQueryAttention" : "MultiheadAttention";
}

} // namespace

std::optional<std::vector<std::string>> cs_module_classes(const std::string& model, const std::string& module,
                                                          const Node& model_config)
{
    if (!is_gpt2_model(model))
        return std::nullopt;
    const std::string path = module.rfind("model.", 0) == 0 ? module.substr(6) : module;
    for (const Rule& rule : gpt2_rules()) {
        if (!std::regex_match(path, rule.path))
            continue;
        std::vector<std::string> classes = {"Gpt2Model", "GPT2LMHeadModel"};
        for (const auto& c : rule.classes)
            classes.push_back(c == "@attn" ? attention_class(model_config) : c);
        return classes;
    }
    return std::nullopt;
}

std::string cs_leaf_class(const std::string& module)
{
    static const std::regex embedding(R"((^|.*\.)(\w*_embeddings|embed|embed_tokens|shared|relative_attention_bias))");
    return std::regex_match(module, embedding) ? "Embedding" : "Linear";
}

std::string cs_input_embedding(const std::string& model)
{
    return is_gpt2_model(model) ? "embedding_layer.word_embeddings" : "";
}

} // namespace ckpt::lora
