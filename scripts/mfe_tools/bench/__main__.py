import sys

from mfe_tools.bench.cli import main

sys.exit(main())
