"""Media on disk: complete-or-absent directories per media id, the counts of requests using each, what
the store holds for whoever keeps it bounded, and uploaded videos becoming stored media."""
