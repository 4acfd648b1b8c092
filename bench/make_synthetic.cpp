// SPDX-License-Identifier: Apache-2.0
// Writes a synthetic Hugging Face checkpoint of a real architecture's shapes, tensor by tensor from a
// pseudo-random generator of weight-like values (never held in memory), with a config.json beside it.
//   ckptconv_bench_gen OUT.{safetensors|bin} gpt2|llama|mixtral LAYERS HIDDEN [f32|bf16]
//   ckptconv_bench_gen ADAPTER_DIR llama-lora LAYERS HIDDEN [f32|bf16] [RANK]
// gpt2: vocab 50257, 1024 positions, 4x MLP (LAYERS=12 HIDDEN=768 is GPT-2 124M).
// llama: vocab 32000, 32 heads, 4 KV heads, MLP 2.75x (LAYERS=22 HIDDEN=2048 is TinyLlama 1.1B).
// mixtral: vocab 32000, 32 heads, 8 KV heads, 8 experts (top 2) with MLP 3.5x (LAYERS=32
// HIDDEN=4096 is Mixtral 8x7B).
// llama-lora: a PEFT LoRA adapter for that llama (adapter_model.safetensors and adapter_config.json
// in ADAPTER_DIR) of rank RANK (default 64) on all seven projections of every layer.
#include "core/error.hpp"
#include "formats/safetensors/safetensors_writer.hpp"
#include "formats/torch/torch_writer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace {

/// A tensor of weight-like values: about N(0, 0.02) per element, a deterministic function of
/// (seed, element index). Real trained weights look like this byte-wise: their low mantissa bits
/// are noise, so LZ4 barely compresses them (and then runs at several GB/s). A byte pattern with
/// less entropy would make every LZ4 path look 10x slower than it is on real checkpoints.
class SyntheticTensor final : public ckpt::TensorData {
public:
    SyntheticTensor(ckpt::TensorInfo info, uint64_t seed) : m_info(std::move(info)), m_seed(seed) {}
    const ckpt::TensorInfo& info() const override { return m_info; }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        const uint64_t es = ckpt::dtype_size(m_info.dtype);
        for (uint64_t e = offset / es; e * es < offset + size; ++e) {
            const float v = value(e);
            uint32_t bits;
            std::memcpy(&bits, &v, 4);
            std::byte elem[4];
            if (es == 2) {
                const uint16_t b16 = static_cast<uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16); // to nearest even
                std::memcpy(elem, &b16, 2);
            } else {
                std::memcpy(elem, &bits, 4);
            }
            const uint64_t begin = std::max(e * es, offset), end = std::min((e + 1) * es, offset + size);
            std::memcpy(dst + (begin - offset), elem + (begin - e * es), end - begin);
        }
    }

private:
    static uint64_t mix(uint64_t x)
    {
        x += 0x9E3779B97F4A7C15ull;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
        return x ^ (x >> 31);
    }
    /// Sum of four uniforms (Irwin-Hall), centred and scaled: close enough to a normal.
    float value(uint64_t element) const
    {
        const uint64_t r = mix(m_seed * 0x100000001B3ull ^ element);
        float sum = 0;
        for (int k = 0; k < 4; ++k)
            sum += static_cast<float>((r >> (16 * k)) & 0xFFFF) / 65536.0f;
        return (sum - 2.0f) * 0.02f * 1.7320508f; // Irwin-Hall(4) has variance 1/3
    }

    ckpt::TensorInfo m_info;
    uint64_t m_seed;
};

} // namespace

