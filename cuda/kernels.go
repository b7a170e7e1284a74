package cuda

// KernelSource is Joseph's method on the GPU, written line by line from the
// CPU references in package radon (RayTable.applyRays and adjointGather),
// which are tested bit for bit against the CPU projector. Compiled with
// --fmad=false: a + f·(b − a) and val − val·f must round as on the CPU
// (no fused multiply-add), so that the GPU's numbers are the CPU's.
//
// Layouts: images [slice][N][N], sinograms [slice][angle·NDet + bin]; the
// ray table as in radon.RayTable. One thread per (ray, slice) in the
// forward kernel, which reads rays nearer horizontal from a transposed copy
// (as the CPU does); one thread per (pixel, chunk of up to SLICES slices) in
// the backward one, which finds each angle's rays by bisection once and
// reuses them for every slice of its chunk.
const KernelSource = `
// Only built-in types: NVRTC compiles this without any header.
#define SLICES 8

// pix reads working row r, column j of the image (row-traversed rays) or
// of its transpose imT (column-traversed rays, whose working row r is image
// column r): both are row reads, so a warp's neighbouring rays read
// neighbouring addresses.
__device__ __forceinline__ float pix(const float* __restrict__ im, const float* __restrict__ imT, int n, bool col, int r, int j) {
    if (j < 0 || j >= n) return 0.0f;
    return col ? imT[r * n + j] : im[r * n + j];
}

// transpose writes the transposes of a batch of n×n images, 32×32 tiles
// through shared memory (grid: tiles × tiles × slices, 32×8 threads).
extern "C" __global__ void transpose(const float* __restrict__ in, float* __restrict__ out, int n)
{
    __shared__ float tile[32][33];
    const float* src = in + (unsigned long long)blockIdx.z * n * n;
    float* dst = out + (unsigned long long)blockIdx.z * n * n;
    int x = blockIdx.x * 32 + threadIdx.x, y0 = blockIdx.y * 32;
    for (int dy = threadIdx.y; dy < 32; dy += 8) {
        int y = y0 + dy;
        if (x < n && y < n) tile[dy][threadIdx.x] = src[y * n + x];
    }
    __syncthreads();
    x = blockIdx.y * 32 + threadIdx.x;
    y0 = blockIdx.x * 32;
    for (int dy = threadIdx.y; dy < 32; dy += 8) {
        int y = y0 + dy;
        if (x < n && y < n) dst[y * n + x] = tile[threadIdx.x][dy];
    }
}

__device__ __forceinline__ float frac32(long long x) {
    return (float)(x & 0xffffffffLL) * (1.0f / 4294967296.0f);
}

extern "C" __global__ void joseph_forward(
    const float* __restrict__ img, const float* __restrict__ imgT, float* __restrict__ sino,
    const long long* __restrict__ q, const long long* __restrict__ g,
    const int* __restrict__ r0s, const int* __restrict__ r1s,
    const float* __restrict__ w, const unsigned char* __restrict__ cols,
    int n, int nrays, int pad)
{
    int ray = blockIdx.x * blockDim.x + threadIdx.x;
    if (ray >= nrays) return;
    int b = blockIdx.y;
    const float* im = img + (unsigned long long)b * n * n;
    const float* imT = imgT + (unsigned long long)b * n * n;
    int r0 = r0s[ray], r1 = r1s[ray];
    bool col = cols[ray] != 0;
    long long G = g[ray];
    long long x = q[ray] + (long long)r0 * G;
    float s0 = 0.0f, s1 = 0.0f;
    for (int r = r0; r < r1; r++) {
        int j = (int)(x >> 32) - pad;
        float f = frac32(x);
        float v0 = pix(im, imT, n, col, r, j), v1 = pix(im, imT, n, col, r, j + 1);
        float t = v0 + f * (v1 - v0);
        if (((r - r0) & 1) == 0) s0 += t; else s1 += t;
        x += G;
    }
    sino[(unsigned long long)b * nrays + ray] = (s0 + s1) * w[ray];
}

// addRun adds bins [k0, k1) of angle a to the pixel at working row r,
// padded column c, for the nb slices of the chunk (radon's pixelRun).
__device__ __forceinline__ void addRun(float* s, const float* __restrict__ sino, unsigned long long sinoStride,
    const long long* __restrict__ q, const long long* __restrict__ g, const float* __restrict__ w,
    int base, int k0, int k1, int r, int c, int nb)
{
    long long lo = (long long)(c - 1) << 32, hi = (long long)(c + 1) << 32;
    long long xa = q[base + k0] + (long long)r * g[base + k0];
    long long xb = q[base + k1 - 1] + (long long)r * g[base + k1 - 1];
    bool inc = xb >= xa;
    int a0 = k0, b0 = k1;
    while (a0 < b0) {
        int m = (int)((unsigned)(a0 + b0) >> 1);
        long long xm = q[base + m] + (long long)r * g[base + m];
        if ((inc && xm < lo) || (!inc && xm >= hi)) a0 = m + 1; else b0 = m;
    }
    for (int k = a0; k < k1; k++) {
        int i = base + k;
        long long xk = q[i] + (long long)r * g[i];
        if (xk < lo || xk >= hi) break;
        float f = frac32(xk);
        bool left = (int)(xk >> 32) == c;
        float wk = w[i];
        for (int b = 0; b < nb; b++) {
            float v = sino[b * sinoStride + i];
            if (v == 0.0f) continue;
            float val = v * wk;
            float tt = val * f;
            s[b] += left ? val - tt : tt;
        }
    }
}

extern "C" __global__ void joseph_backward(
    const float* __restrict__ sino, float* __restrict__ img,
    const long long* __restrict__ q, const long long* __restrict__ g, const float* __restrict__ w,
    const int* __restrict__ runOff, const int* __restrict__ runLo, const int* __restrict__ runHi,
    const unsigned char* __restrict__ runCol,
    int n, int ndet, int nangles, int pad, int batch)
{
    int p = blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= n * n) return;
    int b0 = blockIdx.y * SLICES;
    int nb = batch - b0 < SLICES ? batch - b0 : SLICES;
    int i = p / n, j = p - i * n;
    unsigned long long nrays = (unsigned long long)nangles * ndet;
    const float* sn = sino + (unsigned long long)b0 * nrays;
    float sRow[SLICES], sCol[SLICES];
    for (int b = 0; b < SLICES; b++) { sRow[b] = 0.0f; sCol[b] = 0.0f; }
    for (int a = 0; a < nangles; a++) {
        for (int u = runOff[a]; u < runOff[a + 1]; u++) {
            if (runCol[u] == 0)
                addRun(sRow, sn, nrays, q, g, w, a * ndet, runLo[u], runHi[u], i, j + pad, nb);
            else
                addRun(sCol, sn, nrays, q, g, w, a * ndet, runLo[u], runHi[u], j, i + pad, nb);
        }
    }
    for (int b = 0; b < nb; b++)
        img[(unsigned long long)(b0 + b) * n * n + p] = sRow[b] + sCol[b];
}

// FBP's back-projection (radon.FBPRows.backprojectRows): one thread per
// pixel, angles in pairs as on the CPU.
__device__ __forceinline__ float fbpInterp(const float* __restrict__ row, long long u) {
    int k = (int)(u >> 32);
    float f = frac32(u);
    float v = row[k], w = row[k + 1];
    return v + f * (w - v);
}

extern "C" __global__ void fbp_backproject(const float* __restrict__ q, float* __restrict__ img,
    const long long* __restrict__ u0, const long long* __restrict__ c, int n, int nangles, int stride)
{
    int p = blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= n * n) return;
    int i = p / n, j = p - i * n;
    float acc = 0.0f;
    int a = 0;
    for (; a + 1 < nangles; a += 2) {
        acc += fbpInterp(q + (unsigned long long)a * stride, u0[a * n + i] + (long long)j * c[a]) +
               fbpInterp(q + (unsigned long long)(a + 1) * stride, u0[(a + 1) * n + i] + (long long)j * c[a + 1]);
    }
    if (a < nangles) acc += fbpInterp(q + (unsigned long long)a * stride, u0[a * n + i] + (long long)j * c[a]);
    img[p] = acc;
}
`

// kernelOptions: exact IEEE float arithmetic, no contraction into FMA.
var kernelOptions = []string{"--fmad=false", "--prec-div=true", "--prec-sqrt=true", "-default-device", "--std=c++17"}
