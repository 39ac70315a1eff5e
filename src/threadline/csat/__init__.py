"""csat"""
