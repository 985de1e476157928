"""Member rosters: parsing a CSV, importing it, and roster uploads in Slack."""
