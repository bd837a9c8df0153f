"""Feature families: one module per family, each a function ``(clock, extract) -> {name: values}``.

The names each family emits are listed in ``features/dictionary.yaml`` under
the same family; the pipeline checks that they agree.
"""
