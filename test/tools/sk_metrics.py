#!/usr/bin/python3
"""sk_metrics.py - scikit-learn's metrics as reference for test_metrics.c.

    /usr/bin/python3 test/tools/sk_metrics.py FILE

FILE is a JSON array of cases, each
    {"name": "...", "K": 3, "probs": [[p0, p1, p2], ...], "y": [label, ...]}
for classification or
    {"name": "...", "pred": [...], "y": [...]}
for regression.  Prints one JSON object keyed by case name, with
    accuracy, macro_f1 (labels=range(K), zero_division=0), logloss
    (eps=1e-15), confusion (labels=range(K)), auc (K = 2 with both classes
    present, else null)
or rmse, mae and r2 (r2_score, whose constant-target cases give 1.0 / 0.0).
Exits 1 (after a message on stderr) when sklearn cannot be imported.
"""
import json
import sys

try:
    import numpy as np
    from sklearn import metrics as M
except ImportError as e:
    print(f"sk_metrics.py: {e}", file=sys.stderr)
    sys.exit(1)


def classification(case):
    K = case["K"]
    probs = np.array(case["probs"], dtype=np.float64).reshape(-1, K)
    y = np.array(case["y"], dtype=np.int64)
    pred = probs.argmax(axis=1)
    out = {
        "accuracy": M.accuracy_score(y, pred),
        "macro_f1": M.f1_score(y, pred, average="macro", labels=list(range(K)), zero_division=0),
        "logloss": M.log_loss(y, probs, eps=1e-15, labels=list(range(K))),
        "confusion": M.confusion_matrix(y, pred, labels=list(range(K))).tolist(),
        "auc": None,
    }
    if K == 2 and len(set(y.tolist())) == 2:
        out["auc"] = M.roc_auc_score(y, probs[:, 1])
    return out


def regression(case):
    y = np.array(case["y"], dtype=np.float64)
    pred = np.array(case["pred"], dtype=np.float64)
    return {
        "rmse": float(np.sqrt(M.mean_squared_error(y, pred))),
        "mae": M.mean_absolute_error(y, pred),
        "r2": M.r2_score(y, pred),
    }


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    out = {}
    for case in cases:
        out[case["name"]] = classification(case) if "probs" in case else regression(case)
    json.dump(out, sys.stdout, default=float)
    print()


if __name__ == "__main__":
    main()
