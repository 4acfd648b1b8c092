/* SPDX-License-Identifier: Apache-2.0 */
/* Fixture: a plugin written in plain C99 against the SDK, proving the ABI needs no C++. It also
 * stays an ABI 1.0 plugin (1.0 version, 1.0-sized model struct without the 1.1 registry names),
 * proving that plugins built for an older minor keep loading. */
#include <stddef.h>

#include <ckptconv/ckptconv.h>

static const char* const kName = "c-only";

static ckpt_status convert_config(void* ctx, const ckpt_host* host, const ckpt_convert_request* req,
                                  const ckpt_node* src, ckpt_node* dst)
{
    (void)ctx;
    (void)req;
    (void)dst;
    /* Copies one integer through the host's config API, to exercise it from C. */
    const ckpt_node* n = host->config->map_find(src, (ckpt_str){"size", 4});
    int64_t v = 0;
    if (!n || host->config->get_int(n, &v) != CKPT_OK) {
        host->set_error(host->ctx, (ckpt_str){"size is required", 16});
        return CKPT_ERR_CONFIG_CONVERSION;
    }
    return host->config->set_int(host->config->map_get_or_insert(dst, (ckpt_str){"size", 4}), v);
}

static ckpt_status plan_checkpoint(void* ctx, const ckpt_host* host, const ckpt_convert_request* req,
                                   const ckpt_node* src_config, const ckpt_node* dst_config, ckpt_plan* plan)
{
    (void)ctx;
    (void)req;
    (void)src_config;
    (void)dst_config;
    size_t n = host->plan->input_count(plan);
    for (size_t i = 0; i < n; ++i) {
        ckpt_tensor_info info = {sizeof(ckpt_tensor_info)};
        ckpt_value_id id = 0;
        ckpt_op op = {sizeof(ckpt_op)};
        ckpt_status st = host->plan->input_info(plan, i, &info);
        if (st != CKPT_OK)
            return st;
        st = host->plan->input(plan, info.name, &id);
        if (st != CKPT_OK)
            return st;
        op.kind = CKPT_OP_COPY;
        op.output = info.name;
        op.inputs = &id;
        op.input_count = 1;
        st = host->plan->add(plan, &op, NULL);
        if (st != CKPT_OK)
            return st;
    }
    return CKPT_OK;
}

static const ckpt_str kSide0[] = {{"c-one", 5}};
static const ckpt_str kSide1[] = {{"c-two", 5}};
static const ckpt_converter kConverter = {
    sizeof(ckpt_converter), 0, {{kSide0, 1}, {kSide1, 1}}, {"copy every tensor (C fixture)", 29},
    NULL, convert_config, plan_checkpoint,
};
static const ckpt_converter* const kConverters[] = {&kConverter};
static const ckpt_model kModel = {offsetof(ckpt_model, registry_name), 0, {"c-only", 6}, NULL, 0, kConverters, 1,
                                  {"must not be read", 16}, NULL};
static const ckpt_model* const kModels[] = {&kModel};

CKPT_EXTERN_C CKPT_EXPORT const ckpt_plugin* ckpt_plugin_entry(const ckpt_host* host)
{
    static ckpt_plugin desc;
    (void)host;
    desc.struct_size = sizeof desc;
    desc.abi_version = (uint32_t)CKPT_MAKE_VERSION(1, 0);
    desc.name.data = kName;
    desc.name.size = 6;
    desc.version.data = "1.0";
    desc.version.size = 3;
    desc.models = kModels;
    desc.model_count = 1;
    return &desc;
}
