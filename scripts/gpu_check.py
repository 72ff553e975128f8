#!/usr/bin/env python3
"""The native worker's torch backend on CUDA against Hugging Face, then its benchmark.

Run by scripts/gpu-check.sh after it has built the worker; needs torch (with CUDA),
transformers, safetensors, msgpack and numpy, and nothing else: it speaks the worker's framed
protocol (gpu/worker/src/worker/protocol.h) itself. Prints one JSON object as its last line;
stops at the first failed check with {"ok": false, "failed": NAME, ...}.

Tolerances (relative: max |ours - theirs| / max |theirs|):
  fp32 1e-3: both sides run fp32 kernels on the GPU but not the same ones (SDPA or our plain
    attention against transformers' eager attention, different reduction orders), a few
    ulps per operation through four layers and a backward.
  bf16 5e-2: our bf16 compute against transformers in fp32: 8 significant bits.
"""
import argparse
import json
import struct
import subprocess
import sys
import tempfile
import time

import msgpack
import numpy as np
import torch

H100_BF16_DENSE_FLOPS = 989.4e12  # H100 and H200 SXM: the same tensor cores and clocks


class CheckFailed(Exception):
    pass


class Worker:
    """One troupe-worker process; call() sends a request frame and returns (result, tensors)."""

    def __init__(self, binary, *flags):
        self.proc = subprocess.Popen([binary, *flags], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.next_id = 0

    def _read(self, n):
        data = self.proc.stdout.read(n)
        if len(data) != n:
            raise CheckFailed(f"the worker exited (code {self.proc.poll()}) mid-reply")
        return data

    def call(self, op, args=None, **tensors):
        self.next_id += 1
        descs, bodies = [], []
        for name, arr in tensors.items():
            arr = np.ascontiguousarray(arr)
            dtype = {np.dtype(np.float32): "f32", np.dtype(np.int32): "i32"}[arr.dtype]
            descs.append({"name": name, "dtype": dtype, "shape": list(arr.shape), "nbytes": arr.nbytes})
            bodies.append(arr.tobytes())
        head = msgpack.packb({"id": self.next_id, "op": op, "args": args or {}, "tensors": descs})
        self.proc.stdin.write(struct.pack("<I", len(head)) + head + b"".join(bodies))
        self.proc.stdin.flush()
        header = msgpack.unpackb(self._read(struct.unpack("<I", self._read(4))[0]))
        out = {}
        for d in header.get("tensors", []):
            dt = np.float32 if d["dtype"] == "f32" else np.int32
            out[d["name"]] = np.frombuffer(self._read(d["nbytes"]), dtype=dt).reshape(d["shape"])
        if not header.get("ok"):
            err = header.get("error", {})
            raise CheckFailed(f"{op}: {err.get('message')} [{err.get('code')}]")
        return header.get("result", {}), out

    def close(self):
        try:
            self.call("shutdown")
        except Exception:
            pass
        self.proc.kill()
        self.proc.wait()


def packed(seqs):
    return {"tokens": np.concatenate(seqs).astype(np.int32), "lengths": np.array([len(s) for s in seqs], dtype=np.int32)}


def rel_err(ours, theirs):
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    return float(np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-12))


def expect(name, value, tol, results):
    results[name] = value
    if not value <= tol:  # NaN fails
        raise CheckFailed(f"{name}: {value:.3g} > {tol:.3g}")


