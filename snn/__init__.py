"""vo2neuro.snn"""
