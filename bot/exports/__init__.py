"""Data out and data gone: CSV exports to Slack and purging a closed campaign."""
