#!/usr/bin/env bash
# The family comparison on one accelerator (docs/families.md, "On one GPU"): DCGAN, StyleGAN2, VQ-GAN and DDPM,
# each family's bundled emoji config at 32 px, trained side by side for the same wall time, then scored with one
# protocol by tools/family_table.py.
#
#     bash tools/family_runs.sh SECONDS RUNS_DIR OUT_DIR [--num 2000]   # extra arguments go to family_table.py
#
# - All four runs start together, each with the time budget --config.max_seconds=SECONDS (compilation included: the run
#   saves and stops by itself, exit status 75, as a job at its wall-time limit; until 2026-12-04 `timeout -s TERM`);
#   they share the machine's accelerator(s) (each process may take 20 % of the memory) and its CPU cores
#   (data.num_workers grain workers each: the input pipeline is the bottleneck of a single-threaded run on a GPU).
# - VQ-GAN's two stages split the budget in halves: its autoencoder trains for SECONDS/2 (the prior's start set out
#   of reach), then the run resumes with model.prior_from at the step it reached (--allow-config-change; at least
#   one step after the critic's start, model.disc_start) and its transformer prior trains for the other half. Its
#   perceptual term uses three VGG-16 layers, as the CPU table.
# - Overrides beyond the bundled configs: no periodic evaluation, an unreachable num_steps, DDPM's EMA decay 0.999
#   (a half-life of 690 steps, StyleGAN2's is 620: the bundled 0.9995 suits its 20,000 steps, not a few thousand).
# Writes OUT_DIR/family_gpu.json, OUT_DIR/family_gpu_samples.png and OUT_DIR/family_runs.tgz (each run's
# metrics.jsonl, config and sample grids); $PYTHON (default python3) runs jaxgen.
set -euo pipefail
seconds=${1:?usage: family_runs.sh SECONDS RUNS_DIR OUT_DIR [family_table.py arguments]}
runs=${2:?RUNS_DIR}
out=${3:?OUT_DIR}
shift 3
py=${PYTHON:-python3}
workers=${NUM_WORKERS:-3}
mkdir -p "$runs" "$out"
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.2}
common=(--config.eval.every=0 --config.num_steps=100000000 --config.data.num_workers="$workers")
vgg="--config.model.vgg_layers=('relu1_2','relu2_2','relu3_3')"

train() {  # train SECONDS NAME CONFIG [overrides...]: one run, stopped by its time budget after SECONDS
    local budget=$1 name=$2 config=$3
    shift 3
    "$py" -m jaxgen train --config "$config" --workdir "$runs/$name" "${common[@]}" --config.max_seconds="$budget" \
        "$@" >> "$runs/$name.log" 2>&1 || [ $? -eq 75 ]  # 75: the budget is spent (jaxgen.cli.EXIT_TIME_BUDGET)
}

vqgan() {  # the autoencoder for half the budget, then the prior from the step it reached
    local half=$((seconds / 2))
    train "$half" vqgan vqgan_emoji --config.data.image_size=32 "$vgg" --config.model.prior_from=100000000
    local step
    local first='import jaxgen, sys; r = jaxgen.load(sys.argv[1]); print(max(r.step, r.config.model.disc_start + 1))'
    step=$("$py" -c "$first" "$runs/vqgan")  # after the critic's start (the autoencoder goes on to it if short of it)
    echo "vqgan: the prior starts at step $step"
    train $((seconds - half)) vqgan vqgan_emoji --config.data.image_size=32 "$vgg" \
        --config.model.prior_from="$step" --allow-config-change
}

start=$(date +%s)
train "$seconds" dcgan dcgan_emoji &
train "$seconds" stylegan2 stylegan2_emoji &
train "$seconds" ddpm ddpm_emoji --config.ema_decay=0.999 &  # 0.9995 would keep too much of the initial weights
vqgan &
wait
echo "training: $(($(date +%s) - start)) s wall"
for name in dcgan stylegan2 vqgan ddpm; do tr '\r' '\n' < "$runs/$name.log" | grep -v '^ *$' | tail -n 3; done
tar -czf "$out/family_runs.tgz" -C "$runs" --exclude='checkpoints' --exclude='*.tmp' .
unset XLA_PYTHON_CLIENT_MEM_FRACTION
"$py" tools/family_table.py DCGAN="$runs/dcgan" StyleGAN2="$runs/stylegan2" VQ-GAN="$runs/vqgan" DDPM="$runs/ddpm" \
    --real --out "$out/family_gpu.json" --figure "$out/family_gpu_samples.png" "$@"
echo "total: $(($(date +%s) - start)) s wall"
