// SPDX-License-Identifier: Apache-2.0
// CRC-32 with carry-less multiplication where the CPU has it, zlib elsewhere.
//
// The folding method is Intel's ("Fast CRC Computation for Generic Polynomials Using PCLMULQDQ
// Instruction", Gopal et al., 2009): four 128-bit lanes are folded forward 64 bytes at a time by
// multiplying with x^(512±64) mod P, folded into one lane, reduced to 64 and then 32 bits (Barrett).
// The constants are those of the reflected zip polynomial 0xEDB88320 given there; every length and
// alignment is checked against a bitwise reference in tests/unit/torch (torch_reader_test).
#include "core/crc32.hpp"

#include <zlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define CKPT_CRC32_CLMUL 1
#endif

namespace ckpt {

namespace {

uint32_t crc32_zlib(uint32_t crc, const void* data, size_t size)
{
    return static_cast<uint32_t>(::crc32_z(crc, static_cast<const Bytef*>(data), size));
}

#if defined(CKPT_CRC32_CLMUL)
bool cpu_has_clmul()
{
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return false;
    return (c & bit_PCLMUL) && (c & bit_SSE4_1);
}

#define CKPT_CLMUL_TARGET __attribute__((target("pclmul,sse4.1")))

CKPT_CLMUL_TARGET inline __m128i load(const unsigned char* at)
{
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
}

// One lane folded forward by the multiplier pair k (low and high halves), then `next` added.
CKPT_CLMUL_TARGET inline __m128i fold16(__m128i lane, __m128i k, __m128i next)
{
    const __m128i lo = _mm_clmulepi64_si128(lane, k, 0x00);
    const __m128i hi = _mm_clmulepi64_si128(lane, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

// Folds `n` bytes (a multiple of 16, at least 64) into the raw CRC register `state` (not
// inverted: callers invert before and after, as zlib does).
CKPT_CLMUL_TARGET uint32_t fold(uint32_t state, const unsigned char* p, size_t n)
{
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4); // x^(512+32), x^(512-32) mod P
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0); // x^(128+32), x^(128-32) mod P
    const __m128i k5 = _mm_set_epi64x(0, 0x0163cd6124);               // x^64 mod P
    const __m128i poly = _mm_set_epi64x(0x01f7011641, 0x01db710641);  // P' and mu, for Barrett
    __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(state)));
    __m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);
    p += 64;
    n -= 64;
    for (; n >= 64; p += 64, n -= 64) {
        x0 = fold16(x0, k1k2, load(p));
        x1 = fold16(x1, k1k2, load(p + 16));
        x2 = fold16(x2, k1k2, load(p + 32));
        x3 = fold16(x3, k1k2, load(p + 48));
    }
    // Four lanes into one, then the 16-byte blocks left.
    x0 = fold16(x0, k3k4, x1);
    x0 = fold16(x0, k3k4, x2);
    x0 = fold16(x0, k3k4, x3);
    for (; n >= 16; p += 16, n -= 16)
        x0 = fold16(x0, k3k4, load(p));
    // 128 bits to 64 (the low half times k4 added to the high half), then to a 64-bit remainder.
    const __m128i mask32 = _mm_setr_epi32(-1, 0, -1, 0);
    x0 = _mm_xor_si128(_mm_srli_si128(x0, 8), _mm_clmulepi64_si128(x0, k3k4, 0x10));
    x0 = _mm_xor_si128(_mm_srli_si128(x0, 4), _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), k5, 0x00));
    // Barrett reduction to 32 bits.
    __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), poly, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), poly, 0x00);
    return static_cast<uint32_t>(_mm_extract_epi32(_mm_xor_si128(x0, t), 1));
}
#endif

} // namespace

uint32_t crc32_update(uint32_t crc, const void* data, size_t size)
{
#if defined(CKPT_CRC32_CLMUL)
    // zlib's braided CRC-32 runs at about 4 GB/s here; folding with PCLMULQDQ several times that,
    // which keeps checksumming .bin records off the critical path of writing them.
    static const bool clmul = cpu_has_clmul();
    if (clmul && size >= 64) {
        const size_t bulk = size & ~size_t{15};
        crc = ~fold(~crc, static_cast<const unsigned char*>(data), bulk);
        return crc32_zlib(crc, static_cast<const unsigned char*>(data) + bulk, size - bulk);
    }
#endif
    return crc32_zlib(crc, data, size);
}

uint32_t crc32_combine(uint32_t first, uint32_t second, uint64_t second_size)
{
    return static_cast<uint32_t>(::crc32_combine64(first, second, static_cast<z_off64_t>(second_size)));
}

} // namespace ckpt
