"""The benchmark (`scripts/bench`, `python -m mfe_tools.bench`), by concern: `workload` what is sent and
checked, `upstream` the server measured against, `load` the load generators and measurements, `setups`
the processes of each setup compared, `micro` the pure core's micro-benchmarks, `report` the tables and
targets, `cli` the run and its command line."""
