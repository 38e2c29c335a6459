"""Streamlit session state: the shared keys (session), the model registry, visitors and their expiry, cached data."""