def hf_parity(binary, results):
    """A small random Qwen3ForCausalLM, saved by transformers, loaded by the worker."""
    from transformers import Qwen3Config, Qwen3ForCausalLM

    cfg = Qwen3Config(vocab_size=1024, hidden_size=256, intermediate_size=512, num_hidden_layers=4, num_attention_heads=8,
                      num_key_value_heads=4, head_dim=32, max_position_embeddings=2048, rope_theta=10000.0, rms_norm_eps=1e-6,
                      tie_word_embeddings=False)
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(cfg).float()
    with torch.no_grad():  # larger than the default 0.02 init, so the logits are far from uniform
        for p in model.parameters():
            if p.dim() > 1:
                p.mul_(5)
    model.config._attn_implementation = "eager"
    folder = tempfile.mkdtemp(prefix="troupe-hf-")
    model.save_pretrained(folder)  # safetensors, transformers' default
    model = model.cuda()
    rng = np.random.default_rng(1)
    seqs = [rng.integers(0, cfg.vocab_size, n).astype(np.int32) for n in (17, 40, 9)]

    def hf_logprobs(seq):
        ids = torch.tensor(seq, dtype=torch.long, device="cuda").unsqueeze(0)
        lp = torch.log_softmax(model(ids).logits[0].float(), -1)
        return lp[:-1].gather(1, ids[0, 1:].unsqueeze(1)).squeeze(1)

    for precision, tol in (("fp32", 1e-3), ("bf16", 5e-2)):
        w = Worker(binary, "--backend", "torch", "--device", "cuda", "--precision", precision)
        try:
            w.call("load", {"path": folder})
            _, out = w.call("logprobs", {}, **packed(seqs))
            ours, theirs, at = [], [], 0
            with torch.no_grad():
                for s in seqs:
                    ours.append(out["logprobs"][at + 1:at + len(s)])
                    theirs.append(hf_logprobs(s).cpu().numpy())
                    at += len(s)
            expect(f"hf_logprobs_{precision}", rel_err(np.concatenate(ours), np.concatenate(theirs)), tol, results)
            if precision != "fp32":
                continue
            # Cross-entropy over every predicted token, the mean: the worker's "ce" loss.
            mask = np.ones(sum(len(s) for s in seqs), dtype=np.float32)
            w.call("accumulate", {"mode": "ce"}, mask=mask, **packed(seqs))
            _, grads = w.call("get_gradients")
            model.zero_grad()
            count = sum(len(s) - 1 for s in seqs)
            loss = -sum(hf_logprobs(s).sum() for s in seqs) / count
            loss.backward()
            worst, worst_name = 0.0, ""
            for name, p in model.named_parameters():
                e = rel_err(grads[name], p.grad.float().cpu().numpy())
                if not e <= worst:
                    worst, worst_name = e, name
            results["hf_gradients_worst_tensor"] = worst_name
            expect("hf_gradients_fp32", worst, tol, results)
            # Greedy decoding: the worker's KV-cache generation against transformers recomputing.
            prompt = seqs[1][:12]
            _, gen = w.call("generate", {"max_tokens": 16, "temperature": 0}, **packed([prompt]))
            ids = torch.tensor(prompt, dtype=torch.long, device="cuda").unsqueeze(0)
            with torch.no_grad():
                for _ in range(16):
                    nxt = model(ids).logits[0, -1].argmax()
                    ids = torch.cat([ids, nxt.view(1, 1)], 1)
            theirs_tokens = ids[0, len(prompt):].cpu().numpy().tolist()
            differ = sum(a != b for a, b in zip(gen["tokens"].tolist(), theirs_tokens))
            expect("hf_greedy_tokens_differing", differ, 0, results)
        finally:
            w.close()


QWEN3 = {
    "0.6B": dict(hidden_size=1024, intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8),
    "1.7B": dict(hidden_size=2048, intermediate_size=6144, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8),
}


def model_flops_per_token(c, tokens):
    """Training FLOPs per token (6 per multiply-add pair of every matmul weight, the output
    projection included, plus causal attention's QK and PV), without the recomputation that
    checkpointing adds: the convention MFU is quoted in."""
    d, f, L, hq, hkv, hd, v = (c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"], c["num_attention_heads"],
                               c["num_key_value_heads"], c["head_dim"], c["vocab_size"])
    per_layer = d * hq * hd * 2 + d * hkv * hd * 2 + 3 * d * f
    attention = 6 * L * hq * hd * tokens  # 2 matmuls × 2 FLOPs × 3 (fwd + bwd) × ½ causal × T
    return 6 * (L * per_layer + v * d) + attention


