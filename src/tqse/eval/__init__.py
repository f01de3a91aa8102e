"""Evaluation: metrics, benchmark protocols, tables and plots."""
