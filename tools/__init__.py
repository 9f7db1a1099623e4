"""Development tools that are not part of the product: they live in the checkout only, are not
installed by ``pip install .`` and are left out of the Docker image (see .dockerignore).

- ``mailgen``: the deterministic DAST-scale support-mail generator (benchmarks, tests, and the
  tickets of ``make run``'s demo data);
- ``generate_archive``: writes its archive to an mbox or a maildir
  (``python -m tools.generate_archive --help``).
"""
