"""Accounts, their users, API tokens and permissions."""
