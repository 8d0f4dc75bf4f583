// The throughput part of a device visit: `growbert bench` against transformers' BertForMaskedLM
// (bench/hf_bert_peer.py: SDPA, fused AdamW, bf16 autocast) in the same call, at BERT-base and
// BERT-small in bf16, growbert with its masked-only head and with logits at every position (the
// peer's layout). Without CUDA the part is skipped, and the same plumbing runs once at a tiny
// shape on the CPU (a smoke: it proves the commands and parsing, it measures nothing).
import * as path from 'node:path';
import { lastJson, tail } from './runner.mjs';

const GPU_SHAPES = { base: [12, 768, 12, 3072, 128, 128], small: [4, 512, 8, 2048, 128, 128] };
const SMOKE_SHAPES = { tiny: [2, 64, 2, 128, 4, 32] };

/** @param {import('./runner.mjs').Visit} v */
export async function benchPart(v, { cuda, python, shapeFlags }) {
  const shapes = cuda ? GPU_SHAPES : SMOKE_SHAPES;
  const device = cuda ? 'cuda' : 'cpu';
  const precision = cuda ? 'bf16' : 'fp32';
  const steps = cuda ? 10 : 2;
  const growbert = path.join(v.root, 'bin/growbert.js');
  const peerScript = path.join(v.root, 'bench/hf_bert_peer.py');
  const res = { status: 'ok', device, precision, peer: 'bench/hf_bert_peer.py (transformers BertForMaskedLM)' };
  const cpuFlags = cuda ? [] : ['--threads', '1'];
  for (const [name, [L, H, A, F, B, S]] of Object.entries(shapes)) {
    const peer = await v.sh(python, [peerScript, ...[L, H, A, F, B, S, steps].map(String)], {
      limitS: cuda ? 150 : 120,
      env: {
        PEER_DEVICE: device,
        PEER_BF16: cuda ? '1' : '0',
        PYTHONUNBUFFERED: '1',
        ...(cuda ? {} : { PEER_THREADS: '1' }),
      },
    });
    const m = peer.stdout.match(/^tok\/s ([\d.]+)/m);
    const peerTps = peer.ok && m ? Number(m[1]) : null;
    const one = async (extra) => {
      const args = [
        growbert,
        'bench',
        '--device',
        device,
        ...shapeFlags({ layers: L, hidden: H, heads: A, ffn: F, batch: B, seq: S }),
      ];
      const r = await v.sh(
        process.execPath,
        [...args, '--precision', precision, '--steps', String(steps), '--warmup', '3', '--json', ...cpuFlags, ...extra],
        {
          limitS: cuda ? 120 : 90,
        },
      );
      if (!r.ok) throw new Error(`growbert bench ${name}${extra.length ? ' --full-logits' : ''}: ${tail(r.stderr)}`);
      return lastJson(r.stdout);
    };
    const masked = await one([]);
    const full = await one(['--full-logits']);
    res[name] = {
      shape: { layers: L, hidden: H, heads: A, ffn: F, batch: B, seq: S },
      tokensPerSecond: masked?.tokensPerSecond ?? null,
      tokensPerSecondFullLogits: full?.tokensPerSecond ?? null,
      gflops: masked?.gflops ?? null,
      hfPeerTokensPerSecond: peerTps,
      ratio: peerTps && masked ? +(masked.tokensPerSecond / peerTps).toFixed(3) : null,
      ratioFullLogits: peerTps && full ? +(full.tokensPerSecond / peerTps).toFixed(3) : null,
      peerLine: peer.stdout.split('\n').find((l) => l.startsWith('torch ')) ?? null,
    };
    if (!peerTps) {
      res.status = 'failed';
      res.reason = `the peer at ${name} failed: ${tail(peer.stderr)}`;
    }
  }
  return res;
}
