// SPDX-License-Identifier: Apache-2.0
// The `null` fixture family: a toy model with real format names, enough to drive list, convert
// and convert-config end to end (every path kind) without a real model family.
//
//   hf      keys `a.<name>.weight` (2-D weights stored transposed), `a.<name>.bias`, `a.scratch`
//           (HF-only, dropped); config key `a_size`, optional `mode` (only "plain" converts).
//   cs-2.1+ keys `b.<name>.weight`, `b.<name>.bias`; config key `b_size`.
//   cs-2.0  keys `c.<name>...` (an older naming); config key `c_size`.
// Anything else is unmatched on purpose.
#include <ckptconv/cpp/plugin.hpp>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

/// hf <-> cs-2.1, cs-2.2: renames a.* <-> b.*, transposes 2-D weights, drops a.scratch.
class ToyHfCs : public ckpt::sdk::Converter {
public:
    ToyHfCs() : Converter({"hf"}, {"cs-2.1", "cs-2.2"}, "hf ToyModel <-> cs-2.1, cs-2.2 ToyModel (fixture)") {}

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        const bool to_cs = req.direction == 0;
        const char* from = to_cs ? "a_size" : "b_size";
        const char* to = to_cs ? "b_size" : "a_size";
        if (!src.has(from))
            throw ckpt::sdk::ConfigConversionError(std::string(from) + " is required");
        if (req.debug())
            req.log(CKPT_LOG_INFO, std::string("Matched ") + from + " -> " + to + " action: replaceKey");
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
        const bool to_cs = req.direction == 0;
        const std::string from = to_cs ? "a." : "b.";
        const std::string to = to_cs ? "b." : "a.";
        for (const std::string& name : plan.input_names()) {
            if (to_cs && name == "a.scratch") {
                plan.drop(name);
                continue;
            }
            if (!starts_with(name, from))
                continue; // left unmatched on purpose
            const std::string out = to + name.substr(from.size());
            if (req.debug())
                req.log(CKPT_LOG_INFO, "Matched " + name + " -> " + out + " action: toy");
            auto in = plan.input(name);
            if (ends_with(name, ".weight") && plan.value_info(in).shape.size() == 2)
                plan.transpose(out, in);
            else
                plan.copy(out, in);
        }
    }
};

/// cs-2.0 <-> cs-2.1: a model-specific release step renaming c.* <-> b.*.
class ToyCs20Cs21 : public ckpt::sdk::Converter {
public:
    ToyCs20Cs21() : Converter({"cs-2.0"}, {"cs-2.1"}, "ToyModel class (fixture)") {}

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        const bool up = req.direction == 0;
        for (size_t i = 0; i < src.size(); ++i) {
            std::string key = src.key_at(i);
            if (key == (up ? "c_size" : "b_size"))
                key = up ? "b_size" : "c_size";
            dst.entry(key).assign(src.value_at(i));
        }
    }

    void plan_checkpoint(const Request& req, ConstNode, ConstNode, Plan& plan) override
    {
        const std::string from = req.direction == 0 ? "c." : "b.";
        const std::string to = req.direction == 0 ? "b." : "c.";
        for (const std::string& name : plan.input_names())
            if (starts_with(name, from))
                plan.copy(to + name.substr(from.size()), plan.input(name));
    }
};

// ---- A toy private container, "CKPTTOY1": a text header then raw bytes ---------------------
//   CKPTTOY1
//   <name> <dtype number> <rank> <dims...>      one line per tensor
//   ---
//   <bytes of every tensor, in order>
// Reading a tensor whose name contains "fail" fails, to test interrupted writes.
struct ToyTensor {
    std::string name;
    int32_t dtype = 0;
    std::vector<int64_t> shape;
    uint64_t nbytes = 0;
    uint64_t offset = 0;
};
struct ToyFile {
    std::vector<ToyTensor> tensors;
    std::string bytes;
};

int32_t toy_identify(void*, const void* head, size_t size, ckpt_str) noexcept
{
    return size >= 9 && std::memcmp(head, "CKPTTOY1\n", 9) == 0 ? 1 : 0;
}

ckpt_status toy_open(void*, const ckpt_host* host, ckpt_str path, ckpt_tensor_source* out) noexcept
{
    return ckpt::sdk::guard(host, [&] {
        std::ifstream in(std::string(path.data, path.size), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        const std::string all = ss.str();
        const size_t sep = all.find("\n---\n");
        if (!in || sep == std::string::npos)
            throw ckpt::sdk::Error(CKPT_ERR_BAD_INPUT, "not a complete CKPTTOY1 file");
        auto* f = new ToyFile();
        std::istringstream header(all.substr(9, sep - 9 + 1));
        std::string line;
        uint64_t offset = 0;
        while (std::getline(header, line)) {
            std::istringstream ls(line);
            ToyTensor t;
            uint32_t rank = 0;
            ls >> t.name >> t.dtype >> rank;
            t.shape.resize(rank);
            t.nbytes = ckpt_dtype_size(t.dtype);
            for (auto& d : t.shape) {
                ls >> d;
                t.nbytes *= static_cast<uint64_t>(d);
            }
            t.offset = offset;
            offset += t.nbytes;
            f->tensors.push_back(t);
        }
        f->bytes = all.substr(sep + 5);
        if (f->bytes.size() != offset) {
            delete f;
            throw ckpt::sdk::Error(CKPT_ERR_BAD_INPUT, "CKPTTOY1 data section has the wrong size");
        }
        out->struct_size = sizeof *out;
        out->ctx = f;
        out->count = [](void* ctx) noexcept { return static_cast<ToyFile*>(ctx)->tensors.size(); };
        out->info = [](void* ctx, size_t i, ckpt_tensor_info* info) noexcept -> ckpt_status {
            const ToyTensor& t = static_cast<ToyFile*>(ctx)->tensors.at(i);
            info->rank = static_cast<uint32_t>(t.shape.size());
            info->name = ckpt_str{t.name.data(), t.name.size()};
            info->dtype = t.dtype;
            info->shape = t.shape.data();
            info->nbytes = t.nbytes;
            return CKPT_OK;
        };
        out->read = [](void* ctx, size_t i, uint64_t off, void* dst, uint64_t size) noexcept -> ckpt_status {
            const ToyFile* file = static_cast<ToyFile*>(ctx);
            const ToyTensor& t = file->tensors.at(i);
            if (t.name.find("fail") != std::string::npos)
                return CKPT_ERR_IO; // lets tests break a conversion half-way through writing
            std::memcpy(dst, file->bytes.data() + t.offset + off, size);
            return CKPT_OK;
        };
        out->map = nullptr;
        out->close = [](void* ctx) noexcept { delete static_cast<ToyFile*>(ctx); };
    });
}

const ckpt_container kToyContainer = {
    sizeof(ckpt_container), 0, {"ckpttoy", 7}, {"toy private container (fixture)", 30}, nullptr,
    toy_identify, toy_open, nullptr,
};

} // namespace

CKPT_PLUGIN_DEFINE(def)
{
    def.info("null", "1.0", "toy family for tests");
    auto hf_cs = std::make_shared<ToyHfCs>();
    auto cs20 = std::make_shared<ToyCs20Cs21>();
    def.model("null", {"null-alias"}).add(hf_cs).add(cs20);
    def.model("null-headless").add(hf_cs);
    def.container(&kToyContainer);
}
