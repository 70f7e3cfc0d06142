"""haad: few-shot human action anomaly detection on live skeleton streams."""

__version__ = "0.1.0"
