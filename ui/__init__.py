"""Streamlit helpers for the app: pure chart functions, results tables, the model registry and the sidebar.

ui.charts and ui.results import neither streamlit nor cnn, so tests can call them directly.
"""
