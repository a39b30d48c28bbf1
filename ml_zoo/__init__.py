"""vo2neuro.ml_zoo"""
