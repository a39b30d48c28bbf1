"""vo2neuro.data"""
