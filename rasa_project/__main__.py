"""`python -m rasa_project`: the same as the `ldn-bot` command."""

import sys

from rasa_project.main import main

sys.exit(main())
