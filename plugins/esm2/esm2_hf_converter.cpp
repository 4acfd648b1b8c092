// SPDX-License-Identifier: Apache-2.0
// The hf <-> cs-2.1 ... cs-2.9 converter of ESM-2 (Converter_Esm2PretrainModel_HF_CS21): the
// config table plus what ckptconv writes beyond the Model Zoo, and the checkpoint table plus the
// tensors a file may omit or the other side needs.
#include "esm2.hpp"

#include <ckptconv/cpp/model_shapes.hpp>

namespace ckpt::esm2 {

namespace {

class Esm2HfConverter : public sdk::Converter {
public:
    explicit Esm2HfConverter(std::vector<std::string> cs_formats)
        : Converter({"hf"}, cs_formats, note_for(cs_formats))
    {
    }

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        hf_cs_config().run(req, src, dst);
        if (req.direction != 0) {
            // What transformers' save_pretrained writes and loaders such as vLLM require.
            Node arch = dst.entry("architectures");
            arch.make_list();
            arch.append().set(kHfClass);
            return;
        }
        if (sdk::cs_at_least(req.tgt_fmt, 2, 4) && !dst.has("name"))
            dst.entry("name").set(kRegistryName);
    }

    void plan_checkpoint(const Request& req, ConstNode hf_config, ConstNode cs_config, Plan& plan) override
    {
        sdk::CheckpointContext ctx{req, plan, {hf_config, cs_config}, req.direction == 0 ? 0 : 1};
        if (ctx.from == 0)
            check_model_shapes(hf_config, 0, sdk::ModelShapes::inputs_of(plan));
        sdk::apply_rules(*hf_cs_rules(), ctx);
        if (ctx.from == 0) {
            restore_mlm_decoder(req, hf_config, plan);
        } else {
            add_hf_only_tensors(req, hf_config, plan);
            check_model_shapes(hf_config, 1, plan.outputs());
        }
    }

private:
    static std::string note_for(const std::vector<std::string>& cs_formats)
    {
        return "hf EsmForMaskedLM <-> " + sdk::join(cs_formats) + " for Esm2ForPreTrainingModel";
    }
};

} // namespace

std::shared_ptr<sdk::Converter> make_hf_converter(std::vector<std::string> cs_formats)
{
    return std::make_shared<Esm2HfConverter>(std::move(cs_formats));
}

} // namespace ckpt::esm2
