"""CNN from scratch: draw a digit, look inside the network, compare configurations, evaluate, train your own.

    streamlit run app.py

The page scripts live in app_pages/, not pages/: a folder named pages/ beside the entrypoint switches
Streamlit to its legacy multipage mode whenever st.navigation has not run yet in the process (a fresh
server opened at /compare, or any AppTest rerun), which runs a page script alone, without this frame.
"""
import streamlit as st
from threadpoolctl import threadpool_limits

import cnn
from ui.panels import sidebar, style
from ui.state import expiry, uploads, visitor

# One BLAS thread per computation: this server's sessions share its cores, and when the other core was busy
# OpenBLAS's second thread made each stroke's occlusion map (many small forward passes) several times slower
# (docs/reliability.md). Training's processes (cnn/engine/parallel.py) also use one BLAS thread each.
threadpool_limits(1, user_api="blas")
cnn.keep_freed_memory()     # training in the server reuses freed memory (cnn/engine/malloc.py)

st.set_page_config(page_title="CNN from scratch", page_icon=":material/draw:", layout="wide")
if visitor.public():                 # CNN_PUBLIC=1: shared by URL (docs/public-mode.md)
    expiry.on_run()                  # stamp this visitor's activity; delete expired visitors' data
    uploads.install()                # bound the files Streamlit's upload endpoint holds (ui/state/uploads.py)

page = st.navigation([
    st.Page("app_pages/draw.py", title="Draw", icon=":material/draw:", default=True),
    st.Page("app_pages/inside.py", title="Inside the network", icon=":material/layers:"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/bar_chart:"),
    st.Page("app_pages/evaluate.py", title="Evaluate", icon=":material/grid_on:"),
])
style.render()
sidebar.render()
page.run()
