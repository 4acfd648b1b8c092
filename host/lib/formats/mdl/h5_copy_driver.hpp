// SPDX-License-Identifier: Apache-2.0
// An HDF5 file driver for the files ckptconv writes: POSIX I/O like HDF5's default (sec2), except
// that bytes which lie in a mapped input file are copied inside the kernel.
#pragma once

#include "formats/mdl/h5_handle.hpp"

#include <cstdint>

namespace ckpt::detail {

/// The driver's id, registered on first use (call with h5_mutex held, after h5_init). It writes
/// exactly the bytes sec2 writes, at the same addresses, with the same feature flags (so HDF5
/// lays the file out the same way). What differs is how raw data reaches the file: a write whose
/// buffer lies in a live MappedFile (a stored chunk passed through from an input `.mdl`, a
/// tensor of a mapped input written uncompressed) is queued as a kernel copy, and writes that
/// continue both the queued source and destination ranges join it, so a rename-only conversion
/// copies long runs with copy_file_range instead of 15 000 small pwrites. Queued copies are done
/// before any other read, write, flush, truncation or close. Falls back to pwrite where the
/// kernel cannot copy. Returns a negative id if HDF5 refused to register it.
hid_t h5_copy_driver();

/// Sets the driver on a file access property list (no-op if it could not be registered).
void h5_use_copy_driver(hid_t fapl);

/// Allows the driver one read-only open, of `path`, on this thread while it lives: the H5Fopen
/// of an input `.mdl`. Every other read-only open through the driver — HDF5 opening the file an
/// external link or a virtual dataset names — fails, so a checkpoint cannot make ckptconv read
/// another file even where the reader's own checks (h5_require_local_storage) would miss a way.
/// Read-only opens also refuse anything but a regular file (open_input_file). `path` must outlive
/// the guard.
class H5InputOpen {
public:
    explicit H5InputOpen(const char* path);
    ~H5InputOpen();
    H5InputOpen(const H5InputOpen&) = delete;
    H5InputOpen& operator=(const H5InputOpen&) = delete;
};

/// Where one stored chunk lies in its file.
struct ChunkPlace {
    uint32_t filter_mask = 0;
    uint64_t offset = 0; // from the start of the file
    uint64_t size = 0;
};

/// Finds the stored chunk at `origin` (element coordinates) of `dset` through HDF5's chunk index
/// without reading it: H5Dread_chunk runs with the driver told to note the one raw-data read it
/// is asked for instead of doing it. (HDF5 1.10's H5Dget_chunk_info_by_coord walks every chunk of
/// the dataset on each call: quadratic in the chunks.) False, with HDF5's error stack as it is,
/// when the chunk is not allocated, HDF5 fails, or the file is not open through this driver.
/// `max_size` bounds the chunk's stored size when the caller knows one (LZ4's bound for the
/// chunk): HDF5 then does one index look-up instead of two (the second finds the size first);
/// a larger chunk is not found. Pass it only for a file known to be open through this driver
/// (another driver would really read the chunk into a buffer of max_size bytes).
bool h5_locate_chunk(hid_t dset, const hsize_t* origin, ChunkPlace& out, uint64_t max_size = 0);

} // namespace ckpt::detail
