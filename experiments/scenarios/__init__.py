"""Stress scenarios: what each is judged by (:mod:`.metrics`) and its figure (:mod:`.figures`)."""
