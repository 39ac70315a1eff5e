"""service_levels"""
