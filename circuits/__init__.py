"""vo2neuro.circuits"""
