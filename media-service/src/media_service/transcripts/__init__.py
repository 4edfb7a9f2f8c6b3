"""Text and sound of a video for the analysis: the transcript chain (YouTube captions, the site's
subtitle tracks, tracks inside the file), subtitle formats, language preferences, and audio windows
for speech-to-text."""
