"""`codesift sql`: questions in plain words -> SQL that runs on the user's database, grounded
in its schema, documentation and the team's example queries (model.py has the values passed
between the stages)."""
