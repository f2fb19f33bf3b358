import sys

from mfe_proxy.cli import main

sys.exit(main())
