#!/usr/bin/env bash
# Print a working Python 3.10 interpreter (rasa 3.6 needs >=3.8,<3.11); pyenv's bare shim may refuse.
for candidate in python3.10 "$(pyenv root 2>/dev/null)"/versions/3.10.*/bin/python /usr/bin/python3.10; do
  if [ -x "$(command -v "$candidate" 2>/dev/null)" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
    command -v "$candidate"; exit 0
  fi
done
exit 1
