"""Media service: downloads with yt-dlp, frames with OpenCV, transcripts from captions or subtitles."""
