#!/usr/bin/env bash
# Rewrites the generated seeds in tests/fuzz/corpus/ (see make_seeds.py and
# make_dicom_seeds.cpp). The DICOM writer is compiled here with g++ against DCMTK and
# OpenJPEG, the libraries the image tests use.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
python3 "$here/make_seeds.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
g++ -std=c++17 -O1 -I"$repo" -I/usr/include/openjpeg-2.5 \
  "$here/make_dicom_seeds.cpp" "$repo/tests/ml/image/test_dicom.cpp" -o "$work/make_dicom_seeds" \
  -ldcmjpls -ldcmjpeg -ldcmimage -ldcmimgle -ldcmdata -loflog -lofstd -lopenjp2 -lz
mkdir -p "$here/../corpus/dicom"
"$work/make_dicom_seeds" "$here/../corpus/dicom"
