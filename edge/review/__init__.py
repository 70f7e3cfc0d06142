"""The review server (``haad serve``): pages and an HTTP API under /api/v1 over the alert log and
the behaviour profiles. :func:`edge.review.app.create_app` builds it; `haad serve` (haad/cli/serve.py) runs it."""
