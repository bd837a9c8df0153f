"""Feature families: one module per family, each a function ``(clock) -> {name: values}``
(context, built from the people table, is called by the pipeline directly).

The names each family emits are listed in ``features/dictionary.yaml`` under
the same family; tests/features/test_features_dictionary.py checks that they agree.
"""
