#!/bin/sh
# make-vocab-ggufs.sh - build t/data/tok/{qwen3,llama3}-vocab.gguf.gz with
# llama.cpp's own converter (convert_hf_to_gguf.py --vocab-only).
#
#   sh t/data/tok/make-vocab-ggufs.sh        # from the top of the tree
#
# LLAMA_CPP  llama.cpp source tree (default: the one vendored in the
#            llama-cpp-python 0.3.36 sdist, unpacked at /tmp/lcp)
# PYTHON     a python with the converter's imports: torch, transformers,
#            sentencepiece, numpy (used: torch 2.15.0, transformers 5.23.0,
#            sentencepiece 0.2.3, in a venv made with
#            `python3 -m venv --system-site-packages V && V/bin/pip install
#            torch transformers sentencepiece`)
# Q_SHARED   where tokenizers/{qwen3,llama3} live (default ../shared)
#
# The converter needs a model directory: the tokenizer files plus a
# config.json; the minimal ones below only name the architecture and
# plausible sizes (no weights are read with --vocab-only).  Output is gzip'd
# with -n so that the .gz is a function of the GGUF bytes only.
set -eu
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
LLAMA_CPP=${LLAMA_CPP:-/tmp/lcp/llama_cpp_python-0.3.36/vendor/llama.cpp}
PYTHON=${PYTHON:-python3}
SHARED=${Q_SHARED:-$TOP/../shared}
OUT=$TOP/t/data/tok
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir "$tmp/qwen3" "$tmp/llama3"
cat >"$tmp/qwen3/config.json" <<'JSON'
{"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 1024,
 "intermediate_size": 3072, "num_hidden_layers": 28, "num_attention_heads": 16,
 "num_key_value_heads": 8, "head_dim": 128, "max_position_embeddings": 40960,
 "rms_norm_eps": 1e-06, "rope_theta": 1000000, "vocab_size": 151936,
 "tie_word_embeddings": true, "bos_token_id": 151643, "eos_token_id": 151645,
 "torch_dtype": "bfloat16"}
JSON
cat >"$tmp/llama3/config.json" <<'JSON'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
 "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
 "num_key_value_heads": 8, "max_position_embeddings": 8192, "rms_norm_eps": 1e-05,
 "rope_theta": 500000.0, "vocab_size": 128256, "bos_token_id": 128000,
 "eos_token_id": 128001, "torch_dtype": "bfloat16"}
JSON
for m in qwen3 llama3; do
	cp "$SHARED/tokenizers/$m/tokenizer.json" "$SHARED/tokenizers/$m/tokenizer_config.json" "$tmp/$m/"
	"$PYTHON" "$LLAMA_CPP/convert_hf_to_gguf.py" "$tmp/$m" --vocab-only \
		--outfile "$tmp/$m-vocab.gguf" >"$tmp/$m.log" 2>&1 || { cat "$tmp/$m.log" >&2; exit 1; }
	gzip -n -9 <"$tmp/$m-vocab.gguf" >"$OUT/$m-vocab.gguf.gz"
	echo "$m-vocab.gguf: $(wc -c <"$tmp/$m-vocab.gguf") bytes, sha256 $(sha256sum <"$tmp/$m-vocab.gguf" | cut -c1-64)"
done
