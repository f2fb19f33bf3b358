"""The tools around mfe-proxy, kept out of its pure core (addon/mfe_proxy/): the demo dev servers and the
smoke run (`demo`, `smoke`), the benchmark (`bench`), the reliability run (`reliability`), the documents
their results go into (`results_doc`), and the child processes all of them and the end-to-end tests
start (`processes`). Run them with addon/ and scripts/ on PYTHONPATH: `python -m mfe_tools.demo run`."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
