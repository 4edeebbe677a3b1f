"""Streamlit entry point: navigation over the pages in brandvoice/ui. Nothing else lives here."""

import streamlit as st

from brandvoice.ui import nav

st.set_page_config(page_title="brandvoice", page_icon="✉️", layout="wide")
nav.navigation().run()
