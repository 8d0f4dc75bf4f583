"""The Python side of test/export/interop.test.ts: what a transformers / TensorBoard / datasets
user does with growbert's files, and the files those libraries write for growbert to read.

One process runs a list of jobs (JSON on stdin), so the node test pays for importing torch and
transformers once; it prints one JSON object per job, in order, as a JSON list on stdout.
Every model here is tiny and CPU-only, and every random choice is seeded.
"""

import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402

torch.set_num_threads(1)


def _ids(job):
    ids = torch.tensor(job["ids"], dtype=torch.long)
    return ids, torch.ones_like(ids)


def _info_lists(info):
    return {k: sorted(info.get(k, [])) for k in ("missing_keys", "unexpected_keys", "mismatched_keys")}


def logits(job):
    """An exported folder through AutoModelForMaskedLM, or the class `cls` names."""
    import transformers

    cls = getattr(transformers, job.get("cls", "AutoModelForMaskedLM"))
    model, info = cls.from_pretrained(job["dir"], output_loading_info=True)
    model.eval()
    ids, mask = _ids(job)
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask)
    res = {"class": type(model).__name__, "logits": out.logits.float().flatten().tolist()}
    res["shape"] = list(out.logits.shape)
    res.update({k: [str(x) for x in v] for k, v in _info_lists(info).items()})
    return res


def base_hidden(job):
    """The encoder a sequence classifier gets equals the masked LM's encoder: proves it loaded."""
    import transformers

    clf, info = transformers.AutoModelForSequenceClassification.from_pretrained(
        job["dir"], num_labels=2, output_loading_info=True
    )
    mlm = transformers.AutoModelForMaskedLM.from_pretrained(job["dir"])
    ids, mask = _ids(job)
    with torch.no_grad():
        a = clf.base_model(input_ids=ids, attention_mask=mask).last_hidden_state
        b = mlm.base_model(input_ids=ids, attention_mask=mask).last_hidden_state
    res = {"class": type(clf).__name__, "max_abs_diff": float((a - b).abs().max())}
    res.update({k: [str(x) for x in v] for k, v in _info_lists(info).items()})
    return res


def fill_mask(job):
    """pipeline('fill-mask') on text with one [MASK]: its input ids and top-k tokens and scores."""
    import transformers

    fill = transformers.pipeline("fill-mask", model=job["dir"], device="cpu")
    top = fill(job["text"], top_k=job.get("top_k", 5))
    ids = fill.tokenizer(job["text"])["input_ids"]
    return {
        "class": type(fill.model).__name__,
        "ids": ids,
        "tokens": [t["token"] for t in top],
        "scores": [t["score"] for t in top],
    }


def _tiny_bert_config(job, **kw):
    import transformers

    vocab = sum(1 for _ in open(job["vocab"], encoding="utf-8"))
    base = dict(
        vocab_size=vocab,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    base.update(kw)
    if job.get("arch") == "prenorm":
        return transformers.RobertaPreLayerNormConfig(pad_token_id=0, **base)
    return transformers.BertConfig(**base)


def _randomize(model):
    # random LayerNorms and biases (not 1 / 0): a reader that dropped one would show
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name or name.endswith("bias"):
                p.uniform_(-0.5, 1.5)


def save(job):
    """save_pretrained of a seeded tiny model of `kind`, with the tokenizer; its logits on `ids`."""
    import transformers

    torch.manual_seed(job.get("seed", 0))
    kind = job["kind"]
    untied = kind.startswith("untied")
    cfg = _tiny_bert_config(job, tie_word_embeddings=not untied)
    prenorm = job.get("arch") == "prenorm"
    if kind == "classification":
        cfg.num_labels = 3
        cls = transformers.RobertaPreLayerNormForSequenceClassification if prenorm else transformers.BertForSequenceClassification
    else:
        cls = transformers.RobertaPreLayerNormForMaskedLM if prenorm else transformers.BertForMaskedLM
    model = cls(cfg)
    _randomize(model)
    if kind == "untied-equal":
        with torch.no_grad():
            model.get_output_embeddings().weight.copy_(model.get_input_embeddings().weight)
    model.eval()
    ids, mask = _ids(job)
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask).logits
    if kind == "bf16":
        # the reference: the bfloat16 weights computed in float32, as growbert imports them
        model = model.to(torch.bfloat16).float()
        with torch.no_grad():
            out = model(input_ids=ids, attention_mask=mask).logits
        model = model.to(torch.bfloat16)
    opts = {"max_shard_size": "20KB"} if kind == "sharded" else {}
    model.save_pretrained(job["out"], **opts)
    _bert_tokenizer(job["vocab"]).save_pretrained(job["out"])
    return {"logits": out.flatten().tolist(), "shape": list(out.shape), "files": sorted(os.listdir(job["out"]))}


