"""Tiny random-weight models that a real vLLM can serve on a CPU, built locally (nothing is downloaded).

    python tests/support/tiny_models.py OUT_DIR

writes OUT_DIR/text (a Llama chat model) and OUT_DIR/vision (a LLaVA model: CLIP vision tower + Llama).
Both share one byte-level BPE tokenizer trained here on a small text, with a Llama-3-like chat template.
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


def main(argv: list[str]) -> None:
    root = Path(argv[1] if len(argv) > 1 else "tiny-models")
    build_text(root / "text")
    build_vision(root / "vision")
    print(json.dumps({"text": str(root / "text"), "vision": str(root / "vision")}))


if __name__ == "__main__":
    main(sys.argv)
