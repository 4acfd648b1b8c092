/* SPDX-License-Identifier: Apache-2.0 */
/* Fixture: a C99 plugin compiled against the frozen ABI 1.0 headers (abi10/include), converting
 * the toy hf model to cs-2.1 and back through plan ops and a kernel, as a 1.0-era plugin would.
 *
 *   hf      keys `a.<name>` (2-D weights transposed), `a.scratch` (dropped); config `a_size`.
 *   cs-2.1  keys `v.<name>`; the bias of `proj` negated by a plugin kernel; config `v_size`.
 */
#include <ckptconv/ckptconv.h>

#include <string.h>

#if CKPT_ABI_VERSION_MAJOR != 1 || CKPT_ABI_VERSION_MINOR != 0
#error "the abi10 fixture must be compiled against the frozen ABI 1.0 headers"
#endif

static ckpt_str str(const char* s) { ckpt_str r; r.data = s; r.size = strlen(s); return r; }

static ckpt_status fail(const ckpt_host* host, ckpt_status st, const char* message)
{
    host->set_error(host->ctx, str(message));
    return st;
}

static ckpt_status convert_config(void* ctx, const ckpt_host* host, const ckpt_convert_request* req,
                                  const ckpt_node* src, ckpt_node* dst)
{
    const char* from = req->direction == 0 ? "a_size" : "v_size";
    const char* to = req->direction == 0 ? "v_size" : "a_size";
    const ckpt_node* n = host->config->map_find(src, str(from));
    int64_t v = 0;
    (void)ctx;
    if (!n || host->config->get_int(n, &v) != CKPT_OK)
        return fail(host, CKPT_ERR_CONFIG_CONVERSION, "the abi10 model needs an integer size");
    return host->config->set_int(host->config->map_get_or_insert(dst, str(to)), v);
}

/* The kernel: output = -input, for F32 tensors (its own inverse, so round trips are exact). */
static int g_kernel_releases = 0;

static ckpt_status negate_run(void* ctx, const ckpt_kernel_io* io)
{
    const float* in = (const float*)io->input_data[0];
    float* out = (float*)io->output_data;
    size_t i, n = (size_t)(io->output->nbytes / sizeof(float));
    (void)ctx;
    if (io->input_count != 1 || io->inputs[0]->dtype != CKPT_DTYPE_F32)
        return CKPT_ERR_INVALID_ARGUMENT;
    for (i = 0; i < n; ++i)
        out[i] = -in[i];
    return CKPT_OK;
}

static void negate_release(void* ctx)
{
    (void)ctx;
    ++g_kernel_releases;
}

static ckpt_status plan_checkpoint(void* ctx, const ckpt_host* host, const ckpt_convert_request* req,
                                   const ckpt_node* src_config, const ckpt_node* dst_config, ckpt_plan* plan)
{
    const char* from = req->direction == 0 ? "a." : "v.";
    const char* to = req->direction == 0 ? "v." : "a.";
    size_t i, n = host->plan->input_count(plan);
    (void)ctx;
    (void)src_config;
    (void)dst_config;
    for (i = 0; i < n; ++i) {
        ckpt_tensor_info info;
        ckpt_value_id id = 0;
        ckpt_op op;
        char out[256];
        ckpt_status st;
        memset(&info, 0, sizeof info);
        info.struct_size = sizeof info;
        st = host->plan->input_info(plan, i, &info);
        if (st != CKPT_OK)
            return st;
        if (req->direction == 0 && info.name.size == 9 && memcmp(info.name.data, "a.scratch", 9) == 0) {
            st = host->plan->drop(plan, info.name);
            if (st != CKPT_OK)
                return st;
            continue;
        }
        if (info.name.size < 2 || memcmp(info.name.data, from, 2) != 0 || info.name.size >= sizeof out)
            continue; /* left unmatched */
        memcpy(out, to, 2);
        memcpy(out + 2, info.name.data + 2, info.name.size - 2);
        out[info.name.size] = '\0';
        st = host->plan->input(plan, info.name, &id);
        if (st != CKPT_OK)
            return st;
        memset(&op, 0, sizeof op);
        op.struct_size = sizeof op;
        op.output = str(out);
        op.inputs = &id;
        op.input_count = 1;
        if (strcmp(out + 2, "proj.bias") == 0) {
            op.kind = CKPT_OP_KERNEL;
            op.dtype = info.dtype;
            op.ints = info.shape;
            op.int_count = info.rank;
            op.kernel.struct_size = sizeof op.kernel;
            op.kernel.run = negate_run;
            op.kernel.release = negate_release;
        } else {
            op.kind = info.rank == 2 ? CKPT_OP_TRANSPOSE : CKPT_OP_COPY;
        }
        st = host->plan->add(plan, &op, NULL);
        if (st != CKPT_OK)
            return st;
    }
    return CKPT_OK;
}

static const ckpt_str kSide0[] = {{"hf", 2}};
static const ckpt_str kSide1[] = {{"cs-2.1", 6}};
static const ckpt_converter kConverter = {
    sizeof(ckpt_converter), 0, {{kSide0, 1}, {kSide1, 1}}, {"hf <-> cs-2.1 abi10 model (1.0 fixture)", 39},
    NULL, convert_config, plan_checkpoint,
};
static const ckpt_converter* const kConverters[] = {&kConverter};
static const ckpt_str kAliases[] = {{"abi10-alias", 11}};
static const ckpt_model kModel = {sizeof(ckpt_model), 0, {"abi10", 5}, kAliases, 1, kConverters, 1};
static const ckpt_model* const kModels[] = {&kModel};

CKPT_EXTERN_C CKPT_EXPORT const ckpt_plugin* ckpt_plugin_entry(const ckpt_host* host)
{
    static ckpt_plugin desc;
    (void)host;
    desc.struct_size = sizeof desc;
    desc.abi_version = (uint32_t)CKPT_ABI_VERSION;
    desc.name = str("abi10");
    desc.version = str("1.0");
    desc.description = str("built from the frozen ABI 1.0 headers");
    desc.models = kModels;
    desc.model_count = 1;
    return &desc;
}
