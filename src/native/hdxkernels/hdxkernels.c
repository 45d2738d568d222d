/*
 * HyperDex native kernels: the prefill GEMMs .NET cannot express on this CPU: bf16 with AVX512-BF16 (vdpbf16ps) and
 * Q8 with AVX512-VNNI (vpdpwssd; .NET exposes VNNI only in its VEX form, AVX-VNNI, which Zen 4 lacks).
 *
 * The managed engine (ProjectionJob) calls these only after hdx_supports() reported the kernel's flags, only for
 * prefill steps, and only with sizes it has validated against the weight image and its buffers: this file trusts
 * its arguments. Layouts follow src/HyperDex.Runtime/Compiled/WeightTiles.cs (weightLayout host-tiles-4): tiles of
 * 4 rows, each a run of groups; a bf16 group holds 64 bytes (32 bf16) of each of the tile's 4 rows, a Q8 group 128
 * int8 of each row followed by the rows' fp32 block scales [row][4] (one per 32 values).
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
EXPORT int32_t hdx_abi_version(void) { return 2; }

/*
 * The kernels this CPU and OS run (libgcc checks the OS saves the zmm state): bit 0 the bf16 GEMM (AVX-512F/VL and
 * AVX512-BF16), bit 1 the Q8 GEMM (AVX-512F/VL/BW and AVX512-VNNI).
 */
EXPORT int32_t hdx_supports(void)
{
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
    return (avx512 && __builtin_cpu_supports("avx512bf16") ? 1 : 0)
        | (avx512 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni") ? 2 : 0);
}

/* The first n of 16 lanes (none for n <= 0, all for n >= 16): the mask of a row's partial vector. */
static inline __mmask16 first_lanes(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/*
 * Stores rows t < tokens of a register tile's two accumulator sets (+ bias) under the panel's column masks. Always
 * inlined with a constant tileTokens, so the unrolled loop indexes the accumulators by constants and they stay in
 * registers.
 */
__attribute__((target("avx512f,avx512vl"), always_inline))
static inline void store_tile(const __m512 *c0, const __m512 *c1, int tileTokens, int32_t tokens, float *y, int64_t yStride,
                              __mmask16 mask0, __mmask16 mask1, const float *bias)
{
    __m512 b0 = bias ? _mm512_maskz_loadu_ps(mask0, bias) : _mm512_setzero_ps();
    __m512 b1 = bias ? _mm512_maskz_loadu_ps(mask1, bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int t = 0; t < tileTokens; t++)
    {
        if (t < tokens)
        {
            _mm512_mask_storeu_ps(y + t * yStride, mask0, _mm512_add_ps(c0[t], b0));
            _mm512_mask_storeu_ps(y + t * yStride + 16, mask1, _mm512_add_ps(c1[t], b1));
        }
    }
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
            __mmask16 load = first_lanes(cols - k), store = first_lanes(outStride - k);
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

    store_tile(c0, c1, TILE_TOKENS, tokens, y, yStride, mask0, mask1, bias);
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
    __mmask16 mask0 = first_lanes(count), mask1 = first_lanes(count - 16);
    int32_t pairs = groups * GROUP_PAIRS;
    for (int32_t t = 0; t < tokens; t += TILE_TOKENS)
    {
        int32_t n = tokens - t < TILE_TOKENS ? tokens - t : TILE_TOKENS;
        tile(panel, xb + t * xbStride, xbStride, n, pairs, y + t * yStride, yStride, mask0, mask1, bias);
    }
}

/* ---- Q8: int8 weights (blocks of 32, one fp32 scale each) times int16-quantized activations, with VNNI ---- */

enum
{
    Q8_GROUP_COLS = 128,                      /* WeightTiles.GroupColumns(Q8) */
    Q8_BLOCK = 32,                            /* WeightTiles.Q8BlockSize */
    Q8_BLOCKS_PER_GROUP = Q8_GROUP_COLS / Q8_BLOCK,
    Q8_ROW_BYTES = Q8_GROUP_COLS,             /* one row's int8 in a group */
    Q8_GROUP_BYTES = TILE_ROWS * Q8_ROW_BYTES + TILE_ROWS * Q8_BLOCKS_PER_GROUP * 4,
    Q8_BLOCK_PAIRS = Q8_BLOCK / 2,
    /* One packed block: 16 int16 pairs x 32 rows, then the 32 rows' scales (2176 bytes, 34 cache lines). */
    Q8_PANEL_BLOCK_WORDS = Q8_BLOCK_PAIRS * PANEL_ROWS + PANEL_ROWS,
    Q8_TILE_TOKENS = 6,                       /* 6 x 2 fp32 + 6 x 2 int32 accumulators of the 32 zmm */
};

/*
 * Quantizes input rows as the managed decode path does (DecodeInput): per block of 32 values, scale = max|x| / 32767
 * and q = x * (32767 / max|x|) rounded to nearest even (all zeros for an all-zero block), in natural column order.
 * out[r * outStride + k] for k < blocks * 32 (columns from cols on are zero), scales[r * scaleStride + b].
 */
__attribute__((target("avx512f,avx512vl,avx512bw")))
EXPORT void hdx_q8_quantize_rows(const float *x, int64_t xStride, int32_t rows, int32_t cols, int32_t blocks,
                                 int16_t *out, int64_t outStride, float *scales, int64_t scaleStride)
{
    for (int32_t r = 0; r < rows; r++)
    {
        const float *s = x + r * xStride;
        for (int32_t b = 0; b < blocks; b++)
        {
            int64_t k = (int64_t)b * Q8_BLOCK;
            __mmask16 m0 = first_lanes(cols - k), m1 = first_lanes(cols - k - 16);
            __m512 v0 = _mm512_maskz_loadu_ps(m0, s + k);
            __m512 v1 = _mm512_maskz_loadu_ps(m1, s + k + 16);
            float max = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
            float inverse = max == 0 ? 0 : 32767.0f / max;
            scales[r * scaleStride + b] = max / 32767.0f;
            __m512 factor = _mm512_set1_ps(inverse);
            __m256i q0 = _mm512_cvtsepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(v0, factor)));
            __m256i q1 = _mm512_cvtsepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(v1, factor)));
            _mm256_storeu_si256((__m256i *)(out + r * outStride + k), q0);
            _mm256_storeu_si256((__m256i *)(out + r * outStride + k + 16), q1);
        }
    }
}

