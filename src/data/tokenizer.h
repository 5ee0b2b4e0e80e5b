/* RoBERTa's tokenizer, id for id: byte-level BPE read from a checkpoint's vocab.json +
 * merges.txt (GPT-2 pre-tokenization), or a built-in byte tokenizer that needs no files.
 * Both frame inputs the RoBERTa way: <s> A </s>   and   <s> A </s></s> B </s>.
 *
 * Behaviour on odd input (the Python reference tests/ref/gpt2_bpe_ref.py does the same):
 *  - Invalid UTF-8 is replaced as Python's bytes.decode("utf-8", errors="replace") does (one
 *    U+FFFD per maximal invalid subpart), then tokenized; it never fails. The built-in byte
 *    tokenizer takes raw bytes as they are.
 *  - Text is never scanned for special tokens: a literal "</s>" in a sentence is ordinary
 *    text (HF's split_special_tokens=True), so data cannot forge framing.
 *  - A byte-level symbol missing from the vocab becomes <unk>.
 *
 * Threads: a handle owns a word cache and scratch buffers, so ONE HANDLE MUST NOT BE USED BY
 * TWO THREADS AT ONCE. Give each thread its own handle with sg_tokenizer_clone(), which
 * shares the read-only tables (vocab, merges, compiled regex) and is cheap. */
#ifndef SG_TOKENIZER_H
#define SG_TOKENIZER_H

/* the two tokenizers below this one: BPE and the built-in byte tokenizer (its SG_BYTE_TOKENIZER_*
 * ids), and the sg_ids / sg_special_ids they share */
#include "data/bpe.h"
#include "data/byte_tokenizer.h"
#include "data/token_ids.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sg_tokenizer sg_tokenizer;

/* --- Loading ------------------------------------------------------------------------------ */

/* Byte-level BPE from DIR/vocab.json + DIR/merges.txt. NULL + sg_last_error() on failure:
 * missing vocab.json, missing merges.txt, malformed JSON (file:line), a malformed merges
 * line (file:line), a duplicate id or token, a non-integer id, a missing special token. */
sg_tokenizer *sg_tokenizer_load(const char *dir);
/* The same from the two files' contents (need not be NUL-terminated); `name` stands for the
 * directory in messages ("name/vocab.json:3: ..."). */
sg_tokenizer *sg_tokenizer_load_memory(const char *vocab_json, size_t vocab_len, const char *merges_txt,
                                       size_t merges_len, const char *name);
/* Each file is refused above SG_TOKENIZER_MAX_FILE_BYTES (data/bpe.h). */
/* The built-in byte tokenizer (never fails except out of memory). */
sg_tokenizer *sg_tokenizer_builtin(void);
/* "builtin" -> sg_tokenizer_builtin(), anything else is a directory for sg_tokenizer_load(). */
sg_tokenizer *sg_tokenizer_open(const char *spec);
/* Which tokenizer files a model directory holds: NONE (neither vocab.json nor merges.txt: the
 * model goes with the built-in byte tokenizer), BOTH (load it with sg_tokenizer_load), or PARTIAL
 * (one without the other), which records an error naming the missing file: a half tokenizer is
 * refused, never silently replaced by the byte tokenizer. */
typedef enum { SG_TOKENIZER_FILES_NONE, SG_TOKENIZER_FILES_BOTH, SG_TOKENIZER_FILES_PARTIAL } sg_tokenizer_files;
sg_tokenizer_files sg_tokenizer_files_in(const char *dir);
/* Copies from_dir's vocab.json and merges.txt into to_dir, so that a saved model directory loads
 * with its tokenizer (HF's save_pretrained writes them beside the weights). 0 / -1 naming the file. */
int sg_tokenizer_copy_files(const char *from_dir, const char *to_dir);
/* 0 when every id of t has a row in a model of model_vocab_size embeddings; else -1 + "<name>: the
 * tokenizer has N ids but the model only M embeddings". */
int sg_tokenizer_check_fits(const sg_tokenizer *t, int32_t model_vocab_size, const char *name);
/* A new handle sharing t's read-only tables, with its own cache: one per thread. */
sg_tokenizer *sg_tokenizer_clone(const sg_tokenizer *t);
void sg_tokenizer_free(sg_tokenizer *t);

int sg_tokenizer_is_builtin(const sg_tokenizer *t);
/* Largest id + 1 (the embedding table's row count). */
int32_t sg_tokenizer_vocab_size(const sg_tokenizer *t);
sg_special_ids sg_tokenizer_specials(const sg_tokenizer *t);
/* The id of an exact vocab entry ("<mask>", "Ġthe"), or -1. */
int32_t sg_tokenizer_token_id(const sg_tokenizer *t, const char *token);

/* --- Encoding ----------------------------------------------------------------------------- */

/* text (len bytes, may hold NULs) -> ids without specials, replacing out's content. 0 / -1. */
int sg_tokenizer_encode(sg_tokenizer *t, const char *text, size_t len, sg_ids *out);

/* RoBERTa framing of a (b == NULL) or of the pair (a, b), into out (replaced).
 * max_len > 0: truncate longest-first so the framed length is <= max_len (error when
 * max_len cannot hold the specials: 2 single, 4 pair); max_len <= 0: no truncation. */
int sg_tokenizer_encode_framed(sg_tokenizer *t, const char *a, size_t a_len, const char *b,
                               size_t b_len, int max_len, sg_ids *out);

/* One fixed-size batch row: framed + truncated to row_len, padded with <pad>;
 * mask[i] = 1 for real tokens, 0 for padding (mask may be NULL).
 * Returns the number of real tokens, or -1. */
int sg_tokenizer_encode_row(sg_tokenizer *t, const char *a, size_t a_len, const char *b,
                            size_t b_len, int row_len, int32_t *ids, int32_t *mask);

/* HF's "longest_first": while len_a + len_b > budget remove one token from the end of the
 * longer sequence; on a tie from the second (len_b). len_b == NULL: single sequence. */
void sg_truncate_longest_first(size_t *len_a, size_t *len_b, size_t budget);

/* ids -> bytes (special tokens skipped). Returns a malloc'd NUL-terminated string (length in
 * *len_out when not NULL), or NULL + error for an id outside the vocab. */
char *sg_tokenizer_decode(const sg_tokenizer *t, const int32_t *ids, size_t n, size_t *len_out);

#endif
