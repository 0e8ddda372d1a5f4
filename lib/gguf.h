/*
 * gguf.h - reader for GGUF files (versions 2 and 3).
 *
 * A q_gguf is an immutable, validated view of one file: metadata key/values
 * and tensor infos, with the tensor data mapped read-only.  Every pointer
 * handed out (strings, arrays, tensor data) points into the mapping and is
 * valid until q_gguf_free().  Strings are NOT NUL-terminated: use the length.
 *
 * Validation happens once, in q_gguf_open*: after it succeeds every count,
 * length, offset and shape has been checked against the bytes that exist, so
 * the accessors below never read out of bounds and never fail on a valid index.
 */
#ifndef Q_GGUF_H
#define Q_GGUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct q_gguf q_gguf;

enum q_gguf_type {
	Q_GGUF_UINT8 = 0, Q_GGUF_INT8 = 1, Q_GGUF_UINT16 = 2, Q_GGUF_INT16 = 3,
	Q_GGUF_UINT32 = 4, Q_GGUF_INT32 = 5, Q_GGUF_FLOAT32 = 6, Q_GGUF_BOOL = 7,
	Q_GGUF_STRING = 8, Q_GGUF_ARRAY = 9, Q_GGUF_UINT64 = 10, Q_GGUF_INT64 = 11,
	Q_GGUF_FLOAT64 = 12,
};

typedef struct q_str {
	const char *p; /* not NUL-terminated */
	uint64_t len;
} q_str;

/* One metadata value.  For arrays: elem_type, n, and data pointing at the
 * first element's bytes in the file; string elements (and nested arrays) are
 * variable-size, so walk them with q_gguf_arr_str() / q_gguf_arr_elem(). */
typedef struct q_gguf_val {
	enum q_gguf_type type;
	union {
		uint64_t u;  /* UINT8..UINT64, BOOL */
		int64_t i;   /* INT8..INT64 */
		double f;    /* FLOAT32, FLOAT64 */
		q_str s;     /* STRING */
		struct {
			enum q_gguf_type elem_type;
			uint64_t n;
			const uint8_t *data;
		} arr;       /* ARRAY */
	};
} q_gguf_val;

typedef struct q_gguf_tensor {
	q_str name;
	uint32_t n_dims;       /* 1..4 */
	uint64_t ne[4];        /* elements per dimension, ne[0] fastest; unused = 1 */
	uint32_t type;         /* ggml type id (0 F32, 1 F16, 2 Q4_0, 3 Q4_1, ...) */
	uint64_t offset;       /* relative to the start of the data section */
	uint64_t nbytes;       /* size of the data, from type and shape */
	const void *data;      /* in the mapping, aligned to the file's alignment */
} q_gguf_tensor;

/* Open and validate a file; maps it read-only.  NULL + q_error on failure,
 * with messages of the form "FILE: <what> at offset N". */
q_gguf *q_gguf_open(const char *path);
/* Same over a caller-owned buffer (not copied; must outlive the q_gguf).
 * name is used in error messages. */
q_gguf *q_gguf_open_mem(const void *buf, size_t len, const char *name);
void q_gguf_free(q_gguf *g);

uint32_t q_gguf_version(const q_gguf *g);
uint32_t q_gguf_alignment(const q_gguf *g);

/* Metadata. */
uint64_t q_gguf_n_kv(const q_gguf *g);
q_str q_gguf_kv_key(const q_gguf *g, uint64_t i);
const q_gguf_val *q_gguf_kv_val(const q_gguf *g, uint64_t i);
/* The value of key, or NULL when absent. */
const q_gguf_val *q_gguf_get(const q_gguf *g, const char *key);
/* Typed getters: return 0 and set *out when key exists with a compatible
 * type (any integer type for int/uint if the value fits, FLOAT32/64 for
 * float); -1 (no q_error) when absent, -1 + q_error when the type is wrong. */
int q_gguf_get_u64(const q_gguf *g, const char *key, uint64_t *out);
int q_gguf_get_i64(const q_gguf *g, const char *key, int64_t *out);
int q_gguf_get_f64(const q_gguf *g, const char *key, double *out);
int q_gguf_get_bool(const q_gguf *g, const char *key, int *out);
int q_gguf_get_str(const q_gguf *g, const char *key, q_str *out);

/* Array elements.  An iterator over a validated array value. */
typedef struct q_gguf_iter {
	const q_gguf_val *arr;
	uint64_t i;            /* index of the next element */
	const uint8_t *pos;    /* its bytes */
} q_gguf_iter;
void q_gguf_iter_init(q_gguf_iter *it, const q_gguf_val *arr);
/* Next element as a value (nested arrays included); 0 when done, 1 when *out set. */
int q_gguf_iter_next(q_gguf_iter *it, q_gguf_val *out);

/* Tensors. */
uint64_t q_gguf_n_tensors(const q_gguf *g);
const q_gguf_tensor *q_gguf_tensor_at(const q_gguf *g, uint64_t i);
const q_gguf_tensor *q_gguf_find_tensor(const q_gguf *g, const char *name);

/* Name of a ggml type id ("F32", "Q4_1", ...) or NULL if unknown. */
const char *q_gguf_type_name(uint32_t type);

#endif
