"""Streamlit pages: a thin layer over the core. Each module exposes `page()`; app.py navigates them."""
