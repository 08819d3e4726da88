# The program tests' tiny search configuration (Fashion-MNIST, 320 images, a 3-block ResNet space,
# a few steps per epoch): `write_tiny_config FILE [STEPS]` writes it (STEPS per epoch, 2 by default:
# a test that must outlast other processes' starts or a kill asks for more); `fresh_work_dir DIR`
# empties DIR and writes it there as tiny.json. Sourced by the tests of this folder; FAUNAE_FASHION_MNIST overrides
# the data folder. The evaluator is named (contrastive, the paper's) so that the tests keep their meaning
# whatever the program's default is; kill_resume.sh sets another one where asked.
write_tiny_config() {
  local data=${FAUNAE_FASHION_MNIST:-/usr/share/datasets/fashion-mnist} steps=${2:-2}
  cat > "$1" <<JSON
{
  "data": {"kind": "fashion-mnist", "path": "$data", "images": 320, "validation_fraction": 0.2},
  "space": {"kind": "resnet", "blocks_per_stage": [1, 2], "width": 0.125, "ops": ["conv3", "sa_k3r2", "identity"]},
  "search": {"evaluator": "contrastive", "epochs_per_op": 2, "steps": $steps, "batch_size": 16, "queue_size": 64, "shuffle_groups": 2,
             "validation_images": 32, "head_hidden": 32, "head_out": 16},
  "seed": 5, "threads": 1
}
JSON
}

fresh_work_dir() {
  rm -rf "$1"
  mkdir -p "$1"
  write_tiny_config "$1/tiny.json"
}
