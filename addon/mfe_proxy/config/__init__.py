"""Loading `microfrontends.json` (Vercel's format, also read by Turborepo) into the model:

- `reader`: bytes to a document (JSON, JSONC, YAML), and finding the file;
- `validate` with `origins` and `routes`: the document to a `mfe_proxy.model.Config`, every problem
  reported at once with its field path (`findings`).

Loading raises nothing but `ConfigError`, whatever the bytes on disk.
"""

from pathlib import Path

from mfe_proxy.config.reader import find_config, read_document
from mfe_proxy.config.validate import validate
from mfe_proxy.errors import ConfigError, ConfigProblem
from mfe_proxy.model import Config


def load_config(path: Path | None = None, directory: Path | None = None) -> Config:
    """Load the config at `path`, or the one found in `directory` (default: the working directory)."""
    if path is None:
        path = find_config(directory or Path.cwd())
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(str(path), [ConfigProblem("", f"cannot read the file: {error.strerror}")]) from None
    return parse_config(data, str(path))


def parse_config(data: bytes, file: str) -> Config:
    """Parse and validate the bytes of a config file; `file` names it in messages and picks the
    format (YAML for `.yaml`/`.yml`, JSONC, of which JSON is a part, for any other name)."""
    return validate(read_document(data, file), file)
