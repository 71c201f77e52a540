"""What the backend keeps on disk: the data-folder layout, project registry, pool mirror, work files, status."""
