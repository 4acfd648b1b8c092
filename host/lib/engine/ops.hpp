// SPDX-License-Identifier: Apache-2.0
// Plan operations as lazily evaluated tensors: each op computes just the bytes it is asked for.
#pragma once

#include "core/error.hpp"
#include "core/tensor.hpp"

#include <ckptconv/plan.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ckpt::engine {

/// Op kinds; same values as CKPT_OP_* so an ABI kind converts with a cast.
enum class OpKind : int32_t {
    copy = CKPT_OP_COPY,
    transpose = CKPT_OP_TRANSPOSE,
    split = CKPT_OP_SPLIT,
    concat = CKPT_OP_CONCAT,
    row_permute = CKPT_OP_ROW_PERMUTE,
    scale = CKPT_OP_SCALE,
    add = CKPT_OP_ADD,
    cast = CKPT_OP_CAST,
    reshape = CKPT_OP_RESHAPE,
    generate = CKPT_OP_GENERATE,
    kernel = CKPT_OP_KERNEL,
};

/// Generators for OpKind::generate; same values as CKPT_GEN_*.
enum class Generator : int32_t {
    fill = CKPT_GEN_FILL,
    tril = CKPT_GEN_TRIL,
    inv_freq = CKPT_GEN_INV_FREQ,
    arange = CKPT_GEN_ARANGE,
};

/// "copy", "transpose", ... ; "op<N>" for an unknown value.
std::string op_kind_name(OpKind kind);
/// True for the kinds this host implements (ABI 1.0).
bool is_known_op_kind(int32_t kind);

/// A plan that cannot be built (bad shapes, unknown names, ...). Carries the ABI status the plan
/// API returns for it; to the CLI it is a ConversionError (exit 1).
class PlanError : public ConversionError {
public:
    PlanError(ckpt_status status, std::string message)
        : ConversionError(std::move(message)), m_status(status) {}
    ckpt_status status() const noexcept { return m_status; }

private:
    ckpt_status m_status;
};

/// A plugin's ckpt_kernel. Calls the plugin's `release` exactly once, when the last op holding it
/// (and the plan) are gone. Thread-compatible like the kernel itself.
class Kernel {
public:
    /// `plugin` names the plugin that supplied the kernel, for error messages.
    explicit Kernel(const ckpt_kernel& k, std::string plugin = {}) : m_kernel(k), m_plugin(std::move(plugin)) {}
    ~Kernel();
    Kernel(const Kernel&) = delete;
    Kernel& operator=(const Kernel&) = delete;
    const ckpt_kernel& raw() const { return m_kernel; }
    const std::string& plugin() const { return m_plugin; }

private:
    ckpt_kernel m_kernel;
    std::string m_plugin;
};

/// Everything an op needs besides its output name; the C++ mirror of ckpt_op with tensors in
/// place of value ids. Fields a kind does not use are ignored.
struct OpSpec {
    OpKind kind = OpKind::copy;
    std::vector<TensorPtr> inputs;
    /// Names shown to a kernel in its ckpt_tensor_info (optional, may be shorter than inputs).
    std::vector<std::string> input_names;
    int64_t axis = 0;
    int64_t index = 0;
    int64_t count = 0;
    /// TRANSPOSE: permutation; ROW_PERMUTE: source row per output row; RESHAPE, GENERATE, KERNEL:
    /// output shape (RESHAPE may hold one -1, inferred like torch.reshape).
    std::vector<int64_t> ints;
    double scalar = 0.0;
    DType dtype = DType::invalid;
    Generator generator = Generator::fill;
    std::shared_ptr<const Kernel> kernel;
};

/// Bytes an op processes at a time: every scratch buffer an op allocates for one piece of a read
/// is at most this size (a few ops need more, see peak_scratch_bytes()).
constexpr uint64_t kPieceBytes = uint64_t{4} << 20;

/// A scratch buffer of at least `bytes` (uninitialised) for the duration of one read on this
/// thread. The memory is kept for the thread's next read: allocating and zero-filling a piece
/// per call cost more than the work done in it. A read that starts another read (an op whose
/// input is an op) gets a buffer of its own, so per thread it holds one buffer per nesting level.
class ScratchLease {
public:
    explicit ScratchLease(size_t bytes);
    ~ScratchLease();
    ScratchLease(const ScratchLease&) = delete;
    ScratchLease& operator=(const ScratchLease&) = delete;
    std::byte* data() const { return m_data; }

private:
    std::byte* m_data = nullptr;
};

/// A tensor computed by one op over its inputs. `read` computes only the requested range where the
/// op allows it; see each make_* function for what is materialised. Thread safety as TensorData.
class OpTensor : public TensorData {
public:
    OpTensor(OpKind kind, std::vector<TensorPtr> inputs, TensorInfo info, std::string label);

