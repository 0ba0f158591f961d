#!/usr/bin/env bash
# Copy Swagger UI, the /docs page's reference UI, from the npm package pinned
# in tools/package.json into platform/openapi/assets/swagger-ui, and record
# its version and each file's SHA-256 in manifest.json there.
#
#   tools/update-docs-ui.sh
#
# The files are committed and embedded in the binary, so that `go build`
# needs no npm. To move to another version: change swagger-ui-dist in
# tools/package.json, run `npm install` in tools/ (which updates the lock
# file), run this script, then `go test ./platform/openapi ./test/contract`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PKG="$ROOT/tools/node_modules/swagger-ui-dist"
DEST="$ROOT/platform/openapi/assets/swagger-ui"

# Only what the page loads, plus the licence texts the Apache-2.0 licence
# asks a redistributor to keep. Not the source maps (4 MB a browser fetches
# only with its developer tools open), nor oauth2-redirect.html (an inline
# script the page's CSP refuses; the API has no OAuth2 flow).
FILES=(swagger-ui-bundle.js swagger-ui.css index.css LICENSE NOTICE)

if [[ ! -f "$PKG/package.json" ]]; then
	printf '%s\n' "swagger-ui-dist is not installed: run  (cd tools && npm ci --ignore-scripts)  first." >&2
	exit 1
fi

version="$(node -p 'require(process.argv[1]).version' "$PKG/package.json")"
pinned="$(node -p 'require(process.argv[1]).devDependencies["swagger-ui-dist"]' "$ROOT/tools/package.json")"
if [[ "$version" != "$pinned" ]]; then
	printf '%s\n' "tools/node_modules has swagger-ui-dist $version but tools/package.json pins $pinned: run  (cd tools && npm ci --ignore-scripts)  first." >&2
	exit 1
fi

rm -rf "$DEST"
mkdir -p "$DEST"
for f in "${FILES[@]}"; do
	cp "$PKG/$f" "$DEST/$f"
done

# manifest.json: what the Go test checks the committed files against.
(cd "$DEST" && sha256sum "${FILES[@]}") |
	node -e '
		const lines = require("fs").readFileSync(0, "utf8").trim().split("\n");
		const files = {};
		for (const l of lines) {
			const [sum, name] = l.split(/\s+\*?/);
			files[name] = sum;
		}
		const m = { package: "swagger-ui-dist", version: process.argv[1], files };
		process.stdout.write(JSON.stringify(m, null, 2) + "\n");
	' "$version" >"$DEST/manifest.json"

echo "copied swagger-ui-dist $version into ${DEST#"$ROOT"/}"
