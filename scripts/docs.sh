#!/usr/bin/env bash
# Builds the documentation of every library module with DocC (swift-docc-plugin) into one combined archive, and
# fails on a DocC warning (a broken symbol link, a topic that names nothing) or on a public symbol declared in
# Sources/ without a documentation comment.
#
#   scripts/docs.sh     # the archive: .build/plugins/Swift-DocC/outputs/<package>.doccarchive
#
# Links between modules are written from the root, ``/Stash/StoreError``: each module's documentation is built
# with the others as dependencies, and a relative link does not reach them.
set -euo pipefail
cd "$(dirname "$0")/.."

modules=(Stash StashMiddleware StashRedis StashPostgres StashHummingbird StashVapor StashTesting StashConfiguration)
arguments=()
for module in "${modules[@]}"; do arguments+=(--target "$module"); done
start=$SECONDS
swift package generate-documentation --enable-experimental-combined-documentation "${arguments[@]}" --warnings-as-errors
echo "==> documentation built in $((SECONDS - start)) s"

# The symbol graphs the plugin extracted for the archive: every public declaration of ours has a comment.
python3 - "$PWD/Sources/" "${modules[@]}" <<'PYTHON'
import glob, json, sys

sources, modules = sys.argv[1], sys.argv[2:]
missing = []
for module in modules:
    graphs = glob.glob(f".build/*/extracted-symbols/*/{module}/*.symbols.json")
    if not graphs:
        sys.exit(f"no symbol graph for {module}: did the documentation build run?")
    for path in graphs:
        for symbol in json.load(open(path))["symbols"]:
            location = symbol.get("location", {})
            # Declarations only: an extension block documents nothing itself.
            if symbol.get("accessLevel") not in ("public", "open") or symbol["kind"]["identifier"] == "swift.extension":
                continue
            if not location.get("uri", "").startswith("file://" + sources) or symbol.get("docComment"):
                continue
            file = location["uri"][len("file://" + sources):]
            missing.append(f"{file}:{location['position']['line'] + 1}: {'.'.join(symbol['pathComponents'])} has no documentation comment")
for line in sorted(set(missing)):
    print(line)
if missing:
    sys.exit(f"{len(set(missing))} public symbols without documentation")
print(f"==> every public symbol of {len(modules)} modules is documented")
PYTHON
