"""The phone IVR: a FastAGI server (``python manage.py ivr_agi``) that an Asterisk dialplan calls; see docs/ivr.md."""
