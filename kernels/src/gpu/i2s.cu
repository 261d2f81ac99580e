// I2_S GEMV / small-batch GEMM for benchseal (DESIGN.md, "quant"), compiled by NVRTC.
//
// One warp per weight row. A 32-bit word of packed weights holds bytes p0..p0+3 of one
// 128-weight block (p0 = 4·(word mod 8)); shifting it by 6, 4, 2, 0 and masking with
// 0x03030303 yields the codes (0, 1, 2) of four consecutive columns in each of the block's
// four 32-column slots, already laid out as the four bytes __dp4a multiplies with one word
// of int8 activations. The sum Σ c·q is exact in int32 and Σ(c−1)·q = Σ c·q − Σ q, exactly
// as on the CPU. The output conversion uses the same three correctly rounded operations as
// the CPU's `dequantize` (int→float, multiply, divide), so results are bit-identical.

template <int TT>
__device__ __forceinline__ void i2s_rows(
    const unsigned int* __restrict__ weights,  // rows × row_words packed I2_S words
    const int* __restrict__ q,                 // tokens × (4·row_words) int8, as words
    const int* __restrict__ q_sums,            // Σ q per token
    const float* __restrict__ act_scales,      // sa per token
    float weight_scale,
    int rows,
    int row_words,
    int tokens,
    float* __restrict__ out)                   // tokens × rows
{
    const int lane = threadIdx.x & 31;
    const int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int t0 = blockIdx.y * TT;
    if (row >= rows) {
        return;  // uniform across the warp: one warp, one row
    }
    const int q_words = 4 * row_words;
    int acc[TT];
#pragma unroll
    for (int t = 0; t < TT; ++t) {
        acc[t] = 0;
    }
    const unsigned int* w = weights + (size_t)row * row_words;
#pragma unroll 4
    for (int i = lane; i < row_words; i += 32) {
        const unsigned int word = __ldg(w + i);
        // Activation word of slot 0 for these four columns; slots are 8 words apart.
        const int base = 32 * (i >> 3) + (i & 7);
        const int c0 = (int)((word >> 6) & 0x03030303u);
        const int c1 = (int)((word >> 4) & 0x03030303u);
        const int c2 = (int)((word >> 2) & 0x03030303u);
        const int c3 = (int)(word & 0x03030303u);
#pragma unroll
        for (int t = 0; t < TT; ++t) {
            if (t0 + t < tokens) {
                const int* qt = q + (size_t)(t0 + t) * q_words + base;
                int a = acc[t];
                a = __dp4a(c0, __ldg(qt), a);
                a = __dp4a(c1, __ldg(qt + 8), a);
                a = __dp4a(c2, __ldg(qt + 16), a);
                a = __dp4a(c3, __ldg(qt + 24), a);
                acc[t] = a;
            }
        }
    }
#pragma unroll
    for (int t = 0; t < TT; ++t) {
        int s = acc[t];
#pragma unroll
        for (int offset = 16; offset > 0; offset >>= 1) {
            s += __shfl_xor_sync(0xffffffffu, s, offset);
        }
        if (lane == 0 && t0 + t < tokens) {
            const int sum = s - q_sums[t0 + t];
            out[(size_t)(t0 + t) * rows + row] =
                __fdiv_rn(__fmul_rn(__int2float_rn(sum), weight_scale), act_scales[t0 + t]);
        }
    }
}

extern "C" __global__ void i2s_gemv(
    const unsigned int* weights, const int* q, const int* q_sums, const float* act_scales,
    float weight_scale, int rows, int row_words, int tokens, float* out)
{
    i2s_rows<1>(weights, q, q_sums, act_scales, weight_scale, rows, row_words, tokens, out);
}

extern "C" __global__ void i2s_gemm8(
    const unsigned int* weights, const int* q, const int* q_sums, const float* act_scales,
    float weight_scale, int rows, int row_words, int tokens, float* out)
{
    i2s_rows<8>(weights, q, q_sums, act_scales, weight_scale, rows, row_words, tokens, out);
}
