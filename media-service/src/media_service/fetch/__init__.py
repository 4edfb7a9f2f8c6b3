"""Getting videos from the web: the checked request, the guarded child process that does every outbound
connection (yt-dlp, subtitle files, YouTube captions), the download policy, the media key that makes
two URLs of one video one download, and the progress callers can follow."""
