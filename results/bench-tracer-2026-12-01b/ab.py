"""Hackbench alone, interleaved rounds of the given modes (untraced first), with
scripts/bench-tracer's own helpers; written before its `empty` mode existed, kept as the
record of ab-30-rounds.json. Usage (root): python3 ab.py ROUNDS untraced,empty,ours,tracefs"""
import sys, json, statistics as st, importlib.util, importlib.machinery, tempfile
from pathlib import Path
SCRIPTS = Path(__file__).resolve().parents[2] / 'scripts'
sys.path.insert(0, str(SCRIPTS))
loader = importlib.machinery.SourceFileLoader('bt', str(SCRIPTS / 'bench-tracer'))
spec = importlib.util.spec_from_loader('bt', loader); bt = importlib.util.module_from_spec(spec); loader.exec_module(bt)
import bpf_probe_cost as bpc
rounds = int(sys.argv[1]); modes = sys.argv[2].split(',')
tmp = Path(tempfile.mkdtemp())
res = {m: [] for m in modes}
for r in range(rounds):
    order = modes[r % len(modes):] + modes[:r % len(modes)]
    for m in order:
        t = None; probes = []
        if m == 'ours': t = bt.Ours(tmp / f'{r}.parquet', 64)
        elif m == 'empty': probes = [bpc.EmptyProbe(e) for e in bt.SCHED_EVENTS]
        elif m == 'tracefs': t = bt.Tracefs()
        wall, cpu = bt.hackbench(4, 1000)
        if t: t.stop()
        for p in probes: p.close()
        for f in tmp.iterdir(): f.unlink()
        res[m].append((wall, cpu))
    print(r, {m: res[m][-1] for m in modes}, file=sys.stderr, flush=True)
out = {}
for m in modes[1:]:
    w = [a[0]/b[0]-1 for a, b in zip(res[m], res[modes[0]])]
    c = [a[1]/b[1]-1 for a, b in zip(res[m], res[modes[0]])]
    q = lambda xs: [round(100*x, 2) for x in st.quantiles(xs, n=4)]
    out[m] = {'wall_pct_q': q(w), 'cpu_pct_q': q(c),
              'cpu_sums_pct': round(100*(sum(a[1] for a in res[m])/sum(b[1] for b in res[modes[0]])-1), 2)}
print(json.dumps({'rounds': rounds, 'result': out, 'raw': res}))
