"""Helpers every app may use that know no app: rate limits, the client's address, the
application error every service raises. Nothing here imports a Django app of this project
(the import contract in pyproject.toml says so)."""
