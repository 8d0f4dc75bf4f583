#!/usr/bin/env python3
"""The peer a transformers user would actually run, for `npm run bench:peer`: transformers' own
BertForMaskedLM (SDPA attention) on current PyTorch, one training step = forward with labels
(logits and log_softmax at every position, as BertForMaskedLM computes them), backward, gradient
clipping 1.0 and fused AdamW. PEER_BF16=1 runs forward and loss under torch.autocast(device, bf16)
with float32 master weights; PEER_THREADS=N sets torch's threads (default: torch's own);
PEER_DEVICE=cuda runs on the GPU (default cpu), timed between synchronizations, as the device
visit's throughput part does (scripts/device/bench.mjs).
Usage: hf_bert_peer.py L H A F B S [steps] [vocab]
Prints the versions it ran on, then a last line 'tok/s N' (the form bench/peer-cpu.ts reads).
Kept in the repository (not ../shared) so the figures it gives can be re-run from a checkout.
"""

import os
import sys
import time

import torch
import transformers
from transformers import BertConfig, BertForMaskedLM

L, H, A, F, B, S = (int(v) for v in sys.argv[1:7])
steps = int(sys.argv[7]) if len(sys.argv) > 7 else 5
V = int(sys.argv[8]) if len(sys.argv) > 8 else 30522
if os.environ.get("PEER_THREADS"):
    torch.set_num_threads(int(os.environ["PEER_THREADS"]))
bf16 = os.environ.get("PEER_BF16") == "1"
device = os.environ.get("PEER_DEVICE", "cpu")
torch.manual_seed(0)
cfg = BertConfig(
    vocab_size=V,
    hidden_size=H,
    num_hidden_layers=L,
    num_attention_heads=A,
    intermediate_size=F,
    max_position_embeddings=max(512, S),
    attn_implementation="sdpa",
)
model = BertForMaskedLM(cfg).to(device).train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01, fused=True)
ids = torch.randint(0, V, (B, S)).to(device)
labels = ids.clone()
labels[torch.rand(B, S, device=device) > 0.15] = -100  # about 15% of positions predicted, as in pre-training
attn = torch.ones(B, S, dtype=torch.long, device=device)


def sync():
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def step():
    with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
        loss = model(input_ids=ids, attention_mask=attn, labels=labels).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)


for _ in range(2):  # warm-up: allocator, kernels, optimizer state
    step()
sync()
t0 = time.time()
for _ in range(steps):
    step()
sync()
dt = (time.time() - t0) / steps
where = torch.cuda.get_device_name() if device.startswith("cuda") else f"threads={torch.get_num_threads()}"
print(
    f"torch {torch.__version__} transformers {transformers.__version__} bf16={bf16} "
    f"{where} sdpa fused-adamw {dt * 1e3:.0f} ms/step"
)
print(f"tok/s {B * S / dt:.1f}")
