"""Offline evaluation as part of the product: datasets, the harness (`rag eval …`, eval/cli.py) and its reports
(eval/reports/). Metrics are pure functions (eval/metrics.py); runs resume after a kill (eval/runs.py)."""
