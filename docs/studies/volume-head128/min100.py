import h5py, glob, numpy as np, os
w=h5py.File('warm.h5','r')['slices']
rows=[]
for f in sorted(glob.glob('warm-min100.h5.slices/slice-*.h5')):
    k=int(f.split('-')[-1].split('.')[0])
    s=h5py.File(f,'r')['slices']
    c=float('nan')
    if os.path.exists('cold-%d.h5'%k): c=float(h5py.File('cold-%d.h5'%k,'r')['slices']['psnr'][0])
    rows.append((k,int(w['iterations'][k]),float(w['psnr'][k]),float(w['seconds'][k]),int(s['iterations'][0]),float(s['psnr'][0]),float(s['seconds'][0]),c))
print('| head slice | warm: iterations | warm: PSNR (dB) | warm: s | --min-iters 100: iterations | PSNR (dB) | s | cold PSNR (dB), sampled slices |')
print('|---|---|---|---|---|---|---|---|')
for r in rows: print('| %d | %d | %.2f | %.0f | %d | %.2f | %.0f | %s |'%(r[:7]+('%.2f'%r[7] if r[7]==r[7] else '',)))
a=np.array([r[1:] for r in rows[1:]])
d=a[:,4]-a[:,1]
print()
print('slices 1–%d: min100 − warm PSNR %.3f ± %.3f dB (mean ± s.e., %d slices), min %.2f, max %.2f; seconds warm %.0f, min100 %.0f (sum, slices 1+)'%(rows[-1][0],d.mean(),d.std(ddof=1)/np.sqrt(len(d)),len(d),d.min(),d.max(),a[:,2].sum(),a[:,5].sum()))
cs=[(r[5]-r[7], r[2]-r[7]) for r in rows if r[7]==r[7]]
if cs:
    cs=np.array(cs); print('sampled slices with a cold fit (%d): min100 − cold %.3f, warm − cold %.3f'%(len(cs),cs[:,0].mean(),cs[:,1].mean()))
