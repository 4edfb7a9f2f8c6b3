"""The frames a vision model sees: which moments to show (scenes or uniform), reading them with PyAV
from keyframes where possible, and the JPEG sets kept beside the media."""
