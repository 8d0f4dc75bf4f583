import json, glob, os, math
rows = []
for f in sorted(glob.glob('/tmp/wt20-exp/*/*flops/*/metrics.jsonl')):
    parts = f.split('/')
    out, budget, sched = parts[3], parts[4], parts[5]
    if not os.path.exists(os.path.join(os.path.dirname(f), 'compare-done.json')):
        continue
    L = [json.loads(l) for l in open(f)]
    ev = [l for l in L if 'valLoss' in l]
    tr = [l for l in L if 'loss' in l]
    seed = 1 if out == 'seed1' else 0
    rows.append(dict(budget=float(budget.replace('flops', '')), schedule=sched, seed=seed, final=ev[-1]['valLoss'],
                     steps=tr[-1]['step'], flops=tr[-1]['flops'], seconds=tr[-1]['seconds'], cpu=tr[-1].get('cpuSeconds'), dir=out))
json.dump(rows, open('/tmp/wt20-exp/rows.json', 'w'), indent=1)
for r in rows: print(r)