/*
 * Packs rows [firstRow, firstRow + count) (firstRow a multiple of 4, count <= 32) of a tiled Q8 matrix, per block of
 * 32 columns: panel[block][p * 32 + r] = the int16 pair (w[r][32 block + 2p], w[r][32 block + 2p + 1]) sign-extended
 * from int8, then the rows' 32 block scales. Rows from count on are zero (weights and scales).
 */
__attribute__((target("avx512f,avx512vl,avx512bw")))
static void pack_q8_panel(const uint8_t *weight, int64_t tileBytes, int32_t firstRow, int32_t count, int32_t groups, uint32_t *panel)
{
    uint32_t pairs[Q8_BLOCK_PAIRS];
    for (int32_t g = 0; g < groups; g++)
    {
        for (int32_t q = 0; q < Q8_BLOCKS_PER_GROUP; q++)
        {
            uint32_t *target = panel + (int64_t)(g * Q8_BLOCKS_PER_GROUP + q) * Q8_PANEL_BLOCK_WORDS;
            float *targetScales = (float *)(target + Q8_BLOCK_PAIRS * PANEL_ROWS);
            for (int32_t r = 0; r < PANEL_ROWS; r++)
            {
                if (r < count)
                {
                    int32_t row = firstRow + r;
                    const uint8_t *group = weight + (row / TILE_ROWS) * tileBytes + (int64_t)g * Q8_GROUP_BYTES;
                    const int8_t *values = (const int8_t *)(group + (row % TILE_ROWS) * Q8_ROW_BYTES + q * Q8_BLOCK);
                    const float *rowScales = (const float *)(group + TILE_ROWS * Q8_ROW_BYTES) + (row % TILE_ROWS) * Q8_BLOCKS_PER_GROUP;
                    _mm512_storeu_si512(pairs, _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)values)));
                    for (int p = 0; p < Q8_BLOCK_PAIRS; p++)
                    {
                        target[p * PANEL_ROWS + r] = pairs[p];
                    }

                    targetScales[r] = rowScales[q];
                }
                else
                {
                    for (int p = 0; p < Q8_BLOCK_PAIRS; p++)
                    {
                        target[p * PANEL_ROWS + r] = 0;
                    }

                    targetScales[r] = 0;
                }
            }
        }
    }
}

/*
 * y[t][j] (+ bias[j]) for t < tokens (1..6), j < count: a 6 x 32 register tile. Per block of 32 columns the int32
 * sums are exact (|int8 * int16| * 32 < 2^31): per pair two panel loads, six 32-bit broadcasts of an input row's
 * int16 pair and 12 vpdpwssd; then each sum is scaled by its weight scale times the input row's block scale and
 * added in fp32. Missing input rows repeat the last one; their results are not stored.
 */
