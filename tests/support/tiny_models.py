"""Tiny random-weight models that a real vLLM can serve on a CPU, built locally (nothing is downloaded).

    python tests/support/tiny_models.py OUT_DIR

writes OUT_DIR/text (a Llama chat model), OUT_DIR/vision (a LLaVA model: CLIP vision tower + Llama) and
OUT_DIR/speech (a Whisper model with its feature extractor). The first two share one byte-level BPE tokenizer
trained here on a small text, with a Llama-3-like chat template; Whisper gets its own, with Whisper's special
tokens (task, language and timestamp tokens), trained the same way.
Runs in the vLLM venv (torch, transformers, tokenizers, safetensors); deterministic for a given seed.
Their answers are gibberish: they exist to exercise the serving path, not to be right.
"""

import json
import sys
from pathlib import Path

SEED = 1234
IMAGE_TOKEN = "<image>"
SPECIAL_TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                  "<|eot_id|>", "<|pad|>", IMAGE_TOKEN]

# Llama-3-like; content may be a string or a list of OpenAI-style parts (text, image, image_url).
CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
    "{%- if message['content'] is string %}{{- message['content'] }}"
    "{%- else %}{%- for part in message['content'] %}"
    "{%- if part['type'] == 'text' %}{{- part['text'] }}"
    "{%- elif part['type'] in ['image', 'image_url'] %}{{- '" + IMAGE_TOKEN + "' }}"
    "{%- endif %}{%- endfor %}{%- endif %}"
    "{{- '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)

CORPUS = """\
Describe this video frame for someone who cannot see it: the setting, people and objects, any visible text.
You summarise videos from their transcript and from descriptions of frames taken at the given timestamps.
Answer with JSON: {"summary": "a paragraph", "key_points": ["one", "two", "three"]}.
The quick brown fox jumps over the lazy dog. A presenter stands in front of a slide with colour bars.
Welcome to this demo. Today we look at how the pipeline extracts frames, transcripts and summaries.
Title: Colour bars demo. Channel: local. Duration: 00:10. Transcript: hello and welcome.
[00:01] red green blue yellow cyan magenta white black grey orange purple brown pink.
안녕하세요. 오늘은 동영상 분석에 대해 이야기합니다. 화면에 글자가 보입니다.
0 1 2 3 4 5 6 7 8 9 10 100 1000 , . : ; ! ? " ' ( ) [ ] { } < > / \\ - _ = + * & % $ # @
"""


def build_tokenizer(out: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=1024, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([CORPUS] * 8, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>", pad_token="<|pad|>",
        extra_special_tokens={"image_token": IMAGE_TOKEN} if _transformers_major() >= 5 else None,
        model_max_length=8192, clean_up_tokenization_spaces=False)
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)
    return fast


def _transformers_major() -> int:
    import transformers
    return int(transformers.__version__.split(".")[0])


def llama_config(tokenizer):
    from transformers import LlamaConfig
    return LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=32,  # CPU attention needs head_dim >= 32
        max_position_embeddings=8192, rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=[tokenizer.eos_token_id,
                                                           tokenizer.convert_tokens_to_ids("<|end_of_text|>")],
        pad_token_id=tokenizer.pad_token_id, torch_dtype="float32")


def build_text(out: Path) -> None:
    import torch
    from transformers import GenerationConfig, LlamaForCausalLM

    torch.manual_seed(SEED)
    tokenizer = build_tokenizer(out)
    model = LlamaForCausalLM(llama_config(tokenizer)).to(torch.float32)
    model.save_pretrained(out, safe_serialization=True)
    GenerationConfig(bos_token_id=tokenizer.bos_token_id, eos_token_id=model.config.eos_token_id,
                     pad_token_id=tokenizer.pad_token_id).save_pretrained(out)


