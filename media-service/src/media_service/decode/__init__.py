"""Reading media files that may be hostile: each decode (frames, an audio window, subtitle tracks, a
probe) runs in a child process with capped memory, CPU time and work, killed when its request ends."""
