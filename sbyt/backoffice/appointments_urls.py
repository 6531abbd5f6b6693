"""URL patterns appended to the backoffice namespace (see its urls.py)."""

urlpatterns: list = []
