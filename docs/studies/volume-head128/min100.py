# Per-slice table: plain warm start (warm.h5) against --min-iters 100
# (warm-min100.h5), with the cold fits of the sampled slices (cold-k.h5).
import h5py, numpy as np, os
w = h5py.File('warm.h5', 'r')['slices']
m = h5py.File('warm-min100.h5', 'r')['slices']
cold = {k: float(h5py.File('cold-%d.h5' % k, 'r')['slices']['psnr'][0]) for k in range(108) if os.path.exists('cold-%d.h5' % k)}
n = m['iterations'].shape[0]
print('| head slice | warm: iterations | warm: PSNR (dB) | warm: SSIM | --min-iters 100: iterations | PSNR (dB) | SSIM | cold PSNR (dB), sampled slices |')
print('|---|---|---|---|---|---|---|---|')
for k in range(n):
    c = '%.2f' % cold[k] if k in cold else ''
    print('| %d | %d | %.2f | %.3f | %d | %.2f | %.3f | %s |' % (k, w['iterations'][k], w['psnr'][k], w['ssim'][k], m['iterations'][k], m['psnr'][k], m['ssim'][k], c))
d = np.array(m['psnr'][1:n]) - np.array(w['psnr'][1:n])
print()
print('slices 1–%d: min100 − warm PSNR %.3f ± %.3f dB (mean ± s.e.), min %.2f, max %.2f' % (n - 1, d.mean(), d.std(ddof=1) / np.sqrt(len(d)), d.min(), d.max()))
print('iterations, slices 1–%d: warm %d (median %d), min100 %d (median %d)' % (n - 1, np.sum(w['iterations'][1:n]), np.median(w['iterations'][1:n]), np.sum(m['iterations'][1:n]), np.median(m['iterations'][1:n])))
print('mean over all %d slices: PSNR warm %.2f, min100 %.2f; SSIM warm %.3f, min100 %.3f' % (n, np.mean(w['psnr'][:n]), np.mean(m['psnr'][:n]), np.mean(w['ssim'][:n]), np.mean(m['ssim'][:n])))
ks = sorted(cold)
cm = np.array([m['psnr'][k] - cold[k] for k in ks]); cw = np.array([w['psnr'][k] - cold[k] for k in ks])
print('against cold on the %d sampled slices: min100 %.3f ± %.3f dB, warm %.3f ± %.3f dB' % (len(ks), cm.mean(), cm.std(ddof=1) / np.sqrt(len(ks)), cw.mean(), cw.std(ddof=1) / np.sqrt(len(ks))))
print('seconds (min100 run, a third job on two cores): %.0f' % np.sum(m['seconds'][:n]))
