// SPDX-License-Identifier: Apache-2.0
// Opening input files: the one place that decides what ckptconv agrees to read from.
#pragma once

#include <filesystem>

namespace ckpt {

/// Opens an input file for reading and returns its descriptor (the caller closes it). Every
/// reader opens its inputs here (checkpoints, shards, indexes, configs, side files): anything but
/// a regular file — a FIFO, socket or device, which would block a reader forever or never end —
/// is refused before a byte is read, with an InputError naming the file and what it is. The open
/// itself never blocks (O_NONBLOCK, cleared once the file is known to be regular).
int open_input_file(const std::filesystem::path& path);

/// What kind of file a `st_mode` says it is, for messages ("a FIFO (named pipe)", "a directory").
const char* file_kind(unsigned mode);

} // namespace ckpt
