#!/usr/bin/env bash
# Regenerates the PNG icons from icon.svg / tray-alert.svg (needs librsvg2-bin).
# The PNGs are committed; run this only after editing the SVGs.
set -euo pipefail
cd "$(dirname "$0")"
r() { rsvg-convert -w "$2" -h "$2" "$1" -o "$3"; }
r icon.svg 32 32x32.png
r icon.svg 128 128x128.png
r icon.svg 256 128x128@2x.png
r icon.svg 512 icon.png
r icon.svg 64 tray.png
r tray-alert.svg 64 tray-alert.png
