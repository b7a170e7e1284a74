"""Per-slice uncertainty of the warm head-CT volume (issue 13): reads every
finished part (range files uqwarm-a-b.h5, single sampled slices uqwarm-k.h5,
and the finished slice files of ranges still running, uqwarm-a-b.h5.slices/)
beside the DIP file warm.h5, and prints a Markdown table (the warm DIP's
iterations, seconds and PSNR beside the uncertainty's numbers) and summary.

usage: cd /work/runs/vol && python3 uq_table.py [merged.h5]
"""
import glob, os, re, sys
import h5py
import numpy as np

COLS = ['test_loglik', 'test_loglik_constant_rmse', 'coverage_1sigma', 'coverage_2sigma', 'spearman', 'mean_std', 'sigma_y', 'uq_seconds']


def rows_of(path):
    h = h5py.File(path, 'r')
    start = int(h['recon'].attrs['slice_start'])
    s = h['slices']
    n = len(s['test_loglik'])
    return {start + i: {c: float(s[c][i]) for c in COLS if c in s} for i in range(n)}


rows = {}
files = sys.argv[1:] or sorted(glob.glob('uqwarm-*.h5')) + sorted(glob.glob('uqwarm-*.h5.slices/slice-*.h5'))
for f in files:
    if f.endswith('.slices'):
        continue
    try:
        rows.update(rows_of(f))
    except (OSError, KeyError) as e:
        print('skipped %s: %s' % (f, e), file=sys.stderr)
w = h5py.File('warm.h5', 'r')['slices']
psnr, its, secs = w['psnr'][()], w['iterations'][()], w['seconds'][()]
ks = sorted(rows)
print('| slice | DIP iterations | DIP s | DIP PSNR (dB) | test LL | LL of constant σ = RMSE | ±1σ | ±2σ | Spearman | mean std | σ_y | uncertainty s |')
print('|---|---|---|---|---|---|---|---|---|---|---|---|')
for k in ks:
    r = rows[k]
    print('| %d | %d | %.1f | %.2f | %.3f | %.3f | %.3f | %.3f | %.2f | %.4f | %.4f | %.0f |' % (
        k, its[k], secs[k], psnr[k], r['test_loglik'], r['test_loglik_constant_rmse'], r['coverage_1sigma'], r['coverage_2sigma'],
        r['spearman'], r['mean_std'], r['sigma_y'], r['uq_seconds']))
a = np.array([[rows[k][c] for c in COLS] for k in ks])
d = a[:, 0] - a[:, 1]
print()
print('%d of 108 slices. Mean test LL %.3f (constant-σ oracle %.3f; difference %.3f ± %.3f s.e., std map better on %d of %d);'
      ' ±1σ coverage %.3f, ±2σ %.3f, Spearman %.2f; %.0f s per slice (median %.0f).' % (
          len(ks), a[:, 0].mean(), a[:, 1].mean(), d.mean(), d.std(ddof=1) / np.sqrt(len(d)), (d > 0).sum(), len(d),
          a[:, 2].mean(), a[:, 3].mean(), a[:, 4].mean(), a[:, 7].mean(), np.median(a[:, 7])))
for lo, hi in [(0, 36), (36, 72), (72, 108)]:
    m = [(i, k) for i, k in enumerate(ks) if lo <= k < hi]
    if m:
        idx = [i for i, _ in m]
        print('slices %d–%d (%d done): test LL %.3f, oracle %.3f, ±1σ %.3f, ±2σ %.3f' % (
            lo, hi - 1, len(idx), a[idx, 0].mean(), a[idx, 1].mean(), a[idx, 2].mean(), a[idx, 3].mean()))
# The warm start's effect on calibration: slices the warm DIP accepted
# unrefitted (0 iterations: the previous slice's network) against refitted ones.
for name, sel in [('warm DIP at 0 iterations', lambda k: its[k] == 0), ('warm DIP refitted (> 0 iterations)', lambda k: its[k] > 0)]:
    idx = [i for i, k in enumerate(ks) if sel(k)]
    if idx:
        dd = a[idx, 0] - a[idx, 1]
        print('%s (%d slices): PSNR %.2f dB, test LL %.3f, oracle %.3f (difference %.3f ± %.3f), ±1σ %.3f, ±2σ %.3f, Spearman %.2f' % (
            name, len(idx), np.mean([psnr[ks[i]] for i in idx]), a[idx, 0].mean(), a[idx, 1].mean(), dd.mean(),
            dd.std(ddof=1) / np.sqrt(len(dd)) if len(dd) > 1 else 0, a[idx, 2].mean(), a[idx, 3].mean(), a[idx, 4].mean()))
