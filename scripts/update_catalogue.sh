#!/usr/bin/env bash
# Re-extract every translatable string into startvora/translations/messages.pot (the English
# source catalogue). A test fails when the committed catalogue is out of date.
set -euo pipefail
cd "$(dirname "$0")/.."
"${PYBABEL:-.venv/bin/pybabel}" extract -F startvora/translations/babel.cfg \
  -k _l -k lazy_gettext -k ngettext:1,2 --no-location --omit-header --sort-output \
  -o startvora/translations/messages.pot .
