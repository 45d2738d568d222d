/*
 * HyperDex native kernels: the bf16 prefill GEMM with AVX512-BF16 (vdpbf16ps), which .NET does not expose.
 *
 * The managed engine (ProjectionJob) calls these only after hdx_supports() returned 1, only for bf16 weights and
 * prefill steps, and only with sizes it has validated against the weight image and its buffers: this file trusts
 * its arguments. Layouts follow src/HyperDex.Runtime/Compiled/WeightTiles.cs (weightLayout host-tiles-4): tiles of
 * 4 rows, each a run of groups of 32 columns, a group holding 64 bytes (32 bf16) of each of the tile's 4 rows.
 */
#include <immintrin.h>
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

enum
{
    PANEL_ROWS = 32,   /* weight rows per packed panel: two zmm of 16 fp32 outputs */
    TILE_TOKENS = 12,  /* input rows per register tile: 12 x 2 accumulators of the 32 zmm */
    TILE_ROWS = 4,     /* WeightTiles.TileRows */
    GROUP_COLS = 32,   /* WeightTiles.GroupColumns(BF16) */
    GROUP_PAIRS = GROUP_COLS / 2,
    ROW_BYTES = 64,    /* one row's values in a group */
    GROUP_BYTES = TILE_ROWS * ROW_BYTES,
};

/* Bumped when a signature below changes; the managed loader refuses a library of another version. */
EXPORT int32_t hdx_abi_version(void) { return 1; }

/* 1 when this CPU and OS run AVX-512F/VL and AVX512-BF16 (libgcc checks the OS saves the zmm state). */
EXPORT int32_t hdx_supports(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bf16");
}

/*
 * out[r * outStride + k] = bf16(x[r * xStride + k]) rounded to nearest even (as llama.cpp rounds activations for
 * its bf16 dot products), k < cols; zeros from cols to outStride so the GEMM can run over whole groups.
 */
__attribute__((target("avx512f,avx512vl,avx512bf16")))
EXPORT void hdx_bf16_round_rows(const float *x, int64_t xStride, int32_t rows, int32_t cols, uint16_t *out, int64_t outStride)
{
    for (int32_t r = 0; r < rows; r++)
    {
        const float *s = x + r * xStride;
        uint16_t *d = out + r * outStride;
        int64_t k = 0;
        for (; k + 32 <= cols; k += 32)
        {
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(s + k + 16), _mm512_loadu_ps(s + k));
            _mm512_storeu_si512(d + k, (__m512i)v);
        }

        for (; k < outStride; k += 16)
        {
            int64_t left = cols - k;
            __mmask16 load = left >= 16 ? 0xFFFF : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
            int64_t room = outStride - k;
            __mmask16 store = room >= 16 ? 0xFFFF : (__mmask16)((1u << room) - 1);
            __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(load, s + k));
            _mm256_mask_storeu_epi16(d + k, store, (__m256i)v);
        }
    }
}

/*
 * Packs rows [firstRow, firstRow + count) (firstRow a multiple of 4, count <= 32) of a tiled bf16 matrix into
 * panel[p * 32 + r] = the bf16 pair (w[r][2p], w[r][2p + 1]) as one 32-bit lane: in a row's 64 bytes the pairs are
 * already adjacent, so packing is a 32 x 16 transpose of 32-bit words per group, no widening. Rows from count on
 * are zero.
 */
static void pack_panel(const uint8_t *weight, int64_t tileBytes, int32_t firstRow, int32_t count, int32_t groups, uint32_t *panel)
{
    for (int32_t g = 0; g < groups; g++)
    {
        uint32_t *target = panel + (int64_t)g * GROUP_PAIRS * PANEL_ROWS;
        for (int32_t r = 0; r < PANEL_ROWS; r++)
        {
            if (r < count)
            {
                int32_t row = firstRow + r;
                const uint32_t *source = (const uint32_t *)(weight + (row / TILE_ROWS) * tileBytes
                    + (int64_t)g * GROUP_BYTES + (row % TILE_ROWS) * ROW_BYTES);
                for (int p = 0; p < GROUP_PAIRS; p++)
                {
                    target[p * PANEL_ROWS + r] = source[p];
                }
            }
            else
            {
                for (int p = 0; p < GROUP_PAIRS; p++)
                {
                    target[p * PANEL_ROWS + r] = 0;
                }
            }
        }
    }
}