def _bert_tokenizer(vocab_file, **kw):
    # transformers 5's BertTokenizer(Fast) takes `vocab` (a path or dict) and silently ignores vocab_file
    import transformers
    from transformers.models.bert.tokenization_bert import load_vocab

    vocab = load_vocab(vocab_file)
    tok = transformers.BertTokenizerFast(vocab=dict(vocab), **kw)
    if len(tok) != len(vocab):
        raise ValueError(f"tokenizer has {len(tok)} tokens, {vocab_file} {len(vocab)}")
    return tok


def tokenize(job):
    """Token ids (with [CLS]/[SEP]) from AutoTokenizer on a folder, or a cased tokenizer it saves."""
    import transformers

    if job.get("make_cased"):
        _bert_tokenizer(job["vocab"], do_lower_case=False).save_pretrained(job["dir"])
    tok = transformers.AutoTokenizer.from_pretrained(job["dir"])
    res = {"class": type(tok).__name__, "ids": [tok(t)["input_ids"] for t in job["texts"]]}
    if job.get("encode_with_tokenizers"):
        import tokenizers

        raw = tokenizers.Tokenizer.from_file(os.path.join(job["dir"], "tokenizer.json"))
        res["tokenizers_ids"] = [e.ids for e in raw.encode_batch(job["texts"])]
    return res


def pairs(job):
    """Pairs cut to max_length by transformers' longest_first truncation (the Rust tokenizer's)."""
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(job["dir"])
    out = []
    for a, b, n in job["pairs"]:
        enc = tok(a, b, truncation="longest_first", max_length=n)
        out.append({"ids": enc["input_ids"], "types": enc["token_type_ids"]})
    # the kept lengths over a grid of lengths: "the" is one token
    grid = []
    for la, lb, n in job["grid"]:
        t = tok(" ".join(["the"] * la), " ".join(["the"] * lb), truncation="longest_first", max_length=n)
        types = t["token_type_ids"]
        grid.append([types.count(0) - 2, types.count(1) - 1])
    return {"class": type(tok).__name__, "pairs": out, "grid": grid}


def tensorboard(job):
    """Every scalar and text TensorBoard's own loader (EventAccumulator, default size guidance) keeps."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(job["dir"])
    acc.Reload()
    tags = acc.Tags()
    scalars = {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]}
    texts = {}
    for t in tags.get("tensors", []):
        texts[t] = [[e.step, e.tensor_proto.string_val[0].decode("utf-8")] for e in acc.Tensors(t)]
    return {"scalars": scalars, "texts": texts}


def parquet(job):
    """A Parquet file as `datasets` writes it: nested structs and lists beside a plain column."""
    import datasets

    ds = datasets.Dataset.from_list(job["rows"])
    ds.to_parquet(job["out"])
    return {"features": str(ds.features)}


def versions(job):
    import importlib.metadata as md

    names = ["torch", "transformers", "tokenizers", "safetensors", "tensorboard", "datasets", "pyarrow"]
    return {n: md.version(n) for n in names}


JOBS = {f.__name__: f for f in [logits, base_hidden, fill_mask, save, tokenize, pairs, tensorboard, parquet, versions]}


def main():
    # import the libraries before reading the jobs: the node test starts this process first and
    # prepares the folders meanwhile
    import datasets  # noqa: F401
    import transformers  # noqa: F401
    from tensorboard.backend.event_processing import event_accumulator  # noqa: F401

    jobs = json.load(sys.stdin)
    out = []
    for job in jobs:
        t0 = time.perf_counter()
        try:
            res = JOBS[job["job"]](job)
        except Exception as e:  # the node test names the failing job
            res = {"error": f"{type(e).__name__}: {e}"}
        res["seconds"] = round(time.perf_counter() - t0, 2)  # the test keeps the whole file under a minute
        out.append(res)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
