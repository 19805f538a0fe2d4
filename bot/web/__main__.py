"""`python -m bot.web`: serve the web app (see bot.web.app.main)."""

import sys

from bot.web.app import main

sys.exit(main())
