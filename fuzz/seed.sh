#!/bin/sh
# Fills fuzz/corpus/<target>/ with the seed inputs, from the repository's own files:
#   policy_text, policy_check: every .policy file under policies/ and tests/cases/
#   case_line:                 every line of examples/cases/*.jsonl and tests/cases/**/*.jsonl,
#                              and every .json batch (JSON arrays) under examples/ and tests/cases/
#   eval_structured:           nothing (its input is structured; libFuzzer starts from empty)
# Each seed is named by the SHA-1 of its content, as libFuzzer names corpus files, so running the
# script again adds nothing twice. Run from anywhere: paths are relative to this script.
set -eu
fuzz=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz")
cd "$root"

put() { # put TARGET FILE: copy FILE into the target's corpus under its content hash
  name=$(sha1sum < "$2" | cut -d' ' -f1)
  cp "$2" "$fuzz/corpus/$1/$name"
}

mkdir -p "$fuzz/corpus/policy_text" "$fuzz/corpus/policy_check" \
  "$fuzz/corpus/case_line" "$fuzz/corpus/eval_structured"

find policies tests/cases -type f -name '*.policy' | sort | while read -r file; do
  put policy_text "$file"
  put policy_check "$file"
done

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{ ls examples/cases/*.jsonl; find tests/cases -type f -name '*.jsonl'; } | sort | while read -r file; do
  # Every line, the last one too when it has no newline.
  while IFS= read -r line || [ -n "$line" ]; do
    printf '%s\n' "$line" > "$tmp"
    put case_line "$tmp"
  done < "$file"
done

find examples tests/cases -type f -name '*.json' | sort | while read -r file; do
  put case_line "$file"
done

for target in policy_text policy_check case_line eval_structured; do
  echo "$target: $(ls "$fuzz/corpus/$target" | wc -l) seeds"
done