    OpKind kind() const { return m_kind; }
    const std::vector<TensorPtr>& inputs() const { return m_inputs; }
    /// The output tensor name, or a description of a temporary; used in every message.
    const std::string& label() const { return m_label; }
    const TensorInfo& info() const override { return m_info; }
    /// The op's name in `--dry-run` output: the kind ("split"), or the generator ("tril").
    virtual std::string name() const { return op_kind_name(m_kind); }
    /// The op's parameters for `--dry-run` ("axis=0, 0 of 3"); empty when there are none.
    virtual std::string args() const { return {}; }
    /// The largest buffer this op has held at once (scratch plus cached intermediates), in bytes,
    /// since it was created. Buffers of its inputs are not included.
    uint64_t peak_scratch_bytes() const { return m_peak_scratch.load(); }

    /// Checks the range (InputError when outside the tensor), then computes it.
    void read(uint64_t offset, std::byte* dst, uint64_t size) const final;
    /// Ops that move pieces of rows (copy, reshape keeping the last dimension, split, concat, row
    /// permutation) pass box reads and views on to their inputs' boxes, so the stored chunks and
    /// the transposes beneath them are reached; the others compute row by row.
    bool view_box(uint64_t row, uint64_t col, BoxView& out) const override;
    void read_box(uint64_t row, uint64_t col, uint64_t rows, uint64_t cols, std::byte* dst,
                  uint64_t dst_stride) const override;

protected:
    /// Where a box of the output begins in an input.
    struct BoxSource {
        size_t input = 0;
        uint64_t row = 0, col = 0;   // in the input's matrix shape
        uint64_t rows = 0, cols = 0; // how far the output continues the input from there
    };
    /// For ops whose output rows are pieces of their inputs' rows: where output element (row,
    /// col) is. False (the default) for ops that compute their elements; an op answers the same
    /// for every element.
    virtual bool map_box(uint64_t row, uint64_t col, BoxSource& out) const;
    virtual void do_read(uint64_t offset, std::byte* dst, uint64_t size) const = 0;
    /// Records that a buffer of `bytes` is (about to be) held.
    void note_scratch(uint64_t bytes) const;
    /// Splits a byte range into whole elements (plus a partial head and tail) for ops that work
    /// element by element; calls read_elements(first, count, dst) with aligned `dst`.
    void read_by_elements(uint64_t offset, std::byte* dst, uint64_t size) const;
    virtual void read_elements(uint64_t first, uint64_t count, std::byte* dst) const;

private:
    OpKind m_kind;
    std::vector<TensorPtr> m_inputs;
    TensorInfo m_info;
    std::string m_label;
    mutable std::atomic<uint64_t> m_peak_scratch{0};
};

using OpPtr = std::shared_ptr<const OpTensor>;

/// Validates `spec` and builds the op. `label` names the output in messages ("the output tensor
/// 'x'" is built from it). Throws PlanError (CKPT_ERR_INVALID_ARGUMENT, or CKPT_ERR_UNSUPPORTED
/// for an unknown kind or generator or an unsupported dtype) naming `label`, the op, what was
/// expected and what was found.
///
/// What each kind costs on `read`:
///  - COPY, RESHAPE: forwarded to the input; `data()` passes the input's mapping through.
///  - SPLIT: contiguous byte ranges of the input; a split on the outermost non-unit axis is one
///    range, and `data()` passes through when the input has it.
///  - CONCAT, ROW_PERMUTE: byte ranges of the inputs, no buffers.
///  - COPY, RESHAPE (keeping the last dimension), SPLIT, CONCAT, ROW_PERMUTE also pass box reads
///    and views (TensorData::read_box, view_box) on to their inputs' boxes.
///  - TRANSPOSE: axes of size 1 are dropped and adjacent axes that stay together merged first;
///    what is left is the identity (forwarded), a (batched) 2-D transpose done in tiles with a
///    bounded buffer (none where the input offers views: a mapping, raw-stored chunks), writing
///    straight into the box a read_box asks for, or a general gather that needs the
///    input's `data()` or materialises the input once (released when the last byte is read).
///  - SCALE, ADD, CAST: element-wise over bounded pieces.
///  - GENERATE: computed per element, no buffers.
///  - KERNEL: materialises the inputs and the output once; the output is kept until its last byte
///    has been read, so a sequential chunked read runs the kernel once.
OpPtr make_op(OpSpec spec, std::string label);

/// "[0, 2, 1]"; a list longer than `max_shown` is cut: "[0, 2, 4, ..., 63] (64 entries)".
std::string format_ints(const std::vector<int64_t>& ints, size_t max_shown = 8);

} // namespace ckpt::engine
