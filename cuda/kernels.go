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
#ifndef SLICES
#define SLICES 8
#endif

// pix reads column j of one working row of the image (row-traversed rays)
// or of its transpose (column-traversed rays, whose working row r is image
// column r): both are row reads, so a warp's neighbouring rays read
// neighbouring addresses. Outside the row it is 0, as on the CPU.
__device__ __forceinline__ float pix(const float* __restrict__ row, int n, int j) {
    return (unsigned)j < (unsigned)n ? row[j] : 0.0f;
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

// frac32 is the fractional part of a 32.32 fixed-point position. Its low
// word converted as an unsigned 32-bit integer: the same value as the CPU's
// (cheaper than converting the 64-bit integer, and exact either way).
__device__ __forceinline__ float frac32(long long x) {
    return (float)(unsigned)x * (1.0f / 4294967296.0f);
}

// joseph_forward: one thread per (ray, slice); a block holds neighbouring
// bins (x) of neighbouring angles (y) of one slice (z), whose rays cross
// nearly the same pixels row by row, so that its warps share cache lines.
// Steps alternate between two partial sums as on the CPU; the loop takes
// them in pairs so that no step branches on its parity.
extern "C" __global__ void joseph_forward(
    const float* __restrict__ img, const float* __restrict__ imgT, float* __restrict__ sino,
    const long long* __restrict__ q, const long long* __restrict__ g,
    const int* __restrict__ r0s, const int* __restrict__ r1s,
    const float* __restrict__ w, const unsigned char* __restrict__ cols,
    int n, int ndet, int nangles, int pad)
{
    int bin = blockIdx.x * blockDim.x + threadIdx.x, a = blockIdx.y * blockDim.y + threadIdx.y;
    if (bin >= ndet || a >= nangles) return;
    int ray = a * ndet + bin, nrays = nangles * ndet;
    int b = blockIdx.z;
    int r0 = r0s[ray], steps = r1s[ray] - r0;
    const float* row = (cols[ray] != 0 ? imgT : img) + (unsigned long long)b * n * n + (long long)r0 * n;
    long long G = g[ray];
    long long x = q[ray] + (long long)r0 * G - ((long long)pad << 32);
    float s0 = 0.0f, s1 = 0.0f;
    int r = 0;
    for (; r + 1 < steps; r += 2) {
        int j = (int)(x >> 32);
        float f = frac32(x);
        float v0 = pix(row, n, j), v1 = pix(row, n, j + 1);
        s0 += v0 + f * (v1 - v0);
        x += G; row += n;
        j = (int)(x >> 32);
        f = frac32(x);
        v0 = pix(row, n, j); v1 = pix(row, n, j + 1);
        s1 += v0 + f * (v1 - v0);
        x += G; row += n;
    }
    if (r < steps) {
        int j = (int)(x >> 32);
        float f = frac32(x);
        float v0 = pix(row, n, j), v1 = pix(row, n, j + 1);
        s0 += v0 + f * (v1 - v0);
    }
    sino[(unsigned long long)b * nrays + ray] = (s0 + s1) * w[ray];
}

// pair2 holds a pixel and its right neighbour, so that the forward kernel
// reads both values of an interpolation with one 8-byte load (an
// experiment: forwardPairs). Row r of a pair image holds n+1 pairs,
// pair k = (x[k−1], x[k]) with zeros outside the row.
struct alignas(8) pair2 { float a, b; };

// make_pairs writes the pair images of a batch of n×n images (grid over
// pair × row × slice).
extern "C" __global__ void make_pairs(const float* __restrict__ in, pair2* __restrict__ out, int n)
{
    int k = blockIdx.x * blockDim.x + threadIdx.x, r = blockIdx.y * blockDim.y + threadIdx.y;
    if (k > n || r >= n) return;
    const float* row = in + ((unsigned long long)blockIdx.z * n + r) * n;
    pair2 v;
    v.a = k >= 1 ? row[k - 1] : 0.0f;
    v.b = k < n ? row[k] : 0.0f;
    out[((unsigned long long)blockIdx.z * n + r) * (n + 1) + k] = v;
}

// pairAt returns (x[j], x[j+1]) of a pair-image row, zeros outside it.
__device__ __forceinline__ pair2 pairAt(const pair2* __restrict__ row, int n, int j) {
    unsigned k = (unsigned)(j + 1);
    if (k <= (unsigned)n) return row[k];
    pair2 z; z.a = 0.0f; z.b = 0.0f;
    return z;
}

// joseph_forward_pairs is joseph_forward reading pair images: the same
// arithmetic on the same values, one load per step instead of two.
extern "C" __global__ void joseph_forward_pairs(
    const pair2* __restrict__ img2, const pair2* __restrict__ imgT2, float* __restrict__ sino,
    const long long* __restrict__ q, const long long* __restrict__ g,
    const int* __restrict__ r0s, const int* __restrict__ r1s,
    const float* __restrict__ w, const unsigned char* __restrict__ cols,
    int n, int ndet, int nangles, int pad)
{
    int bin = blockIdx.x * blockDim.x + threadIdx.x, a = blockIdx.y * blockDim.y + threadIdx.y;
    if (bin >= ndet || a >= nangles) return;
    int ray = a * ndet + bin, nrays = nangles * ndet;
    int b = blockIdx.z;
    int r0 = r0s[ray], steps = r1s[ray] - r0;
    const pair2* row = (cols[ray] != 0 ? imgT2 : img2) + ((unsigned long long)b * n + r0) * (n + 1);
    long long G = g[ray];
    long long x = q[ray] + (long long)r0 * G - ((long long)pad << 32);
    float s0 = 0.0f, s1 = 0.0f;
    int r = 0;
    for (; r + 1 < steps; r += 2) {
        float f = frac32(x);
        pair2 v = pairAt(row, n, (int)(x >> 32));
        s0 += v.a + f * (v.b - v.a);
        x += G; row += n + 1;
        f = frac32(x);
        v = pairAt(row, n, (int)(x >> 32));
        s1 += v.a + f * (v.b - v.a);
        x += G; row += n + 1;
    }
    if (r < steps) {
        float f = frac32(x);
        pair2 v = pairAt(row, n, (int)(x >> 32));
        s0 += v.a + f * (v.b - v.a);
    }
    sino[(unsigned long long)b * nrays + ray] = (s0 + s1) * w[ray];
}

// before reports whether ray k lies wholly before the pixel's window
// [lo, hi) along the run's direction of increase: the predicate the run is
// partitioned by (rays of one angle never cross, so it is monotonic).
__device__ __forceinline__ bool before(long long xk, bool inc, long long lo, long long hi) {
    return inc ? xk < lo : xk >= hi;
}

// addRun adds bins [k0, k1) of angle a (run u) to the pixel at working row
// r, padded column c, for the nb slices of the chunk (radon's pixelRun).
// The first ray that reaches the pixel is the run's partition point under
// before(); the reference finds it by bisection. Here a guess from the
// run's hints (linear interpolation between its end rays, in float) is
// moved to the partition point by exact fixed-point probes: the same ray,
// in about two probes instead of ~12 (exact for parallel beams, whose rays
// are equally spaced; close for fans), and the probe that ends the walk
// is the first ray's position.
__device__ __forceinline__ void addRun(float* s, const float* __restrict__ sino, unsigned long long sinoStride,
    const long long* __restrict__ q, const long long* __restrict__ g, const float* __restrict__ w,
    const float* __restrict__ hint, int direction,
    int base, int k0, int k1, int r, int c, int nb)
{
    long long lo = (long long)(c - 1) << 32, hi = (long long)(c + 1) << 32;
    const long long* qa = q + base;
    const long long* ga = g + base;
    bool inc = direction == 1;
    if (direction == 2)
        inc = qa[k1 - 1] + (long long)r * ga[k1 - 1] >= qa[k0] + (long long)r * ga[k0];
    float fa = hint[0] + (float)r * hint[1], fb = hint[2] + (float)r * hint[3];
    int k = k0;
    if (fb != fa) {
        float t = __fdividef((float)(inc ? c - 1 : c + 1) - fa, fb - fa);
        float kf = (float)k0 + t * (float)(k1 - 1 - k0);
        k = !(kf > (float)k0) ? k0 : (kf >= (float)k1 ? k1 : (int)kf); // NaN → k0
    }
    long long xk = 0;
    if (k < k1 && before(xk = qa[k] + (long long)r * ga[k], inc, lo, hi)) {
        do k++; while (k < k1 && before(xk = qa[k] + (long long)r * ga[k], inc, lo, hi));
    } else {
        while (k > k0) {
            long long xp = qa[k - 1] + (long long)r * ga[k - 1];
            if (before(xp, inc, lo, hi)) break;
            k--;
            xk = xp;
        }
    }
    // Now xk is ray k's position (when k < k1); its rays reach the pixel
    // until one leaves the window.
    while (k < k1 && xk >= lo && xk < hi) {
        float f = frac32(xk);
        bool left = (int)(xk >> 32) == c;
        float wk = w[base + k];
        const float* sk = sino + base + k;
        // The CPU skips zero values; adding their ±0 contributions instead
        // changes nothing, since a sum that starts at +0 is never −0 in
        // round-to-nearest, and dropping the branch is cheaper here.
        for (int b = 0; b < nb; b++, sk += sinoStride) {
            float val = *sk * wk;
            float tt = val * f;
            s[b] += left ? val - tt : tt;
        }
        if (++k < k1) xk = qa[k] + (long long)r * ga[k];
    }
}

// joseph_backward: one thread per (pixel, chunk of SLICES slices); a block
// is a tile of pixels (x columns, y rows) of one chunk (z), whose rays and
// sinogram bins overlap from row to row, so that its warps share them in
// cache.
extern "C" __global__ void joseph_backward(
    const float* __restrict__ sino, float* __restrict__ img,
    const long long* __restrict__ q, const long long* __restrict__ g, const float* __restrict__ w,
    const int* __restrict__ runOff, const int* __restrict__ runLo, const int* __restrict__ runHi,
    const unsigned char* __restrict__ runCol, const float* __restrict__ runHint, const unsigned char* __restrict__ runDir,
    int n, int ndet, int nangles, int pad, int batch)
{
    int j = blockIdx.x * blockDim.x + threadIdx.x, i = blockIdx.y * blockDim.y + threadIdx.y;
    if (i >= n || j >= n) return;
    int p = i * n + j;
    int b0 = blockIdx.z * SLICES;
    int nb = batch - b0 < SLICES ? batch - b0 : SLICES;
    unsigned long long nrays = (unsigned long long)nangles * ndet;
    const float* sn = sino + (unsigned long long)b0 * nrays;
    float sRow[SLICES], sCol[SLICES];
    for (int b = 0; b < SLICES; b++) { sRow[b] = 0.0f; sCol[b] = 0.0f; }
    for (int a = 0; a < nangles; a++) {
        for (int u = runOff[a]; u < runOff[a + 1]; u++) {
            if (runCol[u] == 0)
                addRun(sRow, sn, nrays, q, g, w, runHint + 4 * u, runDir[u], a * ndet, runLo[u], runHi[u], i, j + pad, nb);
            else
                addRun(sCol, sn, nrays, q, g, w, runHint + 4 * u, runDir[u], a * ndet, runLo[u], runHi[u], j, i + pad, nb);
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

// Fan-beam FBP's back-projection (radon.FanFBPRows.backproject): one
// thread per pixel (x columns, y rows of a block), the angles in order, the
// positions and weights in double as on the CPU, the sum in double.
extern "C" __global__ void fan_backproject(const float* __restrict__ q, float* __restrict__ img,
    const double* __restrict__ dir, int n, int nangles, int stride,
    double ds, double spacing, double off, double up, double last, int arc)
{
    int j = blockIdx.x * blockDim.x + threadIdx.x, i = blockIdx.y * blockDim.y + threadIdx.y;
    if (i >= n || j >= n) return;
    double h = (double)n / 2 - 0.5;
    double y = h - (double)i, x = (double)j - h;
    double acc = 0;
    for (int a = 0; a < nangles; a++) {
        const double* d = dir + 4 * a;
        double ell = ds + x * d[0] + y * d[1];
        double across = x * d[2] + y * d[3];
        double pos, wt;
        if (arc) {
            pos = atan2(across, ell);
            wt = 1 / (ell * ell + across * across);
        } else {
            pos = ds * across / ell;
            double u = ds / ell;
            wt = u * u;
        }
        double m = up * (pos / spacing + off);
        if (!(m >= 0 && m <= last)) continue;
        int k = (int)m;
        float t = (float)(m - (double)k);
        const float* row = q + (unsigned long long)a * stride;
        float v = row[k] + t * (row[k + 1] - row[k]);
        acc += (double)v * wt;
    }
    img[(unsigned long long)i * n + j] = (float)acc;
}
`

// kernelOptions: exact IEEE float arithmetic, no contraction into FMA.
var kernelOptions = []string{"--fmad=false", "--prec-div=true", "--prec-sqrt=true", "-default-device", "--std=c++17"}
