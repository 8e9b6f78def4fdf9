#!/usr/bin/python3
"""Trains the fusion pair scorer and exports it to ONNX (see README.md beside this file and models/fusion.md).

    /usr/bin/python3 scripts/train-fusion/train.py --data /tmp/rsu-fusion-data --out models/fusion.onnx

Debian packages only: python3-torch, python3-onnx, python3-numpy. Deterministic on one CPU thread (seed 1).
Input: gen-data.ts's features.f32 / labels.i32 / meta.json. The last training seed is held out for validation.
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

CLASS_N = 6


class PairScorer(nn.Module):
    """Normalisation (constants from the training data) + MLP with three heads, and a separate ground-placement
    MLP on the detection's own features and its track's orientation and size (PLACE_FEATURES: never the track's
    position, since the placement updates that track as an independent measurement)."""

    def __init__(self, n_in, mean, std, place_idx, hidden=64):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("inv_std", torch.tensor(1.0 / std, dtype=torch.float32))
        self.register_buffer("place_idx", torch.tensor(place_idx, dtype=torch.int64))
        self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.assoc = nn.Linear(hidden, 1)
        self.cls = nn.Linear(hidden, CLASS_N)
        self.exist = nn.Linear(hidden, 1)
        self.place_body = nn.Sequential(nn.Linear(len(place_idx), hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 4))

    def forward(self, features):
        x = (features - self.mean) * self.inv_std
        h = self.body(x)
        p = self.place_body(torch.index_select(x, 1, self.place_idx))
        return self.assoc(h).squeeze(-1), self.cls(h), self.exist(h).squeeze(-1), p[:, :2], torch.clamp(p[:, 2:], -3.0, 3.0)


def gaussian_nll(mu, log_std, target):
    """Mean negative log-likelihood (up to a constant) of the finite targets under N(mu, exp(log_std)^2)."""
    ok = torch.isfinite(target).all(1)
    if not ok.any():
        return mu.sum() * 0.0
    mu, log_std, t = mu[ok], log_std[ok], target[ok]
    return (log_std + 0.5 * ((t - mu) * torch.exp(-log_std)) ** 2).sum(1).mean()


def auc(scores, labels):
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/tmp/rsu-fusion-data")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "models", "fusion.onnx"))
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(1)
    meta = json.load(open(os.path.join(args.data, "meta.json")))
    F = meta["featureCount"]
    X = np.fromfile(os.path.join(args.data, "features.f32"), dtype="<f4").reshape(-1, F)
    L = np.fromfile(os.path.join(args.data, "labels.i32"), dtype="<i4").reshape(-1, 5)
    P = np.fromfile(os.path.join(args.data, "place.f32"), dtype="<f4").reshape(-1, 2)
    assert len(X) == len(L) == len(P) == meta["rows"], (len(X), len(L), len(P), meta["rows"])
    seeds = L[:, 4]
    val_seed = max(meta["seeds"])
    tr, va = seeds != val_seed, seeds == val_seed
    print(f"{len(X)} pairs, {tr.sum()} for training (seeds {sorted(set(meta['seeds']) - {val_seed})}), {va.sum()} for validation (seed {val_seed})", flush=True)

    mean = X[tr].mean(0)
    std = X[tr].std(0)
    std[std < 1e-3] = 1.0
    model = PairScorer(F, mean, std, meta["placeFeatures"], args.hidden)
    Xt = torch.from_numpy(X[tr])
    Lt = torch.from_numpy(L[tr].astype(np.int64))
    Pt = torch.from_numpy(P[tr])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    bce = nn.BCEWithLogitsLoss()
    ce = nn.CrossEntropyLoss(ignore_index=-1)
    n = len(Xt)
    bs = 4096
    for ep in range(args.epochs):
        perm = torch.randperm(n)
        tot = 0.0
        model.train()
        for i in range(0, n, bs):
            idx = perm[i : i + bs]
            x, y = Xt[idx], Lt[idx]
            a, c, e, pm, ps = model(x)
            loss = bce(a, y[:, 0].float()) + bce(e, y[:, 1].float()) + 0.5 * ce(c, y[:, 2]) + 0.5 * gaussian_nll(pm, ps, Pt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += loss.item() * len(idx)
        sched.step()
        print(f"epoch {ep + 1}: loss {tot / n:.4f}", flush=True)

    model.eval()
    with torch.no_grad():
        a, c, e, pm, ps = model(torch.from_numpy(X[va]))
    a, c, e, pm, ps = a.numpy(), c.numpy(), e.numpy(), pm.numpy(), ps.numpy()
    Lv = L[va]
    Pv = P[va]
    has = Lv[:, 3] == 1
    placed = np.isfinite(Pv).all(1)
    resid = Pv[placed] - pm[placed]
    z = resid / np.exp(ps[placed])
    metrics = {
        "val_seed": int(val_seed),
        "val_pairs": int(va.sum()),
        "assoc_auc_track_pairs": auc(a[has], Lv[has, 0]),
        "assoc_acc_0.5": float(((a > 0) == (Lv[:, 0] == 1)).mean()),
        "exist_auc": auc(e, Lv[:, 1]),
        "exist_auc_no_track_pairs": auc(e[~has], Lv[~has, 1]),
        "class_acc": float((c.argmax(1)[Lv[:, 2] >= 0] == Lv[Lv[:, 2] >= 0, 2]).mean()),
        "place_rows": int(placed.sum()),
        "place_rmse_rule_m": float(np.sqrt((Pv[placed] ** 2).sum(1).mean())),
        "place_rmse_model_m": float(np.sqrt((resid**2).sum(1).mean())),
        "place_over_2m_rule": float((np.hypot(Pv[placed, 0], Pv[placed, 1]) > 2).mean()),
        "place_over_2m_model": float((np.hypot(resid[:, 0], resid[:, 1]) > 2).mean()),
        "place_within_1sigma": float((np.abs(z) <= 1).mean()),
    }
    print(json.dumps(metrics, indent=2))

    # Export: IR 8, opset 17 (Debian's onnx checker), a dynamic number of pairs.
    import onnx

    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    torch.onnx.export(
        model,
        torch.zeros(2, F),
        out,
        input_names=["features"],
        output_names=["assoc_logit", "class_logits", "exist_logit", "place", "place_logstd"],
        dynamic_axes={"features": {0: "pairs"}, "assoc_logit": {0: "pairs"}, "class_logits": {0: "pairs"}, "exist_logit": {0: "pairs"}, "place": {0: "pairs"}, "place_logstd": {0: "pairs"}},
        opset_version=17,
        do_constant_folding=True,
    )
    m = onnx.load(out)
    m.ir_version = min(m.ir_version, 8)
    m.producer_name = "rsu-edge scripts/train-fusion/train.py"
    for k, v in {
        "feature_version": str(meta["featureVersion"]),
        "feature_names": ",".join(meta["featureNames"]),
        "place_features": ",".join(str(i) for i in meta["placeFeatures"]),
        "output_classes": ",".join(meta["outputClasses"]),
        "training_seeds": ",".join(str(s) for s in meta["seeds"]),
        "metrics": json.dumps(metrics),
    }.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, out)
    with torch.no_grad():
        ref_x = X[va][np.linspace(0, int(va.sum()) - 1, 16).astype(int)]
        ref = model(torch.from_numpy(ref_x))
    digest = hashlib.sha256(open(out, "rb").read()).hexdigest()
    info = {"file": os.path.basename(out), "sha256": digest, "bytes": os.path.getsize(out), "ir_version": m.ir_version, "opset": m.opset_import[0].version, "metrics": metrics, "epochs": args.epochs, "hidden": args.hidden, "torch_seed": args.seed, "data": {k: meta[k] for k in ("rows", "seeds", "durationS", "counts")}}
    json.dump(info, open(out.replace(".onnx", ".train.json"), "w"), indent=2)
    # Reference outputs for the first validation rows (the tests compare onnxruntime-node against them).
    json.dump({"features": ref_x.tolist(), "assoc_logit": ref[0].tolist(), "class_logits": ref[1].tolist(), "exist_logit": ref[2].tolist(), "place": ref[3].tolist(), "place_logstd": ref[4].tolist()}, open(out.replace(".onnx", ".ref.json"), "w"))
    print(f"wrote {out} ({info['bytes']} bytes, IR {m.ir_version}, opset {info['opset']}, sha256 {digest})")


if __name__ == "__main__":
    sys.exit(main())
