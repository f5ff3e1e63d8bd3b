"""What a diagnosis shows: at most ``MAX_CAUSES`` causes, each with at least
``MIN_CONFIDENCE`` (engine/score.py cuts the ranking there, and the next questions
separate only causes inside the cut)."""

MAX_CAUSES = 8
MIN_CONFIDENCE = 0.02
