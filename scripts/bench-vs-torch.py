#!/usr/bin/python3
"""Time ctrecon's U-Net against the PyTorch peer in the same minutes.

For each configuration (our preset and image size against the peer's) and
each thread count, the peer (../shared/peers/torch_dip_bench.py, Debian's
python3-torch) and our `go test -bench` benchmarks run alternately, ROUNDS
times, so that both see the same machine load; each cell is the median over
rounds (the peer's per-round figure is its own median of 10 repeats, ours a
mean over -benchtime iterations). Prints a Markdown table of times and
ratios (ours / torch; below 1 means faster).

    scripts/bench-vs-torch.py [--rounds 2] [--threads 1,2]

Needs the dip test binary: it builds one with `go test -c`.
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEER = os.path.join(ROOT, "..", "shared", "peers", "torch_dip_bench.py")

# (our preset, N, peer preset, our iterations per round)
CONFIGS = [("Small", 28, "kmnist28", 200), ("Small", 128, "kmnist28", 20), ("Large", 128, "walnut6", 20)]
# our benchmark name prefix -> peer op
OPS = [("Forward", "forward_nograd", "forward"), ("AdamStep", "adam_step(mse+tv)", "Adam step"),
       ("JVP", "jvp_functorch", "JVP"), ("VJP", "vjp_only_functorch", "VJP")]


def peer(preset, n, threads):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run(["/usr/bin/python3", PEER, "--preset", preset, "--n", str(n), "--threads", str(threads),
                        "--ops", "fwd,train,jvp,vjp", "--json", f.name], check=True, stdout=subprocess.DEVNULL)
        rows = [json.loads(l) for l in open(f.name) if l.strip()]
    return {r["op"]: r["median_ms"] for r in rows}


def ours(binary, size, n, threads, iters):
    pat = "(%s)%sN%d$" % ("|".join(o[0] for o in OPS), size, n)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([binary, "-test.run", "^$", "-test.bench", pat, "-test.cpu", str(threads),
                          "-test.benchtime", "%dx" % iters], check=True, capture_output=True, text=True, env=env).stdout
    res = {}
    for m in re.finditer(r"Benchmark(\w+?)%sN%d(?:-\d+)?\s+\d+\s+(\d+) ns/op" % (size, n), out):
        res[m.group(1)] = int(m.group(2)) / 1e6
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", default="1,2")
    a = ap.parse_args()
    binary = os.path.join(tempfile.mkdtemp(), "dip.test")
    subprocess.run(["go", "test", "-c", "-o", binary, "./dip"], check=True, cwd=ROOT)
    threads = [int(t) for t in a.threads.split(",")]
    print("| preset | N | op | " + " | ".join("ours %d thr | torch %d thr | ratio" % (t, t) for t in threads) + " |")
    print("|---|---|---|" + "---|---|---|" * len(threads))
    for size, n, preset, iters in CONFIGS:
        cells = {}
        for t in threads:
            tp, us = [], []
            for _ in range(a.rounds):
                tp.append(peer(preset, n, t))
                us.append(ours(binary, size, n, t, iters))
            for ours_name, peer_name, _ in OPS:
                o = statistics.median(r[ours_name] for r in us)
                p = statistics.median(r[peer_name] for r in tp)
                cells[(ours_name, t)] = (o, p)
            print("# done %s %d, %d threads" % (size, n, t), file=sys.stderr)
        for ours_name, _, label in OPS:
            row = "| %s | %d | %s |" % (size.lower(), n, label)
            for t in threads:
                o, p = cells[(ours_name, t)]
                ratio = "%.2f" % (o / p)
                if o <= p:
                    ratio = "**%s**" % ratio
                row += " %.3g | %.3g | %s |" % (o, p, ratio)
            print(row)


if __name__ == "__main__":
    main()
