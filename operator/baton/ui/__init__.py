"""`baton ui`: Baton's web UI, server-rendered HTML from the cluster's own objects."""
