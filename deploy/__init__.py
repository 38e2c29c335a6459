"""Running the app behind a reverse proxy: deploy/cluster.py (docs/deployment.md)."""
