"""The real champion and served model of tests/served_model.py, for the service tests."""

from served_model import champion, served, cases  # noqa: F401 - pytest fixtures
