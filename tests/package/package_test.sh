#!/usr/bin/env bash
# The Debian package end to end, without installing it (no root, no systemd needed):
# cpack builds radflow_VERSION_ARCH.deb from the build folder $1; dpkg-deb -x unpacks
# it into a throw-away root; then every file the unit and the config name must be
# there, the shipped config must pass radflowd --check-config (its paths re-rooted),
# postinst must create the radflow user, and systemd-analyze verify must accept the
# unit where systemd-analyze is installed.
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "package test: $*" >&2; exit 1; }

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
arch=$(dpkg --print-architecture)
(cd "$build" && cpack -G DEB -B "$work/out") >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log" >&2; fail "cpack failed"; }
deb="$work/out/radflow_${version}_${arch}.deb"
[[ -f "$deb" ]] || fail "no $deb; cpack made: $(ls "$work/out")"

# Control: name, version, Debian dependencies (adduser for postinst, the shared
# libraries the binaries link, as Debian package names).
control=$(dpkg-deb -f "$deb")
grep -qx "Package: radflow" <<<"$control" || fail "package name: $control"
grep -qx "Version: $version" <<<"$control" || fail "version: $control"
depends=$(dpkg-deb -f "$deb" Depends)
for dep in adduser libsqlite3-0 libc6; do
  grep -q "\b$dep\b" <<<"$depends" || fail "Depends lacks $dep: $depends"
done

root="$work/root"
dpkg-deb -x "$deb" "$root"
mkdir "$work/ctrl"
dpkg-deb -e "$deb" "$work/ctrl"

# The unit: its binary, its user, its data folder, its config.
unit="$root/usr/lib/systemd/system/radflowd.service"
[[ -f "$unit" ]] || fail "no unit at /usr/lib/systemd/system/radflowd.service"
for line in User=radflow Group=radflow StateDirectory=radflow WorkingDirectory=/var/lib/radflow \
            ProtectSystem=strict NoNewPrivileges=yes KillMode=mixed; do
  grep -qx "$line" "$unit" || fail "the unit lacks $line"
done
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
binary=${exec_start%% *}
[[ -x "$root$binary" ]] || fail "ExecStart's $binary is not in the package"
config=$(sed -n 's/.*--config \([^ ]*\).*/\1/p' <<<"$exec_start")
[[ -n "$config" && -f "$root$config" ]] || fail "the config $config of ExecStart is not in the package"
grep -qx "$config" "$work/ctrl/conffiles" || fail "$config is not a conffile"
grep -q "adduser --system" "$work/ctrl/postinst" || fail "postinst makes no system user"
grep -q "radflow" "$work/ctrl/postinst" || fail "postinst does not name radflow"
sh -n "$work/ctrl/postinst" && sh -n "$work/ctrl/prerm" && sh -n "$work/ctrl/postrm"

# The config: the folders it names are where the package put things.
setting() {  # the value of a top-level string key of the config (comments stripped)
  python3 -c 'import json, re, sys
text = re.sub(r"(?m)^\s*//.*$|\s//.*$", "", open(sys.argv[1]).read())
print(json.loads(text)[sys.argv[2]])' "$root$config" "$1"
}
plugin_dir=$(setting plugin_dir)
worker=$(setting worker)
data_dir=$(setting data_dir)
[[ "$data_dir" == /var/lib/radflow ]] || fail "config data_dir $data_dir is not the unit's StateDirectory"
[[ -x "$root$worker" ]] || fail "config worker $worker is not in the package"
ls "$root$plugin_dir"/*.so >/dev/null 2>&1 || fail "config plugin_dir $plugin_dir holds no plugin"
for f in usr/bin/radflowd usr/bin/radflow usr/bin/radflow-worker usr/share/doc/radflow/service.md \
         usr/include/radflow/plugin.h usr/lib/cmake/radflow/radflowConfig.cmake; do
  [[ -e "$root/$f" ]] || fail "/$f is not in the package"
done

# The shipped config is valid for the shipped radflowd (paths moved into the root).
"$root$binary" --config "$root$config" --plugin-dir "$root$plugin_dir" --worker "$root$worker" \
  --data-dir "$work/data" --gpus none --check-config >"$work/check.json" 2>"$work/check.err" ||
  { cat "$work/check.err" >&2; fail "radflowd --check-config refuses the shipped config"; }
[[ ! -e "$work/data" ]] || fail "--check-config created the data folder"

if command -v systemd-analyze >/dev/null; then
  sed "s#/usr/bin/#$root/usr/bin/#g" "$unit" >"$work/radflowd.service"
  # verify exits 0 on unknown keys and bad values ("ignoring"): any word from it fails.
  if ! systemd-analyze verify --man=no "$work/radflowd.service" >"$work/verify.log" 2>&1 ||
     [[ -s "$work/verify.log" ]]; then
    cat "$work/verify.log" >&2
    fail "systemd-analyze verify refuses the unit"
  fi
else
  echo "package test: systemd-analyze not installed, unit not verified"
fi
echo "package test: $(basename "$deb") ($(du -h "$deb" | cut -f1)) ok; Depends: $depends"
