"""The test suite's own environment variables (which server, which browser): every other
BRANDVOICE_* variable is a setting, and a test starts without the shell's (tests/conftest.py)."""

TEST_VARIABLES = ("BRANDVOICE_TEST_PG_URL", "BRANDVOICE_TEST_DB", "BRANDVOICE_CHROMIUM",
                  "BRANDVOICE_DOCS_SCREENSHOTS")
