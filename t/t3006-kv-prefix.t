#!/bin/sh
# The KV pool's prefix index under random use (t/unit/kv-prefix): attached
# blocks always hold exactly the attaching prompt's prefix, nothing is
# computed into a shared or indexed block, and the pool's invariants hold
# (free / cached / held, reference counts, LRU, probe runs) -- with
# libsodium's keyed hash, and with hashes made to collide (8 keys; one key
# for every block), which may only cost probes, never a wrong block.
. "${0%/*}/lib.sh"

for h in siphash few one; do
	run t/unit/kv-prefix "$h" 200000
	expect_status 0 "$h: every attached block holds its prefix, the invariants hold"
	sed 's/^/# /' "$TRASH/out"
	like "$TRASH/out" "^$h: blocks attached [1-9][0-9]* published [1-9][0-9]* deduplicated [1-9][0-9]* evicted [1-9][0-9]*$" \
		"$h: blocks were attached, published, deduplicated and evicted"
done
done_testing
