"""The app's Python side, by concern (the page scripts themselves are in app_pages/):

    ui/core/     no Streamlit: admission slots, training jobs, the model cache, the drawings store, canvas bytes
    ui/state/    Streamlit session state: shared keys (session), the model registry, visitors, expiry, cached data
    ui/charts/   pure chart functions: data in, Plotly figure or image out (unit-testable without Streamlit)
    ui/panels/   page panels: draw/ and inside/ by the page they serve, the sidebar, the uncertainty panels
"""
