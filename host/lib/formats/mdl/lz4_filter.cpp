// SPDX-License-Identifier: Apache-2.0
// HDF5 filter 32004 (LZ4) registered in-process, so `.mdl` files written with `hdf5plugin.LZ4()`
// read and write without HDF5_PLUGIN_PATH or Debian's hdf5-filter-plugin being installed.
//
// Why not rely on the dynamic plugin: it is a separate package users forget, its directory
// differs between distributions (HDF5's built-in default is /usr/local/hdf5/lib/plugin; Debian
// patches in its own), a static or relocated ckptconv would need HDF5_PLUGIN_PATH set, and a
// missing filter is only discovered when the first chunk is read — after a conversion has
// started. liblz4 is small and everywhere; registering the filter makes every build read and
// write LZ4 checkpoints the same way. A registered filter takes precedence over plugins.
//
// Chunk framing (the one hdf5plugin / bitshuffle / HDF Group's H5Zlz4 use): 8-byte big-endian
// original size, 4-byte big-endian block size, then per block a 4-byte big-endian compressed size
// and the LZ4 block. A block whose compressed size equals its plain size is stored raw (LZ4 did
// not help). cd_values[0] is the block size; 0 means the default of 1 GiB, capped at the chunk.
#include "formats/mdl/lz4_filter.hpp"

#include <hdf5.h>
#include <lz4.h>

#include <cstring>

#include <fmt/format.h>

