#!/usr/bin/env bash
# Fetch the pinned third-party front-end files from the npm registry into static/vendor/
# (and axe-core, used only by the browser tests, into tests/browser/vendor/), and record
# each file's package, version, licence and sha256 in static/vendor/VERSIONS.
# Run it to upgrade a pin; the fetched files are committed, so nothing is fetched at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

HTMX=2.0.11          # htmx 2.x: 4.x changes the API
HTMX_SSE=2.2.4       # the maintained SSE extension (htmx 2's bundled ext/sse.js is the 1.x copy)
SORTABLE=1.15.7
LUCIDE=1.62.0
AXE=4.14.1

# Icons taken from lucide-static into one SVG sprite; add a name here to use a new icon.
ICONS="house users user settings log-out menu x search sun moon monitor chevron-down
chevron-left chevron-right chevrons-left check circle-alert circle-check info triangle-alert
download trash-2 plus building-2 inbox clock hard-drive activity list-filter arrow-up arrow-down
arrow-up-down globe coins calendar languages key-round ellipsis bell mail send rotate-cw
list-checks paperclip file megaphone phone handshake kanban upload list-todo target merge
archive-restore receipt package printer ban banknote percent file-text wallet chart-column
repeat image thumbs-up thumbs-down"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() {  # fetch NAME VERSION -> unpacks into $work/NAME
  local name=$1 version=$2
  (cd "$work" && npm pack --silent "$name@$version" >/dev/null 2>&1)
  mkdir -p "$work/$name"
  tar xzf "$work/${name//\//-}-$version.tgz" -C "$work/$name"
}

fetch htmx.org "$HTMX"
fetch htmx-ext-sse "$HTMX_SSE"
fetch sortablejs "$SORTABLE"
fetch lucide-static "$LUCIDE"
fetch axe-core "$AXE"

mkdir -p static/vendor tests/browser/vendor
cp "$work/htmx.org/package/dist/htmx.min.js" static/vendor/htmx.min.js
cp "$work/htmx-ext-sse/package/dist/sse.min.js" static/vendor/htmx-ext-sse.min.js
cp "$work/sortablejs/package/Sortable.min.js" static/vendor/sortable.min.js
cp "$work/axe-core/package/axe.min.js" tests/browser/vendor/axe.min.js

python3 - "$work/lucide-static/package/icons" static/vendor/icons.svg $ICONS <<'PY'
import re, sys
from pathlib import Path
src, out, names = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
symbols = []
for name in names:
    body = (src / f"{name}.svg").read_text()
    inner = re.search(r"<svg[^>]*>(.*)</svg>", body, re.S).group(1)
    inner = re.sub(r"\s+", " ", inner).strip()
    symbols.append(f'<symbol id="i-{name}" viewBox="0 0 24 24">{inner}</symbol>')
out.write_text(
    "<!-- lucide-static icons, ISC licence; built by scripts/vendor_assets.sh -->\n"
    '<svg xmlns="http://www.w3.org/2000/svg" fill="none" stroke="currentColor" stroke-width="2" '
    'stroke-linecap="round" stroke-linejoin="round">' + "".join(symbols) + "</svg>\n"
)
PY

licence() {  # package.json's licence, else the first line of its LICENSE file
  node -e "const p=require('$work/$1/package/package.json'); const fs=require('fs'); const l=p.license || (fs.readFileSync('$work/$1/package/LICENSE','utf8').split('\\n')[0].trim()); console.log(l)"
}
{
  echo "# file	package	version	licence	sha256 (written by scripts/vendor_assets.sh)"
  for row in "htmx.min.js htmx.org $HTMX" "htmx-ext-sse.min.js htmx-ext-sse $HTMX_SSE" \
             "sortable.min.js sortablejs $SORTABLE" "icons.svg lucide-static $LUCIDE"; do
    set -- $row
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(licence "$2")" "$(sha256sum "static/vendor/$1" | cut -d' ' -f1)"
  done
  printf '%s\t%s\t%s\t%s\t%s\n' "../../tests/browser/vendor/axe.min.js" axe-core "$AXE" "$(licence axe-core)" \
    "$(sha256sum tests/browser/vendor/axe.min.js | cut -d' ' -f1)"
} > static/vendor/VERSIONS
for name in htmx.org htmx-ext-sse sortablejs lucide-static axe-core; do
  for f in LICENSE LICENSE.txt LICENSE.md; do
    if [ -f "$work/$name/package/$f" ]; then cp "$work/$name/package/$f" "static/vendor/LICENSE.$name"; break; fi
  done
done
mv static/vendor/LICENSE.axe-core tests/browser/vendor/LICENSE.axe-core 2>/dev/null || true
cat static/vendor/VERSIONS
