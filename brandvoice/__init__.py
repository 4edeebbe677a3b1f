"""brandvoice: teach a small language model your brand voice and write guarded follow-up emails."""

__version__ = "0.1.0"
