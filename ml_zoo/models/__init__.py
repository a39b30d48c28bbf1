"""Model implementations of the zoo (imported lazily by :func:`vo2neuro.ml_zoo.create`)."""