def build_vision(out: Path) -> None:
    import torch
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        GenerationConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    torch.manual_seed(SEED)
    tokenizer = build_tokenizer(out)
    image_size, patch_size = 56, 14
    vision = CLIPVisionConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                              image_size=image_size, patch_size=patch_size, projection_dim=64)
    config = LlavaConfig(vision_config=vision, text_config=llama_config(tokenizer),
                         image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
                         vision_feature_layer=-2, vision_feature_select_strategy="default",
                         projector_hidden_act="gelu", image_seq_length=(image_size // patch_size) ** 2)
    config.tie_word_embeddings = True
    model = LlavaForConditionalGeneration(config).to(torch.float32)
    model.save_pretrained(out, safe_serialization=True)
    _rename_vision_tower(out)
    GenerationConfig(bos_token_id=tokenizer.bos_token_id, eos_token_id=config.text_config.eos_token_id,
                     pad_token_id=tokenizer.pad_token_id).save_pretrained(out)
    image_processor = CLIPImageProcessor(size={"shortest_edge": image_size},
                                         crop_size={"height": image_size, "width": image_size})
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=patch_size,
                               vision_feature_select_strategy="default", image_token=IMAGE_TOKEN,
                               num_additional_image_tokens=1, chat_template=CHAT_TEMPLATE)
    processor.save_pretrained(out)


def _rename_vision_tower(out: Path) -> None:
    """vLLM loads the CLIP tower as `vision_tower.vision_model.*`; some transformers versions save it flat."""
    from safetensors.torch import load_file, save_file

    for path in out.glob("*.safetensors"):
        tensors = load_file(path)
        renamed = {}
        for name, tensor in tensors.items():
            head, sep, rest = name.partition("vision_tower.")
            if sep and not rest.startswith("vision_model."):
                name = f"{head}vision_tower.vision_model.{rest}"
            renamed[name] = tensor
        if renamed.keys() != tensors.keys():
            save_file(renamed, path, metadata={"format": "pt"})
    index = out / "model.safetensors.index.json"
    if index.exists():
        raise RuntimeError("sharded checkpoints are not expected for a tiny model")


WHISPER_LANGUAGES = ("en", "de", "fr", "ko")
WHISPER_CONTROL = ["<|endoftext|>", "<|startoftranscript|>", *(f"<|{code}|>" for code in WHISPER_LANGUAGES),
                   "<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>",
                   "<|notimestamps|>"]
# Whisper marks times in 20 ms steps over its 30 s window; vLLM's verbose_json reads them back.
WHISPER_TIMESTAMPS = [f"<|{step * 0.02:.2f}|>" for step in range(1501)]


def build_speech(out: Path) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizerFast,
    )

    torch.manual_seed(SEED)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=2048, special_tokens=WHISPER_CONTROL + WHISPER_TIMESTAMPS,
                                  show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([CORPUS] * 8, trainer=trainer)
    end = "<|endoftext|>"
    tokenizer = WhisperTokenizerFast(tokenizer_object=tok, bos_token=end, eos_token=end, pad_token=end,
                                     unk_token=end, model_max_length=448)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in WHISPER_CONTROL}
    config = WhisperConfig(
        vocab_size=len(tokenizer), num_mel_bins=80, d_model=64, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2,  # head_dim 32, as CPU attention needs
        encoder_ffn_dim=128, decoder_ffn_dim=128, max_source_positions=1500, max_target_positions=448,
        decoder_start_token_id=ids["<|startoftranscript|>"], bos_token_id=ids[end], eos_token_id=ids[end],
        pad_token_id=ids[end], torch_dtype="float32")
    WhisperForConditionalGeneration(config).to(torch.float32).save_pretrained(out, safe_serialization=True)
    features = WhisperFeatureExtractor(feature_size=80)
    WhisperProcessor(feature_extractor=features, tokenizer=tokenizer).save_pretrained(out)
    GenerationConfig(
        decoder_start_token_id=config.decoder_start_token_id, bos_token_id=ids[end], eos_token_id=ids[end],
        pad_token_id=ids[end], no_timestamps_token_id=ids["<|notimestamps|>"], is_multilingual=True,
        lang_to_id={f"<|{code}|>": ids[f"<|{code}|>"] for code in WHISPER_LANGUAGES},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        max_length=448).save_pretrained(out)


def main(argv: list[str]) -> None:
    root = Path(argv[1] if len(argv) > 1 else "tiny-models")
    build_text(root / "text")
    build_vision(root / "vision")
    build_speech(root / "speech")
    print(json.dumps({"text": str(root / "text"), "vision": str(root / "vision"), "speech": str(root / "speech")}))


if __name__ == "__main__":
    main(sys.argv)
