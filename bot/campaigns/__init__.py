"""Campaigns and the activist's batch: the campaign file and its lifecycle, roles,
the data-protection gate, assignment, App Home and Send next.
"""
