#!/usr/bin/env bash
# A configuration value that becomes an option of the torch backend (the space options,
# ContrastiveEvaluatorOptions, ZeroCostOptions, RotationEvaluatorOptions, MocoOptions, LinearEvalOptions) is checked by that
# option's own check() (examples/faunae/library_options.hpp) before the command touches the run: each
# bad value below stops `faunae search` at once with exit status 1 and a message that names the
# section, the options struct, the option and the value, and the run folder gets no config.json.
#   library_options.sh path/to/faunae work_dir
set -euo pipefail
faunae=$1
work=$2
source "$(dirname "${BASH_SOURCE[0]}")/tiny_config.sh"
fresh_work_dir "$work"
n=0
refused() {  # refused MESSAGE SET...: `faunae search --set SET...` fails, naming MESSAGE
  local message=$1
  shift
  n=$((n + 1))
  local run="$work/run-$n" sets=()
  for s in "$@"; do sets+=(--set "$s"); done
  if "$faunae" search --run "$run" --config "$work/tiny.json" "${sets[@]}" > "$work/out-$n" 2>&1; then
    echo "FAIL: search with $* ran"; cat "$work/out-$n"; exit 1
  fi
  grep -qF -- "$message" "$work/out-$n" || { echo "FAIL: '$message' not in the output of search with $*:"; cat "$work/out-$n"; exit 1; }
  [[ ! -e "$run/config.json" ]] || { echo "FAIL: search with $* wrote $run/config.json"; exit 1; }
}
refused "config 'search' (ContrastiveEvaluatorOptions): MocoOptions::tau must be positive and finite, got -1" search.tau=-1
refused "config 'search' (ContrastiveEvaluatorOptions): MocoOptions::momentum must be in [0, 1), got 1" search.momentum=1
refused "config 'search' (ContrastiveEvaluatorOptions): the queue size K = 100 must be a multiple of the batch size, got a batch of 16" \
  search.queue_size=100
refused "config 'search' (ContrastiveEvaluatorOptions): the batch size per process 16 must be a multiple of shuffle_groups, got 5" \
  search.shuffle_groups=5
refused "config 'search' (ContrastiveEvaluatorOptions): ContrastiveEvaluatorOptions::steps must be positive, got 0" search.steps=0
refused "config 'search' (ZeroCostOptions): ZeroCostOptions::batch_size must be >= 2, got 1" search.evaluator=synflow search.batch_size=1
refused "config 'search' (RotationEvaluatorOptions: steps = rotation_steps, batch_size = rotation_batch_size, lr = rotation_lr, downsample = rotation_downsample, repeats = rotation_repeats): RotationEvaluatorOptions::steps must be positive, got 0" \
  search.evaluator=rotation search.rotation_steps=0
refused "config 'search' (RotationEvaluatorOptions: steps = rotation_steps, batch_size = rotation_batch_size, lr = rotation_lr, downsample = rotation_downsample, repeats = rotation_repeats): RotationEvaluatorOptions::lr must be positive and finite, got -0.5" \
  search.evaluator=rotation search.rotation_lr=-0.5
refused "config 'search' (RotationEvaluatorOptions: steps = rotation_steps, batch_size = rotation_batch_size, lr = rotation_lr, downsample = rotation_downsample, repeats = rotation_repeats): RotationEvaluatorOptions::downsample must be positive, got 0" \
  search.evaluator=rotation search.rotation_downsample=0
refused "config 'search' (RotationEvaluatorOptions: steps = rotation_steps, batch_size = rotation_batch_size, lr = rotation_lr, downsample = rotation_downsample, repeats = rotation_repeats): RotationEvaluatorOptions::repeats must be positive, got 0" \
  search.evaluator=rotation search.rotation_repeats=0
refused "config: 'search.rotation_score' must be one of training-loss, held-out-error, got 'accuracy'" search.rotation_score=accuracy
refused "config: search.evaluator = 'rotation' needs space.kind = 'resnet', got 'darts'" search.evaluator=rotation space.kind=darts
refused "config: search.evaluator = 'rotation' runs on the CPU, got device = 'cuda'; use device = 'cpu', or search.evaluator = 'contrastive' on the GPU" \
  search.evaluator=rotation device=cuda
refused "config 'train' (MocoOptions): the batch size per process 12 must be a multiple of shuffle_groups, got 8" train.batch_size=12 train.queue_size=1200
refused "config 'space' (ResNetSpaceOptions): unknown op 'conv9' (known: conv3, conv5, sa_k3r2" 'space.ops=["conv9"]'
refused "config 'space' (ResNetSpaceOptions): width must be in (0, 8], got 0" space.width=0
refused "config 'space' (ResNetSpaceOptions): op 'conv3' is listed twice" 'space.ops=["conv3","conv3"]'
refused "config 'space' (DartsSpaceOptions: layers = darts_layers, channels = darts_channels): channels must be even and in [2, 4096], got 7" \
  space.kind=darts space.darts_channels=7
# MoCo's probe steps its learning rate at 60% and 80% of the epochs: 2 epochs give two steps at epoch 1.
refused "config 'probe' (LinearEvalOptions): LinearEvalOptions::milestones must be increasing epochs >= 0, got [1, 1]" probe.epochs=2
echo "ok: $n bad configurations refused before the run started"
