// SPDX-License-Identifier: Apache-2.0
// Which Model Zoo module classes a Cerebras tensor lives in: the module trees of the models the
// Model Zoo builds, composed from its shared layers (docs/mappings-lora-classes.md).
//
// The tables live in the host, not in the family plugins: the Model Zoo's models share one set of
// layers (EmbeddingLayer, TransformerEncoder/Decoder, MultiheadAttention, FeedForwardNetwork),
// LoRA is a property of that shared tree rather than of any one family's conversion rules, and
// asking plugins would need a new ABI entry in every one of them (docs/decisions.md, D20).
#include "lora/cs_module_classes.hpp"

#include <algorithm>
#include <regex>

namespace ckpt::lora {

namespace {

/// A module path pattern (an ECMAScript regex over the dotted name, relative to some module) and
/// the classes from below that module down to the layer; "@attn" is the attention class.
struct PathRule {
    std::string path;
    std::vector<std::string> classes;
};
using PathRules = std::vector<PathRule>;

/// `rules` of a child module: reached through the attribute(s) `attr` (a regex), whose own
/// classes are `classes` (a ModuleList element adds its list and its element class).
PathRules under(const std::string& attr, const std::vector<std::string>& classes, const PathRules& rules)
{
    PathRules out;
    for (const PathRule& r : rules) {
        PathRule p{"(?:" + attr + ")\\.(?:" + r.path + ")", classes};
        p.classes.insert(p.classes.end(), r.classes.begin(), r.classes.end());
        out.push_back(std::move(p));
    }
    return out;
}

PathRules operator+(PathRules a, const PathRules& b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

/// A Linear layer reached through `attr` (regex).
PathRules linear(const std::string& attr) { return {{attr, {"Linear"}}}; }

/// Inside FeedForwardNetwork: a ModuleList of SingleFeedForwardLayer, each a Linear (and a second
/// one for GLU activations).
PathRules feed_forward()
{
    return under(R"(ffn\.\d+)", {"ModuleList", "SingleFeedForwardLayer"}, linear("linear_layer|linear_layer_for_glu"));
}

/// Inside EmbeddingLayer: the word and segment tables, a learned position table, a relative
/// position bias table.
PathRules embedding_layer()
{
    return PathRules{{"word_embeddings|segment_embeddings", {"Embedding"}}} +
           under("position_embeddings", {"LearnedPositionEmbeddingLayer"}, {{"embed", {"Embedding"}}}) +
           under("position_embed_helper", {"RelativePositionEmbeddingLayer"}, {{"relative_attention_bias", {"Embedding"}}});
}

/// Inside TransformerEncoder / TransformerDecoder: `layers` is a ModuleList of `layer_class`,
/// whose attention modules (`attention_attrs`) hold four Linear projections and whose `ffn` is a
/// FeedForwardNetwork, or with experts a SparseMoEBlock whose router `gate` is the one Linear (the
/// experts' weights are plain parameters, which LoRA never wraps).
PathRules layer_stack(const std::string& layer_class, const std::string& attention_attrs)
{
    const PathRules layer = under(attention_attrs, {"@attn"}, linear(R"(proj_(q|k|v|output)_dense_layer)")) +
                            under("ffn", {"FeedForwardNetwork"}, feed_forward()) +
                            under("ffn", {"SparseMoEBlock"}, linear("gate"));
    return under(R"(layers\.\d+)", {"ModuleList", layer_class}, layer);
}

/// GPT2LMHeadModel and GPTJModel: one decoder stack between the embeddings and lm_head (the
/// decoder layer builds `multihead_attn` only with cross-attention, which these models leave off).
PathRules decoder_lm(const std::string& layer_class)
{
    return under("embedding_layer", {"EmbeddingLayer"}, embedding_layer()) +
           under("transformer_decoder", {"TransformerDecoder"}, layer_stack(layer_class, "self_attn|multihead_attn")) +
           linear("lm_head");
}

/// BertModel: embeddings, the encoder stack, and (where the model has one) BertPooler.
PathRules bert_model()
{
    return under("embedding_layer", {"EmbeddingLayer"}, embedding_layer()) +
           under("transformer_encoder", {"TransformerEncoder"}, layer_stack("TransformerEncoderLayer", "self_attn")) +
           under("pooler", {"BertPooler"}, under("pooler", {"FeedForwardNetwork"}, feed_forward()));
}

/// BertPretrainModel: BertModel, the MLM head (transform and vocabulary classifier) and the NSP head.
PathRules bert_pretrain()
{
    const PathRules mlm =
        under("mlm_transform", {"BertMLMHeadTransform"}, under("ffn", {"FeedForwardNetwork"}, feed_forward())) +
        under("classifier", {"FeedForwardNetwork"}, feed_forward());
    return under("bert_encoder", {"BertModel"}, bert_model()) + under("bert_mlm_head", {"BertMLMHead"}, mlm) +
           under("bert_cls_head", {"BertClassifierHead"}, under("classifier", {"FeedForwardNetwork"}, feed_forward()));
}

/// The fine-tuning models: BertModel as `bert` and a Linear `classifier`.
PathRules bert_finetune() { return under("bert", {"BertModel"}, bert_model()) + linear("classifier"); }

/// T5ForConditionalGeneration: two embedding layers, the encoder and decoder stacks, lm_head.
PathRules t5()
{
    return under("encoder_embeddings|decoder_embeddings", {"EmbeddingLayer"}, embedding_layer()) +
           under("encoder", {"TransformerEncoder"}, layer_stack("TransformerEncoderLayer", "self_attn")) +
           under("decoder", {"TransformerDecoder"}, layer_stack("TransformerDecoderLayer", "self_attn|multihead_attn")) +
           linear("lm_head");
}

/// One model class of the Model Zoo: the ckptconv models built with it, the classes from the
/// registered wrapper down to the network that holds the weights (the `model.` prefix), the
/// module paths below it and its tied embedding pair.
struct ModuleTree {
    std::vector<std::string> models;
    std::vector<std::string> root;
    std::vector<std::pair<std::regex, std::vector<std::string>>> rules;
    TiedEmbedding tied;

    ModuleTree(std::vector<std::string> m, std::vector<std::string> r, const PathRules& paths, TiedEmbedding t)
        : models(std::move(m)), root(std::move(r)), tied(std::move(t))
    {
        for (const PathRule& p : paths)
            rules.emplace_back(std::regex("(?:" + p.path + ")"), p.classes);
    }
};

const std::vector<ModuleTree>& module_trees()
{
    static const TiedEmbedding lm{"embedding_layer.word_embeddings", "lm_head", ""};
    static const std::vector<ModuleTree> trees = {
        {{"gpt2", "gpt3", "btlm", "bloom", "llama", "mistral", "mixtral", "mpt", "santacoder", "starcoder", "jais"},
         {"Gpt2Model", "GPT2LMHeadModel"},
         decoder_lm("TransformerDecoderLayer"),
         lm},
        {{"gptj", "gpt-neox", "falcon", "codegen"}, {"GptjModel", "GPTJModel"}, decoder_lm("GPTJDecoderLayer"), lm},
        {{"bert", "roberta"},
         {"BertForPreTrainingModel", "BertPretrainModel"},
         bert_pretrain(),
         {"bert_encoder.embedding_layer.word_embeddings", "bert_mlm_head.classifier.ffn.0.linear_layer", ""}},
        {{"bert-sequence-classifier"},
         {"BertForSequenceClassificationModel", "BertForSequenceClassification"},
         bert_finetune(),
         {}},
        {{"bert-token-classifier"}, {"BertForTokenClassificationModel", "BertForTokenClassification"}, bert_finetune(), {}},
        {{"bert-summarization"}, {"BertSummarizationModel", "BertForSummarization"}, bert_finetune(), {}},
        // The Model Zoo registers no model for question answering (docs/decisions.md, D24).
        {{"bert-qa"}, {"BertForQuestionAnswering"}, bert_finetune(), {}},
        {{"t5"},
         {"T5ForConditionalGenerationModel", "T5ForConditionalGeneration"},
         t5(),
         {"decoder_embeddings.word_embeddings", "lm_head", "encoder_embeddings.word_embeddings"}},
    };
    return trees;
}

const ModuleTree* tree_of(const std::string& model)
{
    const std::string suffix = "-headless";
    std::string name = model;
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        name.resize(name.size() - suffix.size());
    for (const ModuleTree& t : module_trees())
        if (std::find(t.models.begin(), t.models.end(), name) != t.models.end())
            return &t;
    return nullptr;
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
    const ModuleTree* tree = tree_of(model);
    if (!tree)
        return std::nullopt;
    const std::string path = module.rfind("model.", 0) == 0 ? module.substr(6) : module;
    for (const auto& [pattern, below] : tree->rules) {
        if (!std::regex_match(path, pattern))
            continue;
        std::vector<std::string> classes = tree->root;
        for (const auto& c : below)
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

TiedEmbedding cs_tied_embedding(const std::string& model)
{
    const ModuleTree* tree = tree_of(model);
    return tree ? tree->tied : TiedEmbedding{};
}

} // namespace ckpt::lora
