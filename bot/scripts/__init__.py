"""Scripts and outcomes: templates, SMS cost, canned scripts and their modal,
outcomes and replacement-ballot requests.
"""
