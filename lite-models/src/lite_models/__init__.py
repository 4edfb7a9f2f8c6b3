"""CPU lite model server: an OpenAI-compatible API backed by classical vision and extractive summarisation."""
