"""`python -m ldn_bot.action_server`: rasa-sdk's action server, lean.

spaCy's thinc imports TensorFlow and JAX whenever they are installed (Rasa installs
TensorFlow), which costs the action server some 370 MB and seconds of start-up for code
it never runs: the actions use spaCy's tokenizer and lookup tables only. Blocking those
imports here keeps them out of this process, and only this one.
"""

from __future__ import annotations

import sys

for _name in ("tensorflow", "jax", "torch", "mxnet", "cupy"):
    sys.modules.setdefault(_name, None)  # type: ignore[arg-type]

from rasa_sdk.__main__ import main  # noqa: E402

if __name__ == "__main__":
    main()
