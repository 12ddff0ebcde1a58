#!/usr/bin/env python3
"""Writes the hand-made seeds of test/fuzz/corpus/ (files named seed-*).

    python3 test/fuzz/make-seeds.py

Each seed is spelled out below in the input format its target documents
at the top of its source file.  Reproducers of past findings (bug-*,
other names) are kept as files and are not generated here.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def u16(v):
    return struct.pack('>H', v & 0xffff)


# --- fuzz-evbuffer-ops ----------------------------------------------------
(ADD, PRINTF, PREPEND, DRAIN, REMOVE, COPYOUT, COPYOUT_FROM, PULLUP, EXPAND,
 RESERVE, ADD_BUFFER, PREPEND_BUFFER, REMOVE_BUFFER, REFERENCE, SEARCH,
 SEARCH_RANGE, PTR, PEEK, READLN, SEARCH_EOL, FREEZE, IO) = range(22)
EOL_ANY, EOL_CRLF, EOL_CRLF_STRICT, EOL_LF, EOL_NUL = range(5)


def op(code, side=0):
    return bytes([code | (0x80 if side else 0)])


def raw(data):
    assert len(data) < 128
    return bytes([(len(data) << 1) | 1]) + data


def gen(seed, n):
    return bytes([(seed << 1) & 0xff]) + u16(n)


def add(data, side=0):
    return op(ADD, side) + raw(data)


def ref(data, side=0):
    return op(REFERENCE, side) + raw(data)


def prepend(data, side=0):
    return op(PREPEND, side) + raw(data)


def readln(style, side=0, want_n=True):
    return op(READLN, side) + bytes([style | (8 if want_n else 0)])


def freeze(front, undo=False, side=0):
    return op(FREEZE, side) + bytes([(1 if front else 0) | (2 if undo else 0)])


def search(needle, start=None, end=None, ranged=False, side=0):
    mode = (2 if start is not None else 0) | (4 if end is not None else 0)
    b = op(SEARCH_RANGE if ranged else SEARCH, side) + bytes([mode])
    b += bytes([len(needle) - 1]) + needle
    if start is not None:
        b += u16(start)
    if ranged and end is not None:
        b += u16(end)
    return b


OPS = {
    'empty': b'',
    'crlf-split-refs': b''.join(ref(bytes([c])) for c in b'ab\r\ncd\r\r\n\n') +
        readln(EOL_CRLF) + readln(EOL_CRLF) + readln(EOL_CRLF) +
        readln(EOL_CRLF),
    'crlf-strict-split': add(b'x\r') + op(ADD_BUFFER, 1) + ref(b'\ny\r', 1) +
        ref(b'\n', 1) + op(ADD_BUFFER) + readln(EOL_CRLF_STRICT) +
        readln(EOL_CRLF_STRICT) + readln(EOL_CRLF_STRICT),
    'any-runs-across-chains': ref(b'a\r') + ref(b'\n\r') + ref(b'\nb\n') +
        ref(b'\n') + readln(EOL_ANY) + readln(EOL_ANY) + readln(EOL_ANY),
    'lf-and-nul': add(b'one\x00two\nthree\x00') + readln(EOL_NUL) +
        readln(EOL_LF) + readln(EOL_NUL, want_n=False) + readln(EOL_NUL),
    'http-request': add(b'GET / HTTP/1.1\r') + ref(b'\nHost: a\r\n') +
        prepend(b'\r\n') + readln(EOL_CRLF) + readln(EOL_CRLF) +
        readln(EOL_CRLF) + readln(EOL_CRLF) + readln(5),
    'prepend-pullup': add(b'world') + prepend(b'hello ') + prepend(b'>') +
        ref(b'!') + op(PULLUP) + bytes([2]) + u16(9) + op(PULLUP) +
        bytes([0]) + op(PULLUP) + bytes([1]) + op(COPYOUT_FROM) + u16(3) +
        u16(100),
    'frozen-refusals': add(b'data\n') + freeze(True) + freeze(False) +
        add(b'x') + prepend(b'y') + op(DRAIN) + u16(1) + op(REMOVE) + u16(2) +
        readln(EOL_LF) + op(RESERVE) + u16(10) + bytes([0, 0]) +
        op(ADD_BUFFER, 1) + op(PREPEND_BUFFER, 1) + op(IO) + bytes([3]) +
        freeze(True, True) + freeze(False, True) + readln(EOL_LF),
    'frozen-empty-moves': freeze(True) + freeze(False) + op(DRAIN) + u16(5) +
        op(ADD_BUFFER) + op(ADD_BUFFER, 1) + op(PREPEND_BUFFER) +
        op(PREPEND_BUFFER, 1) + op(REMOVE_BUFFER, 1) + u16(3),
    'reserve-two-vecs': add(b'abc') + op(RESERVE) + u16(3000) +
        bytes([1 | 4, ord('z')]) + u16(2500) + op(RESERVE) + u16(100) +
        bytes([2, ord('q')]) + u16(100) + op(RESERVE) + u16(0) +
        bytes([1, 0]) + readln(EOL_ANY),
    'io-roundtrip': op(ADD) + gen(3, 6000) + op(IO) + bytes([0]) + u16(5000) +
        u16(700) + op(IO) + bytes([1 | 2 | 4]) + op(IO, 1) + bytes([3]) +
        freeze(False, side=1) + op(IO) + bytes([3]),
    'search-across-chains': ref(b'xxab') + ref(b'c') + ref(b'dab') +
        add(b'cd\r\n') + search(b'abcd') + search(b'abcd', start=1) +
        search(b'abcd', start=3) + search(b'cd', 0, 7, ranged=True) +
        search(b'cd', 0, 8, ranged=True) + search(b'\r\n', start=9) +
        op(PTR) + u16(5) + u16(3) + op(PTR) + u16(12) + u16(0) +
        op(PTR) + u16(11) + u16(2),
    'peek-variants': ref(b'ab') + ref(b'cd') + add(b'ef') + op(PEEK) +
        bytes([4]) + u16(5) + op(PEEK) + bytes([2 | 16]) + op(PEEK) +
        bytes([0 | 16]) + op(PEEK) + bytes([3 | 8]) + u16(3) + u16(1) +
        op(PEEK) + bytes([1 | 8]) + u16(0) + u16(6),
    'printf-wide': op(PRINTF) + bytes([0]) + u16(0) + u16(0) + bytes([3]) +
        b'abc' + op(PRINTF) + bytes([1]) + u16(0x8001) + u16(0) +
        bytes([0]) + op(PRINTF) + bytes([2]) + u16(0) + u16(2999) +
        bytes([5]) + b'x\x00yz\n' + readln(EOL_LF),
    'remove-buffer-partial': ref(b'0123') + ref(b'4567') + add(b'89') +
        op(REMOVE_BUFFER) + u16(5) + op(REMOVE_BUFFER) + u16(0) +
        op(REMOVE_BUFFER) + u16(100) + op(PREPEND_BUFFER, 1) +
        op(ADD_BUFFER) + op(COPYOUT) + u16(4),
    'search-eol-starts': add(b'a\r\nb\n\rc\r') + op(SEARCH_EOL) +
        bytes([EOL_CRLF | 8]) + u16(2) + op(SEARCH_EOL) +
        bytes([EOL_ANY | 8]) + u16(4) + op(SEARCH_EOL) +
        bytes([EOL_CRLF_STRICT | 8]) + u16(7) + op(SEARCH_EOL) +
        bytes([EOL_LF | 8]) + u16(8) + op(SEARCH_EOL) + bytes([5]),
    'drain-everything': op(ADD) + gen(1, 4000) + ref(b'tail') +
        op(DRAIN) + u16(3999) + op(DRAIN) + u16(0xffff) + op(EXPAND) +
        u16(5000) + add(b'after') + op(REMOVE) + u16(99),
}

# --- fuzz-evbuffer-readln ---------------------------------------------------
# opts: bits 0-2 drain, bits 3-5 needle length; chunks: len | kind << 6


def chunks(*parts):
    return b''.join(bytes([len(p) | (k << 6)]) + p for k, p in parts)


def rl(drain, needle, *parts):
    return bytes([drain | (len(needle) << 3)]) + needle + chunks(*parts)


READLN = {
    'empty': b'',
    'one-chain': rl(0, b'', (2, b'line1\r\nline2\nline3\r\rx')),
    'crlf-split': rl(0, b'\r\n', (0, b'abc\r'), (1, b'\ndef\r\n'), (0, b'g')),
    'cr-then-lf-chains': rl(0, b'', (1, b'\r'), (1, b'\n'), (1, b'\r'),
                            (0, b'\r'), (3, b'\n\n'), (1, b'z')),
    'bytewise': rl(0, b'b\r\n', *[(i % 4, bytes([c]))
                                  for i, c in enumerate(b'a\r\n\r\nb\n\rc')]),
    'any-runs': rl(0, b'', (1, b'x\r'), (1, b'\r'), (0, b'\n\n'),
                   (1, b'y\n'), (2, b'\r')),
    'nul-lines': rl(0, b'\x00', (1, b'one\x00'), (0, b'\x00two'),
                    (1, b'\x00')),
    'drain-misaligned': rl(5, b'', (0, b'abcdef\r'), (1, b'\n'),
                           (3, b'gh\r\n')),
    'needle-across': rl(0, b'abc', (1, b'xa'), (1, b'b'), (0, b'cy'),
                        (3, b'zab'), (1, b'c')),
    'trailing-cr': rl(0, b'', (1, b'no end\r')),
    'empty-chunks': rl(0, b'', (1, b''), (0, b''), (2, b'a\n'), (3, b''),
                       (1, b'\r\n')),
    'long-chunks': rl(0, b'\n', (2, b'x' * 60 + b'\r\n'), (1, b'y' * 63),
                      (0, b'\n' + b'z' * 62)),
}

# --- fuzz-parse-sockaddr ----------------------------------------------------
# byte 0: bits 0-1 outlen of the first string (storage, sockaddr_in,
# sockaddr_in6, sockaddr_in6 - 1), bits 2-3 the second's; then the text.
SOCK = {
    'empty': b'',
    'v4': b'\x001.2.3.4',
    'v4-port': b'\x00127.0.0.1:8080',
    'v4-port-zero': b'\x001.2.3.4:0',
    'v4-port-max': b'\x001.2.3.4:65535',
    'v4-port-over': b'\x001.2.3.4:65536',
    'v4-port-huge': b'\x001.2.3.4:99999999999999999999',
    'v4-port-empty': b'\x001.2.3.4:',
    'v4-port-sign': b'\x001.2.3.4:+80',
    'v4-port-lead0': b'\x001.2.3.4:0080',
    'v4-lead0': b'\x00010.001.0.1',
    'v4-bad': b'\x00256.1.1.1',
    'v4-short': b'\x001.2.3',
    'v4-long': b'\x001.2.3.4.5',
    'v4-space': b'\x00 1.2.3.4',
    'v4-digits': b'\x001111.2.3.4',
    'v6-loop': b'\x00::1',
    'v6-any': b'\x00::',
    'v6-bracket': b'\x00[::1]',
    'v6-bracket-port': b'\x00[::1]:8080',
    'v6-bracket-port0': b'\x00[::1]:0',
    'v6-bracket-over': b'\x00[::1]:65536',
    'v6-bracket-junk': b'\x00[::1]x',
    'v6-bracket-open': b'\x00[::1',
    'v6-bracket-empty': b'\x00[]:80',
    'v6-bracket-v4': b'\x00[1.2.3.4]:80',
    'v6-scope-name': b'\x00fe80::1%lo',
    'v6-scope-bracket': b'\x00[fe80::1%lo]:80',
    'v6-scope-num': b'\x00fe80::1%2',
    'v6-scope-max': b'\x00[fe80::1%4294967295]:1',
    'v6-scope-over': b'\x00fe80::1%4294967296',
    'v6-scope-empty': b'\x00fe80::1%',
    'v6-scope-bad': b'\x00fe80::1%no-such-if0',
    'v6-mapped': b'\x00[::ffff:192.0.2.1]:443',
    'v6-full': b'\x001:2:3:4:5:6:7:8',
    'v6-nine': b'\x001:2:3:4:5:6:7:8:9',
    'v6-two-gaps': b'\x001::2::3',
    'v6-port-looking': b'\x00::1:80',
    'v6-small-out': b'\x01[::1]:80',
    'v6-out-minus1': b'\x03[::1]:80',
    'v6-out-exact': b'\x02[fe80::1%1]:9',
    'pair-v4-ports': b'\x001.2.3.4:80\x001.2.3.4:81',
    'pair-v4-v6': b'\x00[::1]:1\x00127.0.0.1:1',
    'pair-v6-addrs': b'\x00[::2]:5\x00[::1]:6',
    'raw-bytes': bytes(range(20)),
    'raw-mapped': b'\x00' + bytes(10) + b'\xff\xff\xc0\x00\x02\x01\x00',
}


def write(target, seeds):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, 'seed-' + name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    write('evbuffer-ops', OPS)
    write('evbuffer-readln', READLN)
    write('parse-sockaddr', SOCK)
