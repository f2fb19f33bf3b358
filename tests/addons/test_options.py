"""The addons' options (mfe_proxy.addons.options and each addon's `configure`): a bad value stops
start-up before running and is refused once running; a bad config is refused and the last good one
stays."""

import asyncio
import json

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons

from addons.harness import config, runtime_of
from mfe_proxy import addons


def test_options_are_validated(tmp_path, listening, caplog):
    path = tmp_path / "microfrontends.json"
    path.write_text(json.dumps(config(listening, listening)))
    bad = tmp_path / "bad.json"
    bad.write_text('{"applications": {"web": {"development": {"local": "x:y"}}}}')

    async def main():
        loaded = addons.make()
        runtime = runtime_of(loaded)
        with taddons.context(*loaded) as tctx:

            def configure(**values: str) -> None:
                for addon in loaded:
                    tctx.configure(addon, **values)

            # Before running, a bad value is logged (which stops start-up); once running, refused.
            configure(mfe_ws_keep_messages="-1")
            assert "mfe-proxy cannot start: mfe_ws_keep_messages must be 0 or more" in caplog.text
            configure(mfe_ws_keep_messages="many")
            assert "mfe_ws_keep_messages must be a whole number, not 'many'" in caplog.text
            runtime.running = runtime.strict = True  # as Lifecycle.running sets them
            for option, value in (("mfe_ws_keep_messages", "-1"), ("mfe_keep_flows", "-2")):
                with pytest.raises(exceptions.OptionsError, match=f"{option} must be"):
                    configure(**{option: value})
            with pytest.raises(exceptions.OptionsError, match="mfe_allowed_hosts: 'a:1' is not a host name"):
                configure(mfe_allowed_hosts="a:1")
            configure(mfe_config=str(path))
            assert runtime.setup is not None and runtime.setup.config.file == str(path)
            with pytest.raises(exceptions.OptionsError, match=r"bad\.json: applications\.web"):
                configure(mfe_config=str(bad))
            with pytest.raises(exceptions.OptionsError, match="mfe_local_apps names nope"):
                configure(mfe_local_apps="web,nope")
            return runtime.setup.config.file  # the last good config stays

    assert asyncio.run(main()) == str(path)
