#!/usr/bin/env python3
"""Builds assets/pinyin/char_freq.tsv, the character frequencies that rank the on-screen
pinyin keyboard's candidates (src/pinyin/dict.rs), from jieba's word list (MIT).

    python3 deploy/pinyin-freq.py JIEBA_DICT [OUT]

JIEBA_DICT is jieba's `extra_dict/dict.txt.small` (or `jieba/dict.txt`): one word a line,
`word frequency [part-of-speech]`. A character's frequency is the sum of the frequencies
of the words it occurs in (once per occurrence). Only CJK Unified Ideographs (U+4E00 to
U+9FFF) are kept. Characters outside GB 2312 (the 6763 common simplified ideographs)
count a twentieth: the list gives some rare and traditional ones frequencies they do not
have in names (繖 and 潵 would come before 叁 for san), yet keeps rare name characters
such as 喆 and 堃 typeable. The ideographs of GB 2312 that the list lacks are added with
frequency 1, so every character of that standard can be typed (last on its page).
Output: `char<TAB>frequency`, most frequent first, ties by code point."""
import collections, pathlib, sys

def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    src = pathlib.Path(sys.argv[1])
    out = pathlib.Path(sys.argv[2]) if len(sys.argv) == 3 else (
        pathlib.Path(__file__).resolve().parent.parent / "assets/pinyin/char_freq.tsv")
    freq = collections.Counter()
    for line in src.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        for c in parts[0]:
            if "\u4e00" <= c <= "\u9fff":
                freq[c] += int(parts[1])
    # GB 2312 rows 16-87 are the ideographs (level 1: 16-55, level 2: 56-87).
    gb2312 = set()
    for row in range(0xB0, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                c = bytes([row, cell]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            if "\u4e00" <= c <= "\u9fff":
                gb2312.add(c)
    for c in list(freq):
        if c not in gb2312:
            freq[c] = max(1, freq[c] // 20)
    for c in gb2312:
        if freq[c] == 0:
            freq[c] = 1
    rows = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))
    out.write_text("".join(f"{c}\t{n}\n" for c, n in rows), encoding="utf-8")
    print(f"{out}: {len(rows)} characters")

if __name__ == "__main__":
    main()