__attribute__((target("avx512f,avx512vl,avx512bw,avx512vnni")))
static inline void q8_tile(const uint32_t *panel, int32_t blocks, const int16_t *xq, int64_t xqStride, const float *xs,
                           int64_t xsStride, int32_t tokens, float *y, int64_t yStride, __mmask16 mask0, __mmask16 mask1,
                           const float *bias)
{
    const uint32_t *x[Q8_TILE_TOKENS];
    const float *scale[Q8_TILE_TOKENS];
    for (int t = 0; t < Q8_TILE_TOKENS; t++)
    {
        int row = t < tokens ? t : tokens - 1;
        x[t] = (const uint32_t *)(xq + row * xqStride);
        scale[t] = xs + row * xsStride;
    }

    __m512 c0[Q8_TILE_TOKENS], c1[Q8_TILE_TOKENS];
#pragma GCC unroll 6
    for (int t = 0; t < Q8_TILE_TOKENS; t++)
    {
        c0[t] = _mm512_setzero_ps();
        c1[t] = _mm512_setzero_ps();
    }

    for (int32_t b = 0; b < blocks; b++)
    {
        const uint32_t *w = panel + (int64_t)b * Q8_PANEL_BLOCK_WORDS;
        __m512i i0[Q8_TILE_TOKENS], i1[Q8_TILE_TOKENS];
#pragma GCC unroll 6
        for (int t = 0; t < Q8_TILE_TOKENS; t++)
        {
            i0[t] = _mm512_setzero_si512();
            i1[t] = _mm512_setzero_si512();
        }

        for (int p = 0; p < Q8_BLOCK_PAIRS; p++)
        {
            __m512i w0 = _mm512_load_si512(w + p * PANEL_ROWS);
            __m512i w1 = _mm512_load_si512(w + p * PANEL_ROWS + 16);
#pragma GCC unroll 6
            for (int t = 0; t < Q8_TILE_TOKENS; t++)
            {
                __m512i v = _mm512_set1_epi32((int32_t)x[t][b * Q8_BLOCK_PAIRS + p]);
                i0[t] = _mm512_dpwssd_epi32(i0[t], w0, v);
                i1[t] = _mm512_dpwssd_epi32(i1[t], w1, v);
            }
        }

        const float *weightScales = (const float *)(w + Q8_BLOCK_PAIRS * PANEL_ROWS);
        __m512 s0 = _mm512_load_ps(weightScales);
        __m512 s1 = _mm512_load_ps(weightScales + 16);
#pragma GCC unroll 6
        for (int t = 0; t < Q8_TILE_TOKENS; t++)
        {
            __m512 xscale = _mm512_set1_ps(scale[t][b]);
            c0[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0[t]), _mm512_mul_ps(s0, xscale), c0[t]);
            c1[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1[t]), _mm512_mul_ps(s1, xscale), c1[t]);
        }
    }

    store_tile(c0, c1, Q8_TILE_TOKENS, tokens, y, yStride, mask0, mask1, bias);
}

/*
 * y[t * yStride + j] = sum_b xs[t][b] * ws[j][b] * sum_{k in b} xq[t][k] * wq[firstRow + j][k] (+ bias[j]) for
 * t < tokens, j < count (<= 32), over groups * 128 columns. xq/xs: input rows from hdx_q8_quantize_rows (zero past
 * the columns). panel: scratch of groups * 4 * 2176 bytes, 64-byte aligned, owned by the calling thread.
 */
__attribute__((target("avx512f,avx512vl,avx512bw,avx512vnni")))
EXPORT void hdx_q8_gemm_panel(const uint8_t *weight, int64_t tileBytes, int32_t groups, int32_t firstRow, int32_t count,
                              const int16_t *xq, int64_t xqStride, const float *xs, int64_t xsStride, int32_t tokens,
                              float *y, int64_t yStride, const float *bias, uint32_t *panel)
{
    pack_q8_panel(weight, tileBytes, firstRow, count, groups, panel);
    __mmask16 mask0 = first_lanes(count), mask1 = first_lanes(count - 16);
    int32_t blocks = groups * Q8_BLOCKS_PER_GROUP;
    for (int32_t t = 0; t < tokens; t += Q8_TILE_TOKENS)
    {
        int32_t n = tokens - t < Q8_TILE_TOKENS ? tokens - t : Q8_TILE_TOKENS;
        q8_tile(panel, blocks, xq + t * xqStride, xqStride, xs + t * xsStride, xsStride, n, y + t * yStride, yStride,
                mask0, mask1, bias);
    }
}