/*
 * y[t][j] (+ bias[j]) for t < tokens (1..12), j < count: a 12 x 32 register tile over all pairs. Per pair: two
 * panel loads, twelve 32-bit broadcasts of an input row's bf16 pair, 24 vdpbf16ps (each 16 outputs x 2 k in fp32).
 * Missing input rows repeat the last one; their results are not stored.
 */
__attribute__((target("avx512f,avx512vl,avx512bf16")))
static inline void tile(const uint32_t *panel, const uint16_t *xb, int64_t xbStride, int32_t tokens, int32_t pairs,
                        float *y, int64_t yStride, __mmask16 mask0, __mmask16 mask1, const float *bias)
{
    const uint32_t *x[TILE_TOKENS];
    for (int t = 0; t < TILE_TOKENS; t++)
    {
        x[t] = (const uint32_t *)(xb + (t < tokens ? t : tokens - 1) * xbStride);
    }

    __m512 c0[TILE_TOKENS], c1[TILE_TOKENS];
#pragma GCC unroll 12
    for (int t = 0; t < TILE_TOKENS; t++)
    {
        c0[t] = _mm512_setzero_ps();
        c1[t] = _mm512_setzero_ps();
    }

    const uint32_t *w = panel;
    for (int32_t p = 0; p < pairs; p++, w += PANEL_ROWS)
    {
        __m512bh w0 = (__m512bh)_mm512_load_si512(w);
        __m512bh w1 = (__m512bh)_mm512_load_si512(w + 16);
#pragma GCC unroll 12
        for (int t = 0; t < TILE_TOKENS; t++)
        {
            __m512bh b = (__m512bh)_mm512_set1_epi32((int32_t)x[t][p]);
            c0[t] = _mm512_dpbf16_ps(c0[t], w0, b);
            c1[t] = _mm512_dpbf16_ps(c1[t], w1, b);
        }
    }

    __m512 b0 = bias ? _mm512_maskz_loadu_ps(mask0, bias) : _mm512_setzero_ps();
    __m512 b1 = bias ? _mm512_maskz_loadu_ps(mask1, bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int t = 0; t < TILE_TOKENS; t++)
    {
        if (t < tokens)
        {
            _mm512_mask_storeu_ps(y + t * yStride, mask0, _mm512_add_ps(c0[t], b0));
            _mm512_mask_storeu_ps(y + t * yStride + 16, mask1, _mm512_add_ps(c1[t], b1));
        }
    }
}

/*
 * y[t * yStride + j] = sum_k bf16(x)[t][k] * w[firstRow + j][k] (+ bias[j]) for t < tokens, j < count (<= 32),
 * over groups * 32 columns. xb: input rows already rounded by hdx_bf16_round_rows (zero-padded to whole groups).
 * panel: scratch of groups * 32 * 32 * 2 bytes, 64-byte aligned, owned by the calling thread.
 */
__attribute__((target("avx512f,avx512vl,avx512bf16")))
EXPORT void hdx_bf16_gemm_panel(const uint8_t *weight, int64_t tileBytes, int32_t groups, int32_t firstRow, int32_t count,
                                const uint16_t *xb, int64_t xbStride, int32_t tokens, float *y, int64_t yStride,
                                const float *bias, uint32_t *panel)
{
    pack_panel(weight, tileBytes, firstRow, count, groups, panel);
    __mmask16 mask0 = count >= 16 ? 0xFFFF : (__mmask16)((1u << count) - 1);
    __mmask16 mask1 = count >= 32 ? 0xFFFF : count <= 16 ? 0 : (__mmask16)((1u << (count - 16)) - 1);
    int32_t pairs = groups * GROUP_PAIRS;
    for (int32_t t = 0; t < tokens; t += TILE_TOKENS)
    {
        int32_t n = tokens - t < TILE_TOKENS ? tokens - t : TILE_TOKENS;
        tile(panel, xb + t * xbStride, xbStride, n, pairs, y + t * yStride, yStride, mask0, mask1, bias);
    }
}
