"""Clinician feedback: recorded answers, verdicts and ratings in a real database, audited, exported for training."""
