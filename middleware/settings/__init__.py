"""The project's Django settings: `base` for every environment, `dev` (embedded defaults, var/), `test` and
`production` on top of it, chosen by DJANGO_SETTINGS_MODULE.

May import: the standard library, third-party packages and the apps' plain-data beat schedules (`*/schedule.py`).
Never: application modules with Django imports (settings load before the apps).
"""
