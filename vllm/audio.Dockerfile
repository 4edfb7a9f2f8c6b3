# vLLM's OpenAI server with its audio extras (vllm[audio]: librosa, soundfile, ...), which the upstream
# vllm/vllm-openai image leaves out: without them /v1/audio/transcriptions cannot decode an upload.
# Built for the speech entry of vllm/registry.yaml (images.current-audio), from the same release as
# images.current:
#   docker build -f vllm/audio.Dockerfile -t video-analysis/vllm-openai-audio:v0.30.0 vllm
ARG VLLM_VERSION=0.30.0
FROM vllm/vllm-openai:v${VLLM_VERSION}
ARG VLLM_VERSION
# ==VERSION matches the image's own build (local labels such as +cu129 included), so only the extras install.
RUN python3 -m pip install --no-cache-dir "vllm[audio]==${VLLM_VERSION}"
