"""`video-analysis`: a command-line client of the video analysis service's REST API."""
