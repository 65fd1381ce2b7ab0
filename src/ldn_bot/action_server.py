"""`python -m ldn_bot.action_server`: rasa-sdk's action server, lean.

spaCy's thinc imports TensorFlow and JAX whenever they are installed (Rasa installs
TensorFlow), which costs the action server some 370 MB and seconds of start-up for code
it never runs: the actions use spaCy's tokenizer and lookup tables only. Blocking those
imports here keeps them out of this process, and only this one.

Logging is the project's (`ldn_bot.logs`: one line per record, input escaped) instead of
rasa-sdk's coloured console set-up; everything else is rasa-sdk's `main`.
"""

from __future__ import annotations

import sys

for _name in ("tensorflow", "jax", "torch", "mxnet", "cupy"):
    sys.modules.setdefault(_name, None)  # type: ignore[arg-type]

from rasa_sdk import utils  # noqa: E402
from rasa_sdk.endpoint import create_argument_parser, run  # noqa: E402

from ldn_bot.logs import configure_logging  # noqa: E402


def main() -> None:
    args = create_argument_parser().parse_args()
    configure_logging(args.loglevel)
    utils.update_sanic_log_level()
    run(
        args.actions,
        args.port,
        args.cors,
        args.ssl_certificate,
        args.ssl_keyfile,
        args.ssl_password,
        args.auto_reload,
    )


if __name__ == "__main__":
    main()
