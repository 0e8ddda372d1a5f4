#!/bin/sh
# t0100-gguf: lib/gguf against the PyPI gguf reader (golden dumps made by
# t/data/gguf/gen-golden.py, see t/data/gguf/README), then malformed files:
# each must fail with exit 1 and one line "FILE: <what> at offset N".
. "${0%/*}/lib.sh"

DUMP=t/unit/gguf-dump
D=t/data/gguf

# -- golden dumps -----------------------------------------------------------
for f in types quants vocab-only v2 edge; do
	run $DUMP $D/$f.gguf
	expect_status 0 "dump $f.gguf"
	test_cmp $D/$f.dump "$TRASH/out" "$f.gguf matches gguf.GGUFReader"
done
run $DUMP "$STORIES"
expect_status 0 "dump stories260K.gguf"
test_cmp $D/stories260K.dump "$TRASH/out" "stories260K.gguf matches gguf.GGUFReader"
if [ -f "$MODEL_SMOL" ]; then
	run $DUMP "$MODEL_SMOL"
	expect_status 0 "dump SmolLM2-135M-Instruct.Q4_1.gguf"
	test_cmp $D/SmolLM2-135M-Instruct.Q4_1.dump "$TRASH/out" "SmolLM2 matches gguf.GGUFReader"
else
	skip "SmolLM2 golden dump: $MODEL_SMOL absent (make model fetches it)"
fi

# -- typed getters and lookups (values from the golden dumps) ---------------
get() { # get FILE KIND NAME WANT-STATUS WANT-STDOUT
	run $DUMP -g "$1" "$2" "$3"
	expect_status "$4" "get $2 $3: exit $4"
	is "$(cat "$TRASH/out")" "$5" "get $2 $3 = $5"
}
get $D/types.gguf u64 s.u64 0 18446744073709551615
get $D/types.gguf u64 s.u8 0 255
get $D/types.gguf i64 s.i64 0 -9223372036854775808
get $D/types.gguf i64 s.u32 0 4294967295
get $D/types.gguf u64 s.i16 1 ""
like "$TRASH/err" "^gguf-dump: error: $D/types.gguf: key 's.i16' has type int16, not a non-negative integer at offset [0-9]+$" "negative int is not a u64"
get $D/types.gguf i64 s.u64 1 ""
like "$TRASH/err" "key 's.u64' has type uint64, not an integer that fits int64 at offset" "2^64-1 is not an i64"
get $D/types.gguf f64 s.f64 0 3.1415926535897931
get $D/types.gguf f64 s.f32 0 0.10000000149011612
get $D/types.gguf f64 s.str 1 ""
like "$TRASH/err" "key 's.str' has type string, not a float at offset" "string is not a float"
get $D/types.gguf bool s.true 0 true
get $D/types.gguf bool s.u8 1 ""
get $D/types.gguf str s.nul 0 '"a\x00b\x00"'
get $D/types.gguf str s.u8 1 ""
get $D/types.gguf u64 no.such.key 0 absent
get $D/types.gguf tensor t.q6_k 0 "Q6_K nbytes=420"
get $D/types.gguf tensor t.nope 0 absent
get "$STORIES" u64 llama.block_count 0 5
get "$STORIES" tensor blk.4.ffn_down.weight 0 "F32 nbytes=44032"

# -- every proper prefix fails cleanly (in memory, exact-size buffers) ------
for f in quants v2; do
	run $DUMP -p $D/$f.gguf
	expect_status 0 "every prefix of $f.gguf fails with one line 'at offset N', N <= length"
	is "$(wc -l <"$TRASH/out")" "$(wc -c <$D/$f.gguf)" "$f.gguf: one result per prefix"
done
# ... and through q_gguf_open (mmap) for a few cut points of quants.gguf
for n in 1 4 23 24 100 1150 1300 4113; do
	head -c $n $D/quants.gguf >"$TRASH/cut.gguf"
	run $DUMP "$TRASH/cut.gguf"
	expect_status 1 "quants.gguf cut at $n bytes: exit 1"
	one_line_error "$TRASH/err" gguf-dump "quants.gguf cut at $n bytes: one line"
done
like "$TRASH/err" "cut.gguf: tensor 'q.q1_0': data \[2416, \+18\) past end of file \(data section is 2433 bytes\) at offset 1671$" "cut in the last tensor: its offset field"

