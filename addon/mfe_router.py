"""mfe-proxy: mitmproxy as the local development proxy for microfrontends.

    mitmdump -s addon/mfe_router.py [--set mfe_config=microfrontends.json]      # from a checkout
    mitmdump -s "$(mfe-proxy addon-path)"                                        # installed

The addons are in `mfe_proxy.addons`; see docs/ARCHITECTURE.md for what each does, and the README for
what the proxy does and why.
"""

import logging
import sys
from pathlib import Path

try:
    from mfe_proxy.addons import make
except ModuleNotFoundError as missing:
    # mitmdump's own Python lacks what mfe-proxy needs: one line saying what and how to add it, which
    # stops mitmdump (an error at start-up), instead of a traceback and a proxy going on without it.
    here = Path(__file__).resolve().parent.parent
    source = str(here) if (here / "pyproject.toml").is_file() else "<mfe-proxy's checkout or git URL>"
    if "pipx" in Path(sys.prefix).parts:
        command = f"pipx inject {Path(sys.prefix).name} {source}"
    else:
        command = f"{sys.executable} -m pip install {source}"
    message = (
        f"mfe-proxy cannot start: this mitmdump's Python lacks {missing.name}; add mfe-proxy to it: {command}"
    )

    class _Missing:
        def load(self, loader: object) -> None:
            logging.getLogger("mfe-proxy").error(message)

    addons = [_Missing()]
else:
    addons = make()
