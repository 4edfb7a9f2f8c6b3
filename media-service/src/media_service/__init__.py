"""Media service: fetching videos (yt-dlp in a guarded child process) and storing them with uploads, then
frames, transcripts and audio read from them in a bounded decode process; one folder per domain (fetch/,
store/, decode/, frames/, transcripts/), each with the routes it serves."""
