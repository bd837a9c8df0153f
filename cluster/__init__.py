"""Running the stages on a Dask cluster: connecting, and mapping a task over an extract's partitions.

The stages' own Dask paths (``features/dask_features.py``, ``training/dask_training.py``,
``explanations/dask_scoring.py``, ``fairness/dask_audit.py``) build on this package; it
imports only ``extract`` (docs/scale.md).
"""
