#!/usr/bin/env bash
# Design time against a running rtm (embedded mode, or an Application Manager and a Runtime
# Manager on the same backends): create a library and an application, add a process, an
# enumeration and a media file, a dependency and config defaults, commit, build, and see
# the Runtime Manager serve that build.
#
#   examples/design-tour.sh                       # rtm on localhost:8080, tokens from ./target/release/rtm
#   AM=http://am:8080 RM=http://rm:8080 TOKEN=… examples/design-tour.sh
#
# Needs curl and python3. TOKEN defaults to an operator token from `rtm dev-token --admin`
# (embedded mode); with a real realm, pass a token that holds the Application Manager's and
# the Runtime Manager's roles.
set -euo pipefail

AM="${AM:-http://localhost:8080}"
RM="${RM:-$AM}"
RTM="${RTM:-./target/release/rtm}"
TOKEN="${TOKEN:-$("$RTM" dev-token --sub designer --admin)}"
USER_TOKEN="${USER_TOKEN:-$("$RTM" dev-token --sub bob 2>/dev/null || echo "$TOKEN")}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# call METHOD URL [JSON]: the answer's body; fails (with the body) on a status >= 400.
call() {
  local method="$1" url="$2" body="${3:-}"
  local args=(-sS -X "$method" -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}')
  if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' -d "$body"); fi
  local out status
  out="$(curl "${args[@]}" "$url")"
  status="${out##*$'\n'}"
  out="${out%$'\n'*}"
  if [ "$status" -ge 400 ]; then
    echo "$method $url -> $status: $out" >&2
    exit 1
  fi
  printf '%s' "$out"
}

# field JSON PATH: one field of a JSON answer, e.g. `field "$x" id` or `field "$x" content.0.id`.
field() {
  python3 -c 'import json, sys
value = json.loads(sys.argv[1])
for key in sys.argv[2].split("."):
    value = value[int(key)] if isinstance(value, list) else value[key]
print(value)' "$1" "$2"
}

step() { printf '\n== %s\n' "$*"; }

step "A library with a shared enumeration and a default"
library="$(call POST "$AM/api/applications" '{"name": "Shared data", "type": "LIBRARY"}')"
library_id="$(field "$library" id)"
library_wip="$(field "$(call GET "$AM/api/applications/$library_id/versions")" content.0.id)"
call POST "$AM/api/applications/$library_id/versions/$library_wip/resources/ENUMERATION" \
  '{"name": "countries", "content": {"values": [{"code": "RO", "label": "Romania"}, {"code": "NL", "label": "Netherlands"}]}}' >/dev/null
call PUT "$AM/api/applications/$library_id/versions/$library_wip/config-params/supportEmail" \
  '{"type": "VALUE", "value": "help@example.com"}' >/dev/null
call POST "$AM/api/applications/$library_id/versions/$library_wip/commit" '{"message": "Countries"}' >/dev/null
library_build="$(call POST "$AM/api/applications/$library_id/versions/$library_wip/builds" '{"versionTag": "1.0.0"}')"
library_build_id="$(field "$library_build" buildId)"
echo "library $library_id, build $library_build_id"

step "An application: a media file, a process that shows it, an enumeration"
app="$(call POST "$AM/api/applications" '{"name": "Loan requests", "type": "APPLICATION"}')"
app_id="$(field "$app" id)"
wip="$(field "$(call GET "$AM/api/applications/$app_id/versions")" content.0.id)"
logo="$(curl -sS -H "Authorization: Bearer $TOKEN" -F "file=@$here/builds/loan-origination-1/binaries/$(ls "$here/builds/loan-origination-1/binaries" | head -1)" \
  "$AM/api/applications/$app_id/binaries")"
sha="$(field "$logo" sha256)"
call POST "$AM/api/applications/$app_id/versions/$wip/resources/MEDIA_FILE" \
  "{\"name\": \"logo\", \"content\": {\"file\": \"binaries/$sha\", \"contentType\": \"image/png\"}}" >/dev/null
call POST "$AM/api/applications/$app_id/versions/$wip/resources/PROCESS" \
  "{\"name\": \"loan_request\", \"content\": {\"nodes\": [{\"id\": \"start\", \"type\": \"START_EVENT\"}, {\"id\": \"form\", \"type\": \"USER_TASK\", \"logo\": \"binaries/$sha\"}, {\"id\": \"end\", \"type\": \"END_EVENT\"}]}}" >/dev/null
call POST "$AM/api/applications/$app_id/versions/$wip/resources/ENUMERATION" \
  '{"name": "loan_types", "content": {"values": [{"code": "MORTGAGE"}, {"code": "PERSONAL"}]}}' >/dev/null

step "A dependency on the library build, and config defaults"
call PUT "$AM/api/applications/$app_id/versions/$wip/dependencies/$library_id" "{\"buildId\": \"$library_build_id\"}" >/dev/null
call POST "$AM/api/applications/$app_id/versions/$wip/config-params/import" \
  '[{"key": "maxAmount", "type": "VALUE", "value": "50000"}, {"key": "creditBureauUrl", "type": "ENV", "value": "CREDIT_BUREAU_URL"}]' >/dev/null
call GET "$AM/api/applications/$app_id/versions/$wip/manifest" | python3 -m json.tool

step "Commit and build"
call POST "$AM/api/applications/$app_id/versions/$wip/commit" '{"message": "First release [LOAN-1]"}' | python3 -m json.tool
build="$(curl -sS -X POST -H "Authorization: Bearer $TOKEN" -H 'Idempotency-Key: loan-requests-1' \
  -H 'Content-Type: application/json' -d '{"name": "Loan requests 1", "versionTag": "1.0.0"}' \
  "$AM/api/applications/$app_id/versions/$wip/builds")"
echo "$build" | python3 -m json.tool
build_id="$(field "$build" buildId)"

step "The Runtime Manager serves it: policy, build info, a resource, parameters"
call PUT "$RM/api/build-mgmt/app/$app_id/active-policy" '{"type": "LATEST_ON_BRANCH", "branch": "main"}' >/dev/null
curl -sS -H "Authorization: Bearer $USER_TOKEN" "$RM/api/runtime/app/$app_id/build/info" | python3 -m json.tool
curl -sS -H "Authorization: Bearer $USER_TOKEN" "$RM/api/runtime/app/$app_id/build/$build_id/resources/PROCESS/by-name/loan_request" | python3 -m json.tool
curl -sS -H "Authorization: Bearer $USER_TOKEN" "$RM/api/runtime/app/$app_id/build/$build_id/config-params" | python3 -m json.tool

step "Its archive, ready to import in another installation"
curl -sS -H "Authorization: Bearer $TOKEN" -o /tmp/loan-requests-1.zip "$RM/api/build-mgmt/app/$app_id/builds/$build_id/export"
echo "/tmp/loan-requests-1.zip: $(wc -c </tmp/loan-requests-1.zip) bytes, checksum $(field "$build" checksum)"
