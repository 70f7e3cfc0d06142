#!/bin/bash
# Experiment (issue 24): `haad eval stream --recordings` on every recording-set file of DIR (from
# make_recordings.py; the file stem is the normal label): the encoder's and raw-DCT's rows.
# usage: docs/experiments/2026-12-06-enrolment-variants/recordings_eval.sh DIR   (from the repository root)
for f in $1/*.npz; do n=$(basename $f .npz); normal=$(echo $n | sed 's/_v0[123]$//'); 
  .venv/bin/haad eval stream --recordings $f --normal "$normal" --out $1/out > $1/$n.log 2>&1 || echo FAIL $f
  echo "== $n"; grep -E "^\| (encoder|raw-dct)" $1/$n.log | cut -d'|' -f2-5,7,12,13
done
