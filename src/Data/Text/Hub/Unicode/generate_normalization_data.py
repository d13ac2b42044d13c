#!/usr/bin/env python3
"""Writes normalization_data.txt.gz for UnicodeNormalization.cs from Python's unicodedata (the Unicode
Character Database; the version is on the first line). .NET's own normalization is off here
(InvariantGlobalization), so MultiLora carries the tables. Lines: hex code point; canonical combining
class; 'c' (canonical) or 'k' (compatibility) or '-' (none); decomposition as hex code points; then
'x' when the code point is a canonical decomposition that must not be recomposed (composition exclusion)."""
import gzip, os, sys, unicodedata

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "normalization_data.txt.gz")
lines = [f"# unicode {unicodedata.unidata_version}"]
for cp in range(0x110000):
    if 0xD800 <= cp <= 0xDFFF or 0xAC00 <= cp <= 0xD7A3:  # surrogates; Hangul syllables are algorithmic
        continue
    ch = chr(cp)
    ccc = unicodedata.combining(ch)
    d = unicodedata.decomposition(ch)
    if not d and not ccc:
        continue
    kind, parts = "-", []
    if d:
        fields = d.split()
        if fields[0].startswith("<"):
            kind, parts = "k", fields[1:]
        else:
            kind, parts = "c", fields
    excluded = ""
    if kind == "c":
        # Primary composites recompose under NFC; singletons, non-starter decompositions and exclusions do not.
        decomposed = "".join(chr(int(p, 16)) for p in parts)
        if unicodedata.normalize("NFC", decomposed) != ch:
            excluded = "x"
    lines.append(f"{cp:X};{ccc};{kind};{' '.join(parts)};{excluded}")
with gzip.open(out, "wt", encoding="ascii", compresslevel=9) as f:
    f.write("\n".join(lines) + "\n")
print(f"{out}: {len(lines) - 1} entries, unicode {unicodedata.unidata_version}", file=sys.stderr)