int main(int argc, char** argv)
{
    if (argc < 5) {
        std::cerr << "usage: ckptconv_bench_gen OUT.{safetensors|bin} gpt2|llama|mixtral LAYERS HIDDEN [f32|bf16]\n"
                     "       ckptconv_bench_gen ADAPTER_DIR llama-lora LAYERS HIDDEN [f32|bf16] [RANK]\n";
        return 2;
    }
    const std::string out = argv[1], family = argv[2];
    const int layers = std::atoi(argv[3]);
    const int64_t h = std::atoll(argv[4]);
    const ckpt::DType dtype = argc > 5 && std::string(argv[5]) == "bf16" ? ckpt::DType::bf16 : ckpt::DType::f32;
    std::vector<ckpt::NamedTensor> tensors;
    uint64_t total = 0, seed = 1;
    auto add = [&](const std::string& name, std::vector<int64_t> shape) {
        ckpt::TensorInfo info{dtype, std::move(shape)};
        total += info.nbytes();
        tensors.push_back({name, std::make_shared<SyntheticTensor>(info, seed++)});
    };
    // A llama-style attention block with `kv_rows` rows of keys and values (GQA).
    auto add_attention = [&](const std::string& p, int64_t kv_rows) {
        add(p + "self_attn.q_proj.weight", {h, h});
        add(p + "self_attn.k_proj.weight", {kv_rows, h});
        add(p + "self_attn.v_proj.weight", {kv_rows, h});
        add(p + "self_attn.o_proj.weight", {h, h});
    };
    std::string config;
    if (family == "gpt2") {
        add("transformer.wte.weight", {50257, h});
        add("transformer.wpe.weight", {1024, h});
        for (int l = 0; l < layers; ++l) {
            const std::string p = fmt::format("transformer.h.{}.", l);
            for (const char* n : {"ln_1", "ln_2"}) {
                add(p + n + ".weight", {h});
                add(p + n + ".bias", {h});
            }
            add(p + "attn.c_attn.weight", {h, 3 * h});
            add(p + "attn.c_attn.bias", {3 * h});
            add(p + "attn.c_proj.weight", {h, h});
            add(p + "attn.c_proj.bias", {h});
            add(p + "mlp.c_fc.weight", {h, 4 * h});
            add(p + "mlp.c_fc.bias", {4 * h});
            add(p + "mlp.c_proj.weight", {4 * h, h});
            add(p + "mlp.c_proj.bias", {h});
        }
        add("transformer.ln_f.weight", {h});
        add("transformer.ln_f.bias", {h});
        config = fmt::format(R"({{"activation_function": "gelu_new", "architectures": ["GPT2Model"], "attn_pdrop": 0.1,
 "embd_pdrop": 0.1, "initializer_range": 0.02, "layer_norm_epsilon": 1e-05, "model_type": "gpt2",
 "n_embd": {}, "n_head": {}, "n_inner": null, "n_layer": {}, "n_positions": 1024, "resid_pdrop": 0.1,
 "scale_attn_weights": true, "tie_word_embeddings": true, "vocab_size": 50257}})",
                             h, h / 64, layers);
    } else if (family == "llama-lora") {
        const int64_t heads = 32, kv = 4, hd = h / heads, inter = h * 11 / 4;
        const int64_t rank = argc > 6 ? std::atoll(argv[6]) : 64;
        // name, out features, in features
        const std::pair<const char*, std::pair<int64_t, int64_t>> projections[] = {
            {"self_attn.q_proj", {h, h}},        {"self_attn.k_proj", {kv * hd, h}}, {"self_attn.v_proj", {kv * hd, h}},
            {"self_attn.o_proj", {h, h}},        {"mlp.gate_proj", {inter, h}},      {"mlp.up_proj", {inter, h}},
            {"mlp.down_proj", {h, inter}}};
        for (int l = 0; l < layers; ++l)
            for (const auto& [name, dims] : projections) {
                const std::string p = fmt::format("base_model.model.model.layers.{}.{}.", l, name);
                add(p + "lora_A.weight", {rank, dims.second});
                add(p + "lora_B.weight", {dims.first, rank});
            }
        std::filesystem::create_directories(out);
        std::ofstream(std::filesystem::path(out) / "adapter_config.json")
            << fmt::format(R"({{"peft_type": "LORA", "r": {}, "lora_alpha": {}, "target_modules": ["q_proj", "k_proj",
 "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], "use_rslora": false, "use_dora": false}})",
                           rank, 2 * rank)
            << "\n";
        try {
            ckpt::write_safetensors(std::filesystem::path(out) / "adapter_model.safetensors", tensors, {{"format", "pt"}});
        } catch (const ckpt::Error& e) {
            std::cerr << e.what() << "\n";
            return 1;
        }
        std::cout << fmt::format("{}: {} tensors, {} bytes\n", out, tensors.size(), total);
        return 0;
    } else if (family == "llama") {
        const int64_t heads = 32, kv = 4, hd = h / heads, inter = h * 11 / 4;
        add("model.embed_tokens.weight", {32000, h});
        for (int l = 0; l < layers; ++l) {
            const std::string p = fmt::format("model.layers.{}.", l);
            add_attention(p, kv * hd);
            add(p + "mlp.gate_proj.weight", {inter, h});
            add(p + "mlp.up_proj.weight", {inter, h});
            add(p + "mlp.down_proj.weight", {h, inter});
            add(p + "input_layernorm.weight", {h});
            add(p + "post_attention_layernorm.weight", {h});
        }
        add("model.norm.weight", {h});
        add("lm_head.weight", {32000, h});
        config = fmt::format(R"({{"architectures": ["LlamaForCausalLM"], "hidden_act": "silu", "hidden_size": {},
 "initializer_range": 0.02, "intermediate_size": {}, "max_position_embeddings": 2048, "model_type": "llama",
 "num_attention_heads": {}, "num_hidden_layers": {}, "num_key_value_heads": {}, "rms_norm_eps": 1e-05,
 "rope_scaling": null, "rope_theta": 10000.0, "tie_word_embeddings": false, "vocab_size": 32000}})",
                             h, inter, heads, layers, kv);
    } else if (family == "mixtral") {
        const int64_t heads = 32, kv = 8, hd = h / heads, inter = h * 7 / 2, experts = 8;
        add("model.embed_tokens.weight", {32000, h});
        for (int l = 0; l < layers; ++l) {
            const std::string p = fmt::format("model.layers.{}.", l);
            add_attention(p, kv * hd);
            add(p + "block_sparse_moe.gate.weight", {experts, h});
            for (int64_t e = 0; e < experts; ++e) {
                const std::string x = fmt::format("{}block_sparse_moe.experts.{}.", p, e);
                add(x + "w1.weight", {inter, h});
                add(x + "w2.weight", {h, inter});
                add(x + "w3.weight", {inter, h});
            }
            add(p + "input_layernorm.weight", {h});
            add(p + "post_attention_layernorm.weight", {h});
        }
        add("model.norm.weight", {h});
        add("lm_head.weight", {32000, h});
        config = fmt::format(R"({{"architectures": ["MixtralForCausalLM"], "hidden_act": "silu", "hidden_size": {},
 "initializer_range": 0.02, "intermediate_size": {}, "max_position_embeddings": 32768, "model_type": "mixtral",
 "num_attention_heads": {}, "num_experts_per_tok": 2, "num_hidden_layers": {}, "num_key_value_heads": {},
 "num_local_experts": {}, "rms_norm_eps": 1e-05, "rope_theta": 1000000.0, "router_aux_loss_coef": 0.02,
 "sliding_window": null, "tie_word_embeddings": false, "vocab_size": 32000}})",
                             h, inter, heads, layers, kv, experts);
    } else {
        std::cerr << "family must be gpt2, llama, mixtral or llama-lora\n";
        return 2;
    }
    try {
        if (out.size() > 4 && out.compare(out.size() - 4, 4, ".bin") == 0) {
            ckpt::Node root = ckpt::Node::map();
            for (const auto& t : tensors)
                root.append(ckpt::Node(t.name), ckpt::Node(t.tensor));
            ckpt::write_torch(out, root);
        } else {
            ckpt::write_safetensors(out, tensors, {{"format", "pt"}});
        }
        std::ofstream(std::filesystem::path(out).parent_path() / "config.json") << config << "\n";
    } catch (const ckpt::Error& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
    std::cout << fmt::format("{}: {} tensors, {} bytes\n", out, tensors.size(), total);
    return 0;
}
