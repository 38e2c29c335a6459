"""No Streamlit here: admission slots, training jobs, the model cache, the drawings store, canvas bytes."""