namespace ckpt::detail {

namespace {

constexpr unsigned kDefaultBlockSize = 1u << 30;
constexpr size_t kHeaderSize = 12;
static_assert(kLz4RawFrameHeader == kHeaderSize + 4, "a raw block's frame: header and the block's size");
// LZ4 cannot expand data by more than 255:1, so a header claiming more is hostile; HDF5 chunks
// are also limited to 4 GiB.
constexpr uint64_t kMaxRatio = 256;
constexpr uint64_t kMaxChunk = 0xffffffffull;

uint64_t get_be64(const unsigned char* p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v = (v << 8) | p[i];
    return v;
}
uint32_t get_be32(const unsigned char* p)
{
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
void put_be64(unsigned char* p, uint64_t v)
{
    for (int i = 7; i >= 0; --i) {
        p[i] = static_cast<unsigned char>(v & 0xff);
        v >>= 8;
    }
}
void put_be32(unsigned char* p, uint32_t v)
{
    p[0] = static_cast<unsigned char>(v >> 24);
    p[1] = static_cast<unsigned char>(v >> 16);
    p[2] = static_cast<unsigned char>(v >> 8);
    p[3] = static_cast<unsigned char>(v);
}

// Decodes the blocks after the header into out[0, orig); false if any block is malformed.
bool decode_blocks(const unsigned char* in, size_t nbytes, uint64_t orig, uint64_t block, unsigned char* out)
{
    size_t pos = kHeaderSize;
    uint64_t done = 0;
    while (done < orig) {
        const uint64_t want = block < orig - done ? block : orig - done;
        if (nbytes - pos < 4)
            return false;
        const uint32_t csize = get_be32(in + pos);
        pos += 4;
        if (csize > nbytes - pos)
            return false;
        if (csize == want) {
            std::memcpy(out + done, in + pos, csize);
        } else {
            if (want > uint64_t(INT32_MAX) || csize > uint32_t(INT32_MAX))
                return false;
            const int got = LZ4_decompress_safe(reinterpret_cast<const char*>(in + pos),
                                                reinterpret_cast<char*>(out + done), int(csize), int(want));
            if (got < 0 || uint64_t(got) != want)
                return false;
        }
        pos += csize;
        done += want;
    }
    return true;
}

// The header's sizes, checked before anything is allocated for them.
bool read_header(const unsigned char* in, size_t nbytes, uint64_t& orig, uint64_t& block)
{
    if (nbytes < kHeaderSize)
        return false;
    orig = get_be64(in);
    block = get_be32(in + 8);
    if (orig > kMaxChunk || orig > uint64_t(nbytes) * kMaxRatio + 64)
        return false;
    return orig == 0 || block != 0;
}

size_t decompress(size_t nbytes, size_t* buf_size, void** buf)
{
    const auto* in = static_cast<const unsigned char*>(*buf);
    uint64_t orig = 0, block = 0;
    if (!read_header(in, nbytes, orig, block))
        return 0;
    auto* out = static_cast<unsigned char*>(H5allocate_memory(orig ? size_t(orig) : 1, false));
    if (!out)
        return 0;
    if (!decode_blocks(in, nbytes, orig, block, out)) {
        H5free_memory(out);
        return 0;
    }
    H5free_memory(*buf);
    *buf = out;
    *buf_size = orig ? size_t(orig) : 1;
    return size_t(orig);
}

uint64_t block_size(size_t cd_nelmts, const unsigned cd_values[], size_t nbytes)
{
    uint64_t block = (cd_nelmts > 0 && cd_values[0] > 0) ? cd_values[0] : kDefaultBlockSize;
    if (block > nbytes)
        block = nbytes;
    if (block > uint64_t(LZ4_MAX_INPUT_SIZE))
        block = LZ4_MAX_INPUT_SIZE;
    return block;
}

uint64_t framed_bound(size_t nbytes, uint64_t block)
{
    const uint64_t nblocks = nbytes ? (nbytes - 1) / block + 1 : 0;
    const uint64_t bound = nbytes ? uint64_t(LZ4_compressBound(int(block))) : 0;
    return kHeaderSize + nblocks * (4 + bound);
}

// Frames `nbytes` of `in` into `out` (capacity framed_bound); returns the framed size, 0 on failure.
size_t encode(const unsigned char* in, size_t nbytes, uint64_t block, unsigned char* out)
{
    const int bound = nbytes ? LZ4_compressBound(int(block)) : 0;
    put_be64(out, nbytes);
    put_be32(out + 8, uint32_t(block));
    size_t pos = kHeaderSize;
    for (uint64_t done = 0; done < nbytes;) {
        const uint64_t n = block < nbytes - done ? block : nbytes - done;
        const int c = LZ4_compress_default(reinterpret_cast<const char*>(in + done),
                                           reinterpret_cast<char*>(out + pos + 4), int(n), bound);
        if (c <= 0)
            return 0;
        uint32_t csize = uint32_t(c);
        if (csize >= n) { // incompressible: store raw, as the reference filter does
            std::memcpy(out + pos + 4, in + done, n);
            csize = uint32_t(n);
        }
        put_be32(out + pos, csize);
        pos += 4 + csize;
        done += n;
    }
    return pos;
}

size_t compress(size_t cd_nelmts, const unsigned cd_values[], size_t nbytes, size_t* buf_size, void** buf)
{
    if (nbytes > kMaxChunk)
        return 0;
    const uint64_t block = block_size(cd_nelmts, cd_values, nbytes);
    const uint64_t cap = framed_bound(nbytes, block);
    auto* out = static_cast<unsigned char*>(H5allocate_memory(size_t(cap), false));
    if (!out)
        return 0;
    const size_t pos = encode(static_cast<const unsigned char*>(*buf), nbytes, block, out);
    if (pos == 0) {
        H5free_memory(out);
        return 0;
    }
    H5free_memory(*buf);
    *buf = out;
    *buf_size = size_t(cap);
    return pos;
}

size_t lz4_filter(unsigned flags, size_t cd_nelmts, const unsigned cd_values[], size_t nbytes,
                  size_t* buf_size, void** buf)
{
    if (flags & H5Z_FLAG_REVERSE)
        return decompress(nbytes, buf_size, buf);
    return compress(cd_nelmts, cd_values, nbytes, buf_size, buf);
}

const H5Z_class2_t kLz4Class = {
    H5Z_CLASS_T_VERS,
    static_cast<H5Z_filter_t>(kLz4FilterId),
    1,
    1,
    // The name is stored in every file's filter pipeline; this is the one hdf5plugin writes.
    "HDF5 lz4 filter; see http://www.hdfgroup.org/services/contributions.html",
    nullptr,
    nullptr,
    lz4_filter,
};

} // namespace

bool register_lz4_filter()
{
    return H5Zregister(&kLz4Class) >= 0;
}

size_t lz4_chunk_bound(size_t nbytes)
{
    if (nbytes > kMaxChunk)
        return 0;
    return size_t(framed_bound(nbytes, block_size(0, nullptr, nbytes)));
}

size_t lz4_chunk_compress(const unsigned char* in, size_t nbytes, unsigned char* out)
{
    if (nbytes > kMaxChunk)
        return 0;
    return encode(in, nbytes, block_size(0, nullptr, nbytes), out);
}

size_t lz4_chunk_compress_framing_raw_in_place(unsigned char* buf, size_t nbytes, unsigned char* out,
                                               bool* in_place)
{
    *in_place = false;
    const uint64_t block = block_size(0, nullptr, nbytes);
    if (nbytes == 0 || nbytes > kMaxChunk || block != nbytes) // several blocks: frame as usual
        return lz4_chunk_compress(buf + kLz4RawFrameHeader, nbytes, out);
    unsigned char* in = buf + kLz4RawFrameHeader;
    const int c = LZ4_compress_default(reinterpret_cast<const char*>(in), reinterpret_cast<char*>(out + kHeaderSize + 4),
                                       int(nbytes), LZ4_compressBound(int(nbytes)));
    if (c <= 0)
        return 0;
    // The frame: original size, block size, then the block's stored size and the block.
    unsigned char* frame = uint64_t(c) >= nbytes ? buf : out;
    put_be64(frame, nbytes);
    put_be32(frame + 8, uint32_t(block));
    put_be32(frame + kHeaderSize, uint64_t(c) >= nbytes ? uint32_t(nbytes) : uint32_t(c));
    *in_place = frame == buf;
    return kHeaderSize + 4 + (*in_place ? nbytes : size_t(c));
}

std::string lz4_chunk_decompress(const unsigned char* in, size_t nbytes, unsigned char* out, size_t expected)
{
    uint64_t orig = 0, block = 0;
    if (!read_header(in, nbytes, orig, block))
        return fmt::format("its {}-byte LZ4 header is malformed", nbytes);
    if (orig != expected)
        return fmt::format("its LZ4 header claims {} bytes, the chunk holds {}", orig, expected);
    if (!decode_blocks(in, nbytes, orig, block, out))
        return fmt::format("an LZ4 block of the {} compressed bytes does not decode", nbytes);
    return {};
}

const unsigned char* lz4_chunk_raw_payload(const unsigned char* in, size_t nbytes, size_t expected)
{
    uint64_t orig = 0, block = 0;
    if (expected == 0 || nbytes != kHeaderSize + 4 + expected || !read_header(in, nbytes, orig, block))
        return nullptr;
    if (orig != expected || block < expected || get_be32(in + kHeaderSize) != expected)
        return nullptr;
    return in + kHeaderSize + 4;
}

} // namespace ckpt::detail
