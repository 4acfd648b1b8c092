// SPDX-License-Identifier: Apache-2.0
// Small RAII and error helpers over the HDF5 C API, shared by the `.mdl` reader and writer.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ckpt::detail {

/// The serial libhdf5 is not thread safe: every HDF5 call in the process goes through this lock.
std::recursive_mutex& h5_mutex();

/// Once per process: silences HDF5's own error printing (errors become our messages instead)
/// and registers the LZ4 filter. Call with h5_mutex held.
void h5_init();

/// The innermost-to-outermost descriptions of HDF5's current error stack, joined ("unable to
/// open file: file signature not found"); empty when the stack is empty. Clears the stack.
std::string h5_error_text();

/// Keeps HDF5's file-locking choice (default or HDF5_USE_FILE_LOCKING) but does not fail on file
/// systems where flock is disabled (Lustre, some NFS mounts).
void h5_relax_file_locking(hid_t fapl);

/// Owns one HDF5 identifier of any kind and releases it with H5Idec_ref.
class H5Id {
public:
    H5Id() = default;
    explicit H5Id(hid_t id) : m_id(id) {}
    ~H5Id() { reset(); }
    H5Id(H5Id&& o) noexcept : m_id(std::exchange(o.m_id, H5I_INVALID_HID)) {}
    H5Id& operator=(H5Id&& o) noexcept
    {
        if (this != &o) {
            reset();
            m_id = std::exchange(o.m_id, H5I_INVALID_HID);
        }
        return *this;
    }
    H5Id(const H5Id&) = delete;
    H5Id& operator=(const H5Id&) = delete;

    hid_t get() const { return m_id; }
    bool valid() const { return m_id >= 0; }
    /// Gives up ownership without releasing.
    hid_t release() { return std::exchange(m_id, H5I_INVALID_HID); }
    void reset()
    {
        if (m_id >= 0)
            H5Idec_ref(m_id);
        m_id = H5I_INVALID_HID;
    }

private:
    hid_t m_id = H5I_INVALID_HID;
};

/// Throws InputError "<what>: <HDF5 error text>" when `id` is negative; returns it owned.
H5Id h5_check(hid_t id, const std::string& what);
/// Throws InputError when an herr_t is negative.
void h5_check_status(herr_t status, const std::string& what);

/// Whether `path` names an object in `file` reached through hard links only (what h5py and
/// cstorch write). False when a component is missing. A soft, external or user-defined link on
/// the way is an InputError naming `where`: HDF5 would follow it, possibly into another file,
/// and a checkpoint must never make ckptconv read another file.
bool h5_hard_path_exists(hid_t file, const std::string& path, const std::string& where);

/// Refuses, with an InputError naming `where`, a dataset whose bytes are not stored inside its
/// own file: external raw-data files (H5Pset_external), a virtual dataset, or any layout HDF5
/// may add. Contiguous, chunked and compact (bytes in the object header) storage pass.
void h5_require_local_storage(hid_t dset, const std::string& where);

/// Whether an object (dataset or group) has an attribute; false on any error.
bool h5_has_attr(hid_t obj, const char* name);

/// Reads a scalar string attribute (variable- or fixed-length); nullopt when absent.
/// Throws InputError (using `where` in the message) when it exists but is not a string.
std::optional<std::string> h5_read_string_attr(hid_t obj, const char* name, const std::string& where);

/// Reads a scalar numeric attribute as int64 (integers, enums, bools); nullopt when absent.
std::optional<int64_t> h5_read_int_attr(hid_t obj, const char* name, const std::string& where);

/// Reads a scalar numeric attribute as double; nullopt when absent.
std::optional<double> h5_read_float_attr(hid_t obj, const char* name, const std::string& where);

/// Reads a 1-D (or scalar) integer attribute as a list (e.g. `shape`); nullopt when absent.
std::optional<std::vector<int64_t>> h5_read_int_list_attr(hid_t obj, const char* name,
                                                          const std::string& where,
                                                          size_t max_items);

/// Writes a scalar variable-length UTF-8 string attribute, as h5py writes Python str.
void h5_write_string_attr(hid_t obj, const char* name, const std::string& value);
/// Writes a scalar attribute of h5py's bool type (enum int8 FALSE=0/TRUE=1).
void h5_write_bool_attr(hid_t obj, const char* name, bool value);
/// Writes a scalar IEEE F64LE attribute.
void h5_write_double_attr(hid_t obj, const char* name, double value);

/// h5py's numpy-bool type: enum over int8 with FALSE = 0, TRUE = 1. Owned by the caller.
H5Id h5_bool_type();
/// h5py's half-float type (IEEE 754 binary16, little-endian). Owned by the caller.
H5Id h5_half_type();

} // namespace ckpt::detail
