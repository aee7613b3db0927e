"""Local orchestration behind `make run` and `make test`: Redis fallback, database choice, honcho.

Deliberately imports nothing from Django, so it never loads settings (or `.env`) itself.
"""
