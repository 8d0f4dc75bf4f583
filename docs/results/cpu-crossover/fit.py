# Final validation loss against compute: per budget mean and half-range over seeds, the full - small-only gap,
# and two fits of the gap against log10(FLOPs): linear (gap = a + b log10 C) and power law (gap = A C^-k).
import json, math
rows = json.load(open('/tmp/wt20-exp/rows.json'))
budgets = sorted({r['budget'] for r in rows})
out = []
for b in budgets:
    d = {}
    for s in ('full', 'small-only'):
        xs = [r['final'] for r in rows if r['budget'] == b and r['schedule'] == s]
        d[s] = dict(mean=sum(xs) / len(xs), half=(max(xs) - min(xs)) / 2, n=len(xs), vals=xs)
    gap = d['full']['mean'] - d['small-only']['mean']
    noise = d['full']['half'] + d['small-only']['half']
    out.append(dict(budget=b, full=d['full'], small=d['small-only'], gap=gap, noise=noise))
xs = [math.log10(o['budget']) for o in out]; ys = [o['gap'] for o in out]
n = len(xs); mx = sum(xs) / n; my = sum(ys) / n
b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs); a = my - b * mx
ly = [math.log(y) for y in ys]; mly = sum(ly) / n
k = -sum((x - mx) * (y - mly) for x, y in zip(xs, ly)) / sum((x - mx) ** 2 for x in xs) / math.log(10)
noise = max(o['noise'] for o in out)
fit = dict(linear=dict(a=a, b=b, zero=10 ** (-a / b) if b < 0 else None, beyond_noise=10 ** ((-noise - a) / b) if b < 0 else None),
           power=dict(k=k, note='gap = A C^-k never reaches 0'), noise=noise)
# the per-schedule fits: loss = c + m log10 C
for s, key in (('full', 'full'), ('small-only', 'small')):
    ys2 = [o[key]['mean'] for o in out]; my2 = sum(ys2) / n
    m = sum((x - mx) * (y - my2) for x, y in zip(xs, ys2)) / sum((x - mx) ** 2 for x in xs)
    fit[s] = dict(c=my2 - m * mx, m=m)
json.dump(dict(budgets=out, fit=fit), open('/tmp/wt20-exp/fit.json', 'w'), indent=1)
for o in out:
    print(f"{o['budget']:.0e}  full {o['full']['mean']:.4f} ±{o['full']['half']:.4f} (n={o['full']['n']})  small-only {o['small']['mean']:.4f} ±{o['small']['half']:.4f}  gap {o['gap']:+.4f} (noise {o['noise']:.4f})")
print(json.dumps(fit, indent=1))
