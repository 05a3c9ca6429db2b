"""The Settings tab (`/console/settings/`), its JSON API (`/console/api/settings...`) and the Overview's setup
checklist: both settings owners' values on one form, saved all or nothing through the owners' write APIs, and the
two "Check connection" probes."""
