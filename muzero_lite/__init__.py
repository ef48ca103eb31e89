"""muzero_lite: a small, readable, correct MuZero that the workbook's chapters build."""

__version__ = "0.1.0"
