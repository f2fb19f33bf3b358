"""mfe-proxy: mitmproxy as the local development proxy for microfrontends.

    mitmdump -s addon/mfe_router.py [--set mfe_config=microfrontends.json]

The addons are in `mfe_proxy.addons`; see docs/ARCHITECTURE.md for what each does, and the README for
what the proxy does and why.
"""

from mfe_proxy.addons import make

addons = make()
