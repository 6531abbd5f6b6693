"""URL patterns appended to the portal namespace (see its urls.py)."""

urlpatterns: list = []
