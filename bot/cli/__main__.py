"""`python -m bot.cli`: the same as the `turnout` command."""

from bot.cli.main import main

raise SystemExit(main())
