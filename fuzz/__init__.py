"""Coverage-guided fuzzing of phishguard (atheris): targets, seeds and the runner; see run.py."""