# -- hand-made bad files ----------------------------------------------------
# le N V: V as N little-endian bytes.  str S: a GGUF string.
le() {
	_v=$2 _i=0
	while [ $_i -lt "$1" ]; do
		printf "\\$(printf %03o $((_v & 255)))"
		_v=$((_v >> 8)) _i=$((_i + 1))
	done
}
str() { le 8 ${#1}; printf %s "$1"; }
hdr() { printf GGUF; le 4 3; le 8 "$1"; le 8 "$2"; } # hdr N_TENSORS N_KV
zeros() { head -c "$1" /dev/zero; }
# tensor NAME N_DIMS NE TYPE OFFSET: one tensor info, all dims = NE
tensor() {
	str "$1"; le 4 "$2"
	_d=0; while [ $_d -lt "$2" ]; do le 8 "$3"; _d=$((_d + 1)); done
	le 4 "$4"; le 8 "$5"
}

bad() { # bad NAME WANT-MESSAGE: $TRASH/NAME.gguf must fail with exactly that message
	run $DUMP "$TRASH/$1.gguf"
	expect_status 1 "$1: exit 1"
	is "$(cat "$TRASH/err")" "gguf-dump: error: $TRASH/$1.gguf: $2" "$1: message"
}

: >"$TRASH/empty.gguf"
bad empty "empty file (not a GGUF file) at offset 0"
{ printf GGML; le 4 3; le 16 0; } >"$TRASH/magic.gguf"
bad magic "not a GGUF file (bad magic) at offset 0"
{ printf GGUF; le 4 1; le 8 0; le 8 0; } >"$TRASH/v1.gguf"
bad v1 "unsupported GGUF version 1 at offset 4"
{ printf GGUF; le 4 4; le 16 0; } >"$TRASH/v4.gguf"
bad v4 "unsupported GGUF version 4 at offset 4"
{ printf GGUF; printf '\000\000\000\003'; le 16 0; } >"$TRASH/bigendian.gguf"
bad bigendian "unsupported GGUF version 50331648 (a big-endian file?) at offset 4"
{ hdr 0 4611686018427387904; zeros 76; } >"$TRASH/nkv.gguf"
bad nkv "key/value count 4611686018427387904 too large for a file of 100 bytes at offset 16"
{ hdr 4611686018427387904 0; zeros 76; } >"$TRASH/ntensors.gguf"
bad ntensors "tensor count 4611686018427387904 too large for a file of 100 bytes at offset 8"
{ hdr 0 1; le 8 1152921504606846976; zeros 68; } >"$TRASH/keylen.gguf"
bad keylen "key length 1152921504606846976 past end of file (68 bytes left) at offset 24"
{ hdr 0 1; str a; le 4 8; le 8 -1; zeros 55; } >"$TRASH/strlen.gguf"
bad strlen "string length 18446744073709551615 past end of file (55 bytes left) at offset 37"
# an array of 2^60 bytes in a 100-byte file: fails before allocating
{ hdr 0 1; str a; le 4 9; le 4 0; le 8 1152921504606846976; zeros 51; } >"$TRASH/arrcount.gguf"
bad arrcount "array count 1152921504606846976 past end of file (51 bytes left) at offset 41"
{ hdr 0 1; str a; le 4 9; le 4 8; le 8 1152921504606846976; zeros 51; } >"$TRASH/strarrcount.gguf"
bad strarrcount "array count 1152921504606846976 past end of file (51 bytes left) at offset 41"
{ hdr 0 1; str a; le 4 9; le 4 13; le 8 0; } >"$TRASH/arrtype.gguf"
bad arrtype "invalid array element type 13 at offset 37"
{ hdr 0 1; str a; le 4 13; le 1 0; } >"$TRASH/valtype.gguf"
bad valtype "invalid value type 13 for key 'a' at offset 33"
{ hdr 0 1; str a; le 4 7; le 1 2; } >"$TRASH/bool.gguf"
bad bool "invalid bool value 2 at offset 37"
{ hdr 0 1; str a; le 4 9; le 4 7; le 8 2; le 1 1; le 1 2; } >"$TRASH/boolarr.gguf"
bad boolarr "invalid bool value 2 at offset 50"
{ hdr 0 1; le 8 0; le 4 0; le 1 0; zeros 8; } >"$TRASH/emptykey.gguf"
bad emptykey "empty key at offset 24"
{ hdr 0 1; le 8 65536; head -c 65536 /dev/zero | tr '\000' k; le 4 0; le 1 0; } >"$TRASH/longkey.gguf"
bad longkey "key too long (65536 bytes) at offset 24"
{ hdr 0 2; str a.b; le 4 0; le 1 1; str a.b; le 4 0; le 1 2; } >"$TRASH/dupkey.gguf"
bad dupkey "duplicate key 'a.b' at offset 40"
{ hdr 0 1; str "$(printf 'x\ny')"; le 4 13; } >"$TRASH/nlkey.gguf"
bad nlkey "invalid value type 13 for key 'x\\x0ay' at offset 35"
# nine levels of arrays (eight is the limit)
{ hdr 0 1; str a; le 4 9; _k=0; while [ $_k -lt 8 ]; do le 4 9; le 8 1; _k=$((_k + 1)); done
  le 4 0; le 8 0; } >"$TRASH/deep.gguf"
bad deep "arrays nested more than 8 deep at offset 133"
{ hdr 0 1; str general.alignment; le 4 4; le 4 3; } >"$TRASH/align3.gguf"
bad align3 "general.alignment 3 is not a power of two at offset 53"
{ hdr 0 1; str general.alignment; le 4 4; le 4 0; } >"$TRASH/align0.gguf"
bad align0 "general.alignment 0 is not a power of two at offset 53"
{ hdr 0 1; str general.alignment; le 4 10; le 8 32; } >"$TRASH/align64.gguf"
bad align64 "general.alignment has type uint64, not uint32 at offset 49"
# one F32 tensor "w" of 8 elements: name at 24, n_dims at 33, ne at 37,
# type at 45, offset at 49, data section at 64
{ hdr 1 0; tensor w 1 8 0 0; zeros 7; zeros 16; } >"$TRASH/short.gguf"
bad short "tensor 'w': data [0, +32) past end of file (data section is 16 bytes) at offset 49"
{ hdr 1 0; tensor w 1 8 0 4611686018427387904; zeros 7; zeros 32; } >"$TRASH/far.gguf"
bad far "tensor 'w': data [4611686018427387904, +32) past end of file (data section is 32 bytes) at offset 49"
{ hdr 1 0; tensor w 1 8 0 4; zeros 7; zeros 64; } >"$TRASH/misaligned.gguf"
bad misaligned "tensor 'w': data offset 4 is not a multiple of the alignment 32 at offset 49"
{ hdr 1 0; tensor w 1 8 0 0; } >"$TRASH/nopad.gguf"
bad nopad "truncated padding before the tensor data (0 bytes left, need 7) at offset 57"
{ hdr 1 0; tensor w 5 8 0 0; zeros 64; } >"$TRASH/ndims5.gguf"
bad ndims5 "tensor 'w': n_dims 5 not in 1..4 at offset 33"
{ hdr 1 0; tensor w 0 8 0 0; zeros 64; } >"$TRASH/ndims0.gguf"
bad ndims0 "tensor 'w': n_dims 0 not in 1..4 at offset 33"
{ hdr 1 0; tensor w 1 8 4 0; zeros 64; } >"$TRASH/type4.gguf"
bad type4 "tensor 'w': unknown ggml type 4 at offset 45"
{ hdr 1 0; tensor w 1 8 43 0; zeros 64; } >"$TRASH/type43.gguf"
bad type43 "tensor 'w': unknown ggml type 43 at offset 45"
{ hdr 1 0; tensor w 1 16 2 0; zeros 64; } >"$TRASH/block.gguf"
bad block "tensor 'w': ne[0] = 16 is not a multiple of the Q4_0 block size 32 at offset 37"
{ hdr 1 0; tensor w 2 4294967296 0 0; zeros 64; } >"$TRASH/nelem.gguf"
bad nelem "tensor 'w': element count overflows at offset 37"
{ hdr 1 0; tensor w 1 4611686018427387904 0 0; zeros 64; } >"$TRASH/nbytes.gguf"
bad nbytes "tensor 'w': size in bytes overflows at offset 37"
{ hdr 1 0; tensor w 1 -1 0 0; zeros 64; } >"$TRASH/negdim.gguf"
bad negdim "tensor 'w': dimension 0 is 18446744073709551615, too large at offset 37"
{ hdr 2 0; tensor w 1 8 0 0; tensor w 1 8 0 32; zeros 64; } >"$TRASH/duptensor.gguf"
bad duptensor "duplicate tensor name 'w' at offset 57"
{ hdr 1 0; tensor "$(printf '%064d' 0)" 1 8 0 0; zeros 64; } >"$TRASH/longname.gguf"
bad longname "tensor name too long (64 bytes, at most 63) at offset 24"

# the smallest valid files: no tensors, no keys (v3 and v2)
hdr 0 0 >"$TRASH/min.gguf"
run $DUMP "$TRASH/min.gguf"
expect_status 0 "24-byte header-only file opens"
is "$(cat "$TRASH/out")" "$(printf 'version 3\nalignment 32\nkv_count 0\ntensor_count 0')" "header-only dump"
# one tensor whose data ends exactly at the end of the file
{ hdr 1 0; tensor w 1 8 0 0; zeros 7; zeros 32; } >"$TRASH/exact.gguf"
run $DUMP "$TRASH/exact.gguf"
expect_status 0 "tensor data ending at EOF opens"

# -- not files --------------------------------------------------------------
run $DUMP "$TRASH"
expect_status 1 "a directory: exit 1"
is "$(cat "$TRASH/err")" "gguf-dump: error: $TRASH: is a directory, not a GGUF file" "a directory: message"
run $DUMP "$TRASH/missing.gguf"
expect_status 1 "missing file: exit 1"
is "$(cat "$TRASH/err")" "gguf-dump: error: $TRASH/missing.gguf: cannot open: No such file or directory" "missing file: message"

done_testing
