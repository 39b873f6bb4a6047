#!/usr/bin/env bash
# examples/fashion-mnist-mlp.sh - an MLP on Fashion-MNIST, from the IDX
# files of Debian's dataset-fashion-mnist to a bundle.
#
#   fashion-mnist-mlp.sh OUT_DIR [EPOCHS]      (EPOCHS default 10)
#
# The official test split stays the test split; a tenth of the training
# images is held out for validation and early stopping.  About a second an
# epoch on two cores.
set -eu
out=${1:?usage: fashion-mnist-mlp.sh OUT_DIR [EPOCHS]}
epochs=${2:-10}
F=${FMNIST:-/usr/share/datasets/fashion-mnist}
mkdir -p "$out"

maas-prep -q --target label --split 0.9,0.1,0 \
	"$F/train-images-idx3-ubyte.gz" "$F/train-labels-idx1-ubyte.gz" \
	--test-input "$F/t10k-images-idx3-ubyte.gz" --test-input "$F/t10k-labels-idx1-ubyte.gz" \
	-o "$out/fashion.safetensors"

# 784-256-128-10, ReLU, Adam 1e-3, batch 128: the benchmark's model
maas-train -a mlp -b 128 --lr 1e-3 -e "$epochs" --name fashion \
	-o "$out/fashion.maas" --log "$out/fashion-epochs.jsonl" "$out/fashion.safetensors"