def bench(binary, results, tokens=4096, steps=3):
    from transformers import Qwen3Config, Qwen3ForCausalLM

    out = {}
    for name, dims in QWEN3.items():
        c = dict(vocab_size=151936, head_dim=128, max_position_embeddings=40960, rope_theta=1e6, rms_norm_eps=1e-6,
                 tie_word_embeddings=True, **dims)
        flops = model_flops_per_token(c, tokens)
        ids = np.random.default_rng(2).integers(0, c["vocab_size"], tokens).astype(np.int32)
        row = {}
        # The worker: bf16 compute, fp32 masters and AdamW, activation checkpointing on.
        w = Worker(binary, "--backend", "torch", "--device", "cuda", "--precision", "bf16")
        try:
            w.call("init", {"config": c, "seed": 1})
            def train_step():
                w.call("accumulate", {"mode": "ce"}, mask=np.ones(tokens, dtype=np.float32), **packed([ids]))
                w.call("step", {"lr": 1e-5})
            train_step()
            t0 = time.perf_counter()
            for _ in range(steps):
                train_step()
            dt = (time.perf_counter() - t0) / steps
            row["troupe_train_tokens_per_s"] = round(tokens / dt)
            row["troupe_mfu"] = round(flops * tokens / dt / H100_BF16_DENSE_FLOPS, 3)
            prompts = [ids[i * 32:(i + 1) * 32] for i in range(32)]
            w.call("generate", {"max_tokens": 8, "temperature": 1.0}, **packed(prompts))
            t0 = time.perf_counter()
            _, g = w.call("generate", {"max_tokens": 128, "temperature": 1.0}, **packed(prompts))
            row["troupe_generate_tokens_per_s"] = round(len(g["tokens"]) / (time.perf_counter() - t0))
        finally:
            w.close()
        torch.cuda.empty_cache()
        # transformers + PyTorch, eager: fp32 weights under bf16 autocast, AdamW, same tokens.
        model = Qwen3ForCausalLM(Qwen3Config(**c)).cuda()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
        x = torch.tensor(ids, dtype=torch.long, device="cuda").unsqueeze(0)
        def hf_step():
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = model(input_ids=x, labels=x).loss
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        hf_step()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(steps):
            hf_step()
        torch.cuda.synchronize()
        dt = (time.perf_counter() - t0) / steps
        row["hf_train_tokens_per_s"] = round(tokens / dt)
        row["hf_mfu"] = round(flops * tokens / dt / H100_BF16_DENSE_FLOPS, 3)
        row["troupe_vs_hf"] = round(row["troupe_train_tokens_per_s"] / row["hf_train_tokens_per_s"], 2)
        del model, opt
        torch.cuda.empty_cache()
        out[name] = row
        print(f"gpu-check: bench {name}: {json.dumps(row)}", file=sys.stderr)
    results["bench"] = out


def zero_nccl(binary, results, tokens=2048):
    """ZeRO-3 over NCCL in a group of one rank (the lent machine has one GPU): the sharded code
    path of many ranks (all-gather of each layer before it runs, reduce-scatter of its gradient,
    the sharded AdamW step) on Qwen3-1.7B's dimensions, against the same step with no group."""
    c = dict(vocab_size=151936, head_dim=128, max_position_embeddings=40960, rope_theta=1e6, rms_norm_eps=1e-6,
             tie_word_embeddings=True, **QWEN3["1.7B"])
    ids = np.random.default_rng(3).integers(0, c["vocab_size"], tokens).astype(np.int32)
    names = ["model.norm.weight", "model.layers.0.mlp.down_proj.weight", "model.embed_tokens.weight"]
    weights, row = {}, {}
    for zero in (None, 3):
        w = Worker(binary, "--backend", "torch", "--device", "cuda", "--precision", "bf16")
        try:
            w.call("init", {"config": c, "seed": 1})
            if zero is not None:
                r, _ = w.call("collective_listen", {"address": "127.0.0.1:0"})
                info, _ = w.call("collective_init", {"rank": 0, "world": 1, "addresses": [r["address"]], "zero": zero, "host": "127.0.0.1"})
                if info.get("zero") != zero:
                    raise CheckFailed(f"zero_nccl: the worker reports stage {info.get('zero')}, not {zero}")
            def train_step():
                w.call("accumulate", {"mode": "ce"}, mask=np.ones(tokens, dtype=np.float32), **packed([ids]))
                return w.call("step", {"lr": 1e-5})[0]
            train_step()
            t0 = time.perf_counter()
            train_step()
            key = "none" if zero is None else f"zero{zero}"
            row[f"{key}_step_s"] = round(time.perf_counter() - t0, 3)
            info, _ = w.call("info")
            row[f"{key}_held_gb"] = round(sum(info["held"].values()) / 1e9, 2)
            _, ts = w.call("get_weights", {"names": names})
            weights[key] = ts
        finally:
            w.close()
        torch.cuda.empty_cache()
    for n in names:
        expect(f"zero_nccl_{n}", rel_err(weights["zero3"][n], weights["none"][n]), 1e-5, row)
    results["zero_nccl"] = row
    print(f"gpu-check: zero_nccl: {json.dumps(row)}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", required=True)
    ap.add_argument("--parity", default="{}")
    ap.add_argument("--skip-bench", action="store_true")
    a = ap.parse_args()
    results = {"ok": True, "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "parity": json.loads(a.parity)}
    stage = "hf_parity"
    try:
        hf_parity(a.worker, results)
        stage = "zero_nccl"
        zero_nccl(a.worker, results)
        if not a.skip_bench:
            stage = "bench"
            bench(a.worker, results)
    except CheckFailed as e:
        results.update(ok=False, failed=stage, detail=str(e))
        print(json.dumps(results))
        sys.exit(1)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
