#!/bin/sh
# Builds an asn1c 0.9.28 UPER codec of one CSAE message set, linked with our
# driver (scripts/asn1c/driver.c), for use as a second-opinion codec and as the
# C baseline of the codec benchmark.
#
#   scripts/asn1c/build.sh SET [WORKROOT]
#
#   SET       csae2019 | csae2020 (a directory codecs/sets/SET of .asn files),
#             or a path to a directory of .asn files
#   WORKROOT  where build directories go; default: $RSU_ASN1C_WORK_DIR or
#             <repo>/bench/work (gitignored). Generated code is never committed.
#
# The build lands in WORKROOT/asn1c-<name>/<key>/ where <key> is a hash of the
# .asn files, driver.c, this script, the asn1c and cc versions and the flags,
# so a repeated call with unchanged inputs reuses it ("cached": true). Builds of
# the same set are serialised with flock; each build is made in a temporary
# directory and renamed into place, so a half-built directory is never used.
#
# stdout: one JSON line
#   {"set":..,"dir":..,"driver":..,"key":..,"cached":bool,"asn1cSec":..,"ccSec":..,"totalSec":..}
# stderr: progress; asn1c and cc logs are kept in the build directory.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

[ $# -ge 1 ] || { echo "usage: $0 SET [WORKROOT]" >&2; exit 64; }
set_arg=$1
if [ -d "$set_arg" ]; then
	set_dir=$(cd "$set_arg" && pwd)
else
	set_dir="$repo/codecs/sets/$set_arg"
fi
[ -d "$set_dir" ] || { echo "no such module set: $set_arg ($set_dir)" >&2; exit 66; }
set_name=$(basename "$set_dir")
work_root=${2:-${RSU_ASN1C_WORK_DIR:-$repo/bench/work}}

ASN1C=${ASN1C:-asn1c}
CC=${CC:-cc}
CFLAGS=${ASN1C_CFLAGS:--O2}
ASN1C_FLAGS="-gen-PER -fcompound-names -pdu=auto"
PDU=MessageFrame

command -v "$ASN1C" >/dev/null 2>&1 || { echo "asn1c not found" >&2; exit 69; }
command -v "$CC" >/dev/null 2>&1 || { echo "C compiler '$CC' not found" >&2; exit 69; }

ls "$set_dir"/*.asn >/dev/null 2>&1 || { echo "no .asn files in $set_dir" >&2; exit 66; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# ---- cache key
asn1c_version=$("$ASN1C" -h 2>&1 | head -n 1 || true)
cc_version=$("$CC" --version 2>/dev/null | head -n 1 || true)
key=$(
	{
		echo "asn1c=$asn1c_version"
		echo "cc=$cc_version"
		echo "cflags=$CFLAGS"
		echo "asn1cflags=$ASN1C_FLAGS"
		echo "pdu=$PDU"
		for f in $(cd "$set_dir" && ls *.asn | LC_ALL=C sort); do
			echo "file=$f $(sha256sum < "$set_dir/$f" | cut -c1-64)"
		done
		echo "driver=$(sha256sum < "$here/driver.c" | cut -c1-64)"
		echo "build=$(sha256sum < "$here/build.sh" | cut -c1-64)"
	} | sha256sum | cut -c1-16
)

base="$work_root/asn1c-$set_name"
dest="$base/$key"
mkdir -p "$base"

json() {
	printf '{"set":"%s","dir":"%s","driver":"%s","key":"%s","cached":%s,"asn1cSec":%s,"ccSec":%s,"totalSec":%s}\n' \
		"$set_name" "$dest" "$dest/driver" "$key" "$1" "$2" "$3" "$4"
}

# Serialise builds of one set (two test processes may start at once).
exec 9>"$base/.lock"
flock 9

if [ -x "$dest/driver" ] && [ -f "$dest/build.json" ]; then
	# cached: report the times of the original build
	t=$(cat "$dest/build.json")
	a=$(printf '%s' "$t" | sed -n 's/.*"asn1cSec":\([0-9.]*\).*/\1/p')
	c=$(printf '%s' "$t" | sed -n 's/.*"ccSec":\([0-9.]*\).*/\1/p')
	s=$(printf '%s' "$t" | sed -n 's/.*"totalSec":\([0-9.]*\).*/\1/p')
	json true "${a:-0}" "${c:-0}" "${s:-0}"
	exit 0
fi

tmp="$base/.tmp-$key-$$"
rm -rf "$tmp"
mkdir -p "$tmp/gen"
trap 'rm -rf "$tmp"' EXIT INT TERM

t0=$(now)
echo "asn1c: compiling $set_dir -> $dest" >&2
(
	cd "$tmp/gen"
	# 0.9.28 has no -no-gen-example: it always copies converter-sample.c, which
	# we leave out of the build below.
	# shellcheck disable=SC2086
	"$ASN1C" $ASN1C_FLAGS "$set_dir"/*.asn
) > "$tmp/asn1c.log" 2>&1 || {
	echo "asn1c failed; its output:" >&2
	grep -v '^Copied\|^Compiled\|^Generated\|^Symlinked' "$tmp/asn1c.log" >&2 || true
	exit 65
}
t1=$(now)

jobs=$(nproc 2>/dev/null || echo 2)
echo "cc: compiling $(ls "$tmp/gen"/*.c | grep -vc '/converter-sample\.c$') generated files + driver.c with $CC $CFLAGS ($jobs jobs)" >&2
(
	cd "$tmp/gen"
	cp "$here/driver.c" ../driver.c
	# shellcheck disable=SC2086
	ls *.c | grep -v '^converter-sample\.c$' | \
		xargs -P "$jobs" -n 8 "$CC" $CFLAGS -w -I. -DPDU=$PDU -c
	"$CC" $CFLAGS -Wall -Wextra -Wno-unused-parameter -I. -DPDU=$PDU -c ../driver.c -o ../driver.o
	"$CC" $CFLAGS -o ../driver ../driver.o $(ls *.o) -lm
) > "$tmp/cc.log" 2>&1 || {
	echo "cc failed; its output:" >&2
	tail -n 40 "$tmp/cc.log" >&2
	exit 65
}
t2=$(now)

asn1c_sec=$(elapsed "$t0" "$t1")
cc_sec=$(elapsed "$t1" "$t2")
total_sec=$(elapsed "$t0" "$t2")
rm -f "$tmp/gen"/*.o
"$tmp/driver" info > /dev/null
printf '{"asn1cSec":%s,"ccSec":%s,"totalSec":%s,"asn1c":"%s","cc":"%s","cflags":"%s","set":"%s"}\n' \
	"$asn1c_sec" "$cc_sec" "$total_sec" "$asn1c_version" "$cc_version" "$CFLAGS" "$set_dir" > "$tmp/build.json"

rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT INT TERM
# drop builds of this set made from older inputs
for old in "$base"/*; do
	[ "$old" = "$dest" ] || rm -rf "$old"
done
echo "built $dest/driver in ${total_sec}s (asn1c ${asn1c_sec}s, cc ${cc_sec}s)" >&2
json false "$asn1c_sec" "$cc_sec" "$total_sec"
