"""Messenger webhooks (filled in by the channel work)."""

urlpatterns: list = []
