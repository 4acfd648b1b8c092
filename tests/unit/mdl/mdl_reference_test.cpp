// SPDX-License-Identifier: Apache-2.0
// Reading the Model Zoo's own `.mdl` outputs (tests/data/cs-ref) and checking their tensors
// against the Hugging Face fixtures they were converted from.
#include "formats/mdl/mdl.hpp"

#include "core/error.hpp"
#include "formats/safetensors/safetensors_reader.hpp"
#include "formats/torch/torch_reader.hpp"
#include "mdl_test_util.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace ckpt {
namespace {

using test::data_path;

const Node& at(const Node& n, std::initializer_list<std::string_view> path)
{
    const Node* cur = &n;
    for (auto p : path) {
        cur = cur->find(p);
        if (!cur)
            throw std::runtime_error("missing key " + std::string(p));
    }
    return *cur;
}

TensorPtr hf_tensor(const Checkpoint& hf, const std::string& name)
{
    const Node* n = hf.root.find(name);
    if (!n || !n->is_tensor())
        throw std::runtime_error("HF fixture lacks " + name);
    return n->as_tensor();
}

// Columns [c0, c0 + n) of a 2-D F32 matrix, transposed (GPT-2 Conv1D weights are [in, out]).
std::vector<float> transposed_columns(const TensorPtr& t, int64_t c0, int64_t n)
{
    const auto& s = t->info().shape;
    const auto v = test::floats_of(t);
    std::vector<float> out;
    for (int64_t c = c0; c < c0 + n; ++c)
        for (int64_t r = 0; r < s[0]; ++r)
            out.push_back(v[static_cast<size_t>(r * s[1] + c)]);
    return out;
}

TEST(MdlReference, Gpt2HfToCsStructure)
{
    const auto path = data_path("cs-ref/gpt2/hf_to_cs/pytorch_model_to_cs-2.3.mdl");
    const Checkpoint cp = read_mdl(path);
    EXPECT_EQ(cp.format, "mdl-h5-0.4");
    ASSERT_EQ(cp.root.size(), 1u); // HF→CS output holds only "model"
    const Node& model = at(cp.root, {"model"});
    ASSERT_TRUE(model.is_map());
    // Every dataset of the file is one leaf of the tree, named by its dotted key path.
    std::set<std::string> datasets;
    for (const auto& n : test::h5_root_names(path))
        datasets.insert(n);
    std::set<std::string> keys;
    for (const auto& [k, v] : model.entries()) {
        ASSERT_TRUE(v.is_tensor()) << Node::key_text(k);
        EXPECT_EQ(v.as_tensor()->info().dtype, DType::f32);
        keys.insert("model." + Node::key_text(k));
    }
    EXPECT_EQ(keys, datasets);
    bool has_version = false, has_cstorch = false;
    for (const auto& [k, v] : cp.metadata) {
        has_version |= k == "__version__" && v == "0.4";
        has_cstorch |= k == "__cstorch_version__" && v == "2.3.0";
    }
    EXPECT_TRUE(has_version);
    EXPECT_TRUE(has_cstorch);
}

TEST(MdlReference, Gpt2TensorsMatchHuggingFaceSource)
{
    const Checkpoint cs = read_mdl(data_path("cs-ref/gpt2/hf_to_cs/pytorch_model_to_cs-2.3.mdl"));
    const Checkpoint hf = read_safetensors(data_path("hf/gpt2/safetensors/model.safetensors"));
    const Node& model = at(cs.root, {"model"});
    auto cs_t = [&](const std::string& k) { return at(model, {k}).as_tensor(); };
    EXPECT_TRUE(equal_bytes(*cs_t("transformer_decoder.layers.0.norm1.weight"),
                            *hf_tensor(hf, "transformer.h.0.ln_1.weight")));
    EXPECT_TRUE(equal_bytes(*cs_t("embedding_layer.word_embeddings.weight"), *hf_tensor(hf, "transformer.wte.weight")));
    EXPECT_TRUE(equal_bytes(*cs_t("lm_head.weight"), *hf_tensor(hf, "transformer.wte.weight"))); // tied
    EXPECT_TRUE(equal_bytes(*cs_t("ln_f.weight"), *hf_tensor(hf, "transformer.ln_f.weight")));
    // q/k/v are the transposed thirds of the fused Conv1D c_attn weight.
    const TensorPtr c_attn = hf_tensor(hf, "transformer.h.1.attn.c_attn.weight");
    const int64_t hidden = c_attn->info().shape[0];
    const char* parts[] = {"q", "k", "v"};
    for (int i = 0; i < 3; ++i) {
        const auto t = cs_t(std::string("transformer_decoder.layers.1.self_attn.proj_") + parts[i] + "_dense_layer.weight");
        EXPECT_EQ(t->info().shape, (std::vector<int64_t>{hidden, hidden}));
        EXPECT_EQ(test::floats_of(t), transposed_columns(c_attn, i * hidden, hidden)) << parts[i];
    }
}

TEST(MdlReference, Lz4ReferenceEqualsUncompressedReference)
{
    const Checkpoint plain = read_mdl(data_path("cs-ref/gpt2/hf_to_cs/pytorch_model_to_cs-2.3.mdl"));
    const Checkpoint lz4 = read_mdl(data_path("cs-ref/gpt2/hf_to_cs_lz4/pytorch_model_to_cs-2.3.mdl"));
    test::expect_same_tree(plain.root, lz4.root);
    const Checkpoint lplain = read_mdl(data_path("cs-ref/llama/hf_to_cs/pytorch_model_to_cs-2.3.mdl"));
    const Checkpoint llz4 = read_mdl(data_path("cs-ref/llama/hf_to_cs_lz4/pytorch_model_to_cs-2.3.mdl"));
    test::expect_same_tree(lplain.root, llz4.root);
}

TEST(MdlReference, Bf16ReferenceHoldsTheBf16Source)
{
    const Checkpoint cs = read_mdl(data_path("cs-ref/gpt2/hf_to_cs_bf16/pytorch_model_to_cs-2.3.mdl"));
    const Checkpoint hf = read_torch(data_path("cs-ref/gpt2/input_bf16/pytorch_model.bin"));
    const Node& model = at(cs.root, {"model"});
    for (const auto& [k, v] : model.entries())
        EXPECT_EQ(v.as_tensor()->info().dtype, DType::bf16) << Node::key_text(k);
    EXPECT_TRUE(equal_bytes(*at(model, {"transformer_decoder.layers.0.norm1.weight"}).as_tensor(),
                            *hf_tensor(hf, "transformer.h.0.ln_1.weight")));
    EXPECT_TRUE(equal_bytes(*at(model, {"embedding_layer.position_embeddings.embed.weight"}).as_tensor(),
                            *hf_tensor(hf, "transformer.wpe.weight")));
}

TEST(MdlReference, LlamaTensorsMatchHuggingFaceSource)
{
    const Checkpoint cs = read_mdl(data_path("cs-ref/llama/hf_to_cs/pytorch_model_to_cs-2.3.mdl"));
    const Checkpoint hf = read_safetensors(data_path("hf/llama/safetensors/model.safetensors"));
    const Node& model = at(cs.root, {"model"});
    EXPECT_TRUE(equal_bytes(*at(model, {"transformer_decoder.layers.0.norm1.weight"}).as_tensor(),
                            *hf_tensor(hf, "model.layers.0.input_layernorm.weight")));
    EXPECT_TRUE(equal_bytes(*at(model, {"transformer_decoder.layers.1.self_attn.proj_v_dense_layer.weight"}).as_tensor(),
                            *hf_tensor(hf, "model.layers.1.self_attn.v_proj.weight")));
    EXPECT_TRUE(equal_bytes(*at(model, {"embedding_layer.word_embeddings.weight"}).as_tensor(),
                            *hf_tensor(hf, "model.embed_tokens.weight")));
}

TEST(MdlReference, T5ReadsCompletely)
{
    const auto path = data_path("cs-ref/t5/hf_to_cs/pytorch_model_to_cs-2.3.mdl");
    const Checkpoint cs = read_mdl(path);
    size_t n = 0;
    for (const auto& [k, v] : at(cs.root, {"model"}).entries()) {
        ASSERT_TRUE(v.is_tensor());
        EXPECT_EQ(read_all(*v.as_tensor()).size(), v.as_tensor()->info().nbytes());
        ++n;
    }
    EXPECT_EQ(n, test::h5_root_names(path).size());
}

// Every non-tensor leaf of the training checkpoint, checked against the datasets themselves
// (read here with the HDF5 C API, not through the reader under test).
void check_train_state(const std::filesystem::path& path)
{
    const Checkpoint cp = read_mdl(path);
    test::H5Closer f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    ASSERT_GE(f.id, 0);
    size_t scalars = 0;
    for (const auto& name : test::h5_root_names(path)) {
        if (name.rfind("model.", 0) == 0)
            continue;
        // Walk the dotted name through the tree: integer keys for optimizer state and lists.
        const Node* cur = &cp.root;
        std::string rest = name;
        while (!rest.empty() && cur) {
            const size_t dot = rest.find('.');
            const std::string part = rest.substr(0, dot);
            rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
            if (cur->is_sequence()) {
                const size_t i = std::stoul(part);
                cur = i < cur->items().size() ? &cur->items()[i] : nullptr;
            } else if (cur->is_map()) {
                const Node* next = cur->find(part);
                if (!next)
                    for (const auto& [k, v] : cur->entries())
                        if (k.kind() == Node::Kind::integer && std::to_string(k.as_int()) == part)
                            next = &v;
                cur = next;
            } else {
                cur = nullptr;
            }
        }
        ASSERT_NE(cur, nullptr) << name;
        test::H5Closer d(H5Dopen2(f.id, name.c_str(), H5P_DEFAULT));
        test::H5Closer type(H5Dget_type(d.id));
        test::H5Closer space(H5Dget_space(d.id));
        if (H5Sget_simple_extent_type(space.id) == H5S_NULL) {
            ASSERT_EQ(cur->kind(), Node::Kind::string) << name;
            test::H5Closer a(H5Aopen(d.id, "string_value", H5P_DEFAULT));
            test::H5Closer at(H5Aget_type(a.id));
            char* s = nullptr;
            ASSERT_GE(H5Aread(a.id, at.id, &s), 0);
            EXPECT_EQ(cur->as_string(), std::string(s)) << name;
            H5free_memory(s);
            continue;
        }
        if (cur->is_tensor())
            continue; // optimizer.state.N.exp_avg etc.; step is a 0-d tensor
        ++scalars;
        switch (H5Tget_class(type.id)) {
        case H5T_INTEGER: {
            int64_t v = 0;
            H5Dread(d.id, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v);
            EXPECT_EQ(cur->as_int(), v) << name;
            EXPECT_EQ(cur->kind(), Node::Kind::integer) << name;
            break;
        }
        case H5T_FLOAT: {
            double v = 0;
            H5Dread(d.id, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v);
            EXPECT_EQ(cur->kind(), Node::Kind::floating) << name;
            EXPECT_EQ(cur->as_float(), v) << name;
            break;
        }
        case H5T_ENUM: {
            int8_t v = -1;
            H5Dread(d.id, type.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v);
            EXPECT_EQ(cur->kind(), Node::Kind::boolean) << name;
            EXPECT_EQ(cur->as_bool(), v != 0) << name;
            break;
        }
        default:
            ADD_FAILURE() << "unexpected dataset type for " << name;
        }
    }
    EXPECT_GT(scalars, 40u);
    // Container kinds come from the spec: tuples stay tuples, integer keys stay integers.
    const Node& group = at(cp.root, {"optimizer", "param_groups"}).items().at(0);
    EXPECT_EQ(at(group, {"betas"}).kind(), Node::Kind::tuple);
    EXPECT_EQ(at(group, {"params"}).kind(), Node::Kind::list);
    const Node& state = at(cp.root, {"optimizer", "state"});
    ASSERT_FALSE(state.entries().empty());
    EXPECT_EQ(state.entries().front().first.kind(), Node::Kind::integer);
    const Node& step = at(state.entries().front().second, {"step"});
    ASSERT_TRUE(step.is_tensor());
    EXPECT_TRUE(step.as_tensor()->info().shape.empty());
    EXPECT_EQ(at(cp.root, {"lr_scheduler", "base_lrs"}).kind(), Node::Kind::list);
}

TEST(MdlReference, TrainStateNonTensorLeaves)
{
    check_train_state(data_path("cs-ref/gpt2/cs22_to_cs23_train_state/checkpoint_10_to_cs-2.3.mdl"));
    check_train_state(data_path("cs-ref/gpt2/input_cs22_train/checkpoint_10.mdl"));
}

TEST(MdlReference, DetectsReleaseFromMetadata)
{
    const Checkpoint cp = read_mdl(data_path("cs-ref/gpt2/cs22_to_cs23_train_state/checkpoint_10_to_cs-2.3.mdl"));
    const std::string version = at(cp.root, {"__metadata__"}).items().back().find("version")->as_string();
    std::string note;
    const auto r = detect_cs_release(cp, &note);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "cs-" + version.substr(0, version.rfind('.')));
    EXPECT_TRUE(note.empty());
}

TEST(MdlReference, DetectsReleaseFallsBackToCstorchVersion)
{
    // HF→CS output has no __metadata__ (the Model Zoo's cs-auto fails on it); the attribute is used.
    const Checkpoint cp = read_mdl(data_path("cs-ref/gpt2/hf_to_cs/pytorch_model_to_cs-2.3.mdl"));
    ASSERT_EQ(cp.root.find("__metadata__"), nullptr);
    std::string note;
    const auto r = detect_cs_release(cp, &note);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "cs-2.3");
    EXPECT_NE(note.find("__cstorch_version__"), std::string::npos);
}

TEST(MdlReference, DetectsNothingWithoutMetadata)
{
    Checkpoint cp;
    cp.root.set("model", Node::map());
    std::string note;
    EXPECT_FALSE(detect_cs_release(cp, &note));
    Node md = Node::list();
    Node entry = Node::map();
    entry.set("version", "2.10.1");
    md.push_back(entry);
    cp.root.set("__metadata__", md);
    EXPECT_EQ(detect_cs_release(cp, &note).value_or(""), "cs-2.10");
    EXPECT_NE(std::string(kCsAutoNoMetadataMessage).find("Metadata not found in checkpoint"), std::string::npos);
}

} // namespace
} // namespace ckpt
