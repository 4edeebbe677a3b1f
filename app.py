"""Streamlit entry point: navigation over the pages in brandvoice/ui. Nothing else lives here."""

import streamlit as st

st.set_page_config(page_title="brandvoice", page_icon="✉️", layout="wide")
st.title("brandvoice")
st.info("The app is being built. Use the CLI: `brandvoice --help`.")
