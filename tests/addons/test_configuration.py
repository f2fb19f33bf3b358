"""Configuration (mfe_proxy.addons.configuration) at start-up: mitmproxy's own default listener failing
is no error for mfe-proxy, which replaces it."""

import asyncio
import logging

from mitmproxy.addons.errorcheck import ErrorCheck
from mitmproxy.test import taddons

from mfe_proxy.addons.configuration import Configuration
from mfe_proxy.addons.runtime import Runtime


def test_a_busy_default_listener_does_not_stop_the_proxy():
    """mitmproxy's own listener on 8080 failing, before or after the addon loads, is not an error
    for mfe-proxy, which replaces it; any other start-up error still is."""
    proxyserver_log = logging.getLogger("mitmproxy.addons.proxyserver")
    failure = "[Errno 98] HTTP(S) proxy failed to listen on *:8080 with [Errno 98] address already in use"

    async def main():
        errorcheck = ErrorCheck()
        configuration = Configuration(Runtime())
        try:
            with taddons.context(errorcheck) as tctx:
                proxyserver_log.error(failure)
                tctx.master.addons.add(configuration)
                proxyserver_log.error(failure)
                proxyserver_log.error("reverse proxy to http://localhost:3000 failed to listen on *:3024")
                return [record.getMessage() for record in errorcheck.logger.has_errored]
        finally:
            errorcheck.finish()
            configuration.done()

    assert asyncio.run(main()) == ["reverse proxy to http://localhost:3000 failed to listen on *:3024"]
