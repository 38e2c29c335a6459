"""Pure chart functions: data in, Plotly figure (or an image) out. No Streamlit: unit-testable."""
