// llama-step: a natively built llama.cpp driven one step at a time over stdin/stdout, so that the benchmark can
// interleave it with our engine in chunks of a few decode steps (this VM's read bandwidth jumps between modes lasting
// seconds; a whole llama-bench run beside a whole run of ours can land in different modes). Not shipped: Bench.ps1
// compiles it with -NativeLlamaBench against the libraries beside that llama-bench and the headers of its source tree.
//
// It sets the context up as llama-bench does (n_batch 2048, n_ubatch 512, F16 KV cache, flash attention auto, a
// threadpool polling at 50) and times only llama_decode and the greedy argmax, as our side times its forward step and
// argmax. Protocol, one line per request and per answer:
//   start:             ready <vocab size>
//   reset              ok                        (empties the KV cache)
//   prefill N t1..tN   <seconds> <argmax>        (one batch, as llama-bench's pp)
//   decode K           <seconds> <argmax>        (K greedy single-token steps from the last argmax, as tg)
//   quit
// Usage: llama-step MODEL.gguf CONTEXT THREADS

#define _POSIX_C_SOURCE 199309L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ggml-cpu.h"
#include "llama.h"

static void quiet(enum ggml_log_level level, const char * text, void * user_data) {
    (void) user_data;
    if (level == GGML_LOG_LEVEL_ERROR || level == GGML_LOG_LEVEL_WARN) {
        fputs(text, stderr);
    }
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int argmax(const float * logits, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
        if (logits[i] > logits[best]) {
            best = i;
        }
    }
    return best;
}

int main(int argc, char ** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: llama-step MODEL.gguf CONTEXT THREADS\n");
        return 2;
    }
    int context = atoi(argv[2]);
    int threads = atoi(argv[3]);
    llama_log_set(quiet, NULL);
    llama_backend_init();

    struct llama_model_params model_params = llama_model_default_params();
    model_params.n_gpu_layers = 0;
    struct llama_model * model = llama_model_load_from_file(argv[1], model_params);
    if (!model) {
        fprintf(stderr, "llama-step: cannot load %s\n", argv[1]);
        return 1;
    }

    struct llama_context_params context_params = llama_context_default_params();
    context_params.n_ctx = context;
    context_params.n_batch = context > 2048 ? context : 2048;
    context_params.n_ubatch = 512;
    context_params.type_k = GGML_TYPE_F16;
    context_params.type_v = GGML_TYPE_F16;
    context_params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_AUTO;
    context_params.n_threads = threads;
    context_params.n_threads_batch = threads;
    struct llama_context * ctx = llama_init_from_model(model, context_params);
    if (!ctx) {
        fprintf(stderr, "llama-step: cannot create a context of %d positions\n", context);
        return 1;
    }

    struct ggml_threadpool_params pool_params = ggml_threadpool_params_default(threads);
    pool_params.poll = 50;
    struct ggml_threadpool * pool = ggml_threadpool_new(&pool_params);
    llama_attach_threadpool(ctx, pool, NULL);

    const int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    llama_token * tokens = malloc(sizeof(llama_token) * (size_t) context);
    llama_token last = 0;
    printf("ready %d\n", vocab);
    fflush(stdout);

    char command[16];
    while (scanf("%15s", command) == 1) {
        if (strcmp(command, "quit") == 0) {
            break;
        } else if (strcmp(command, "reset") == 0) {
            llama_memory_clear(llama_get_memory(ctx), true);
            printf("ok\n");
        } else if (strcmp(command, "prefill") == 0) {
            int n = 0;
            if (scanf("%d", &n) != 1 || n < 1 || n > context) {
                fprintf(stderr, "llama-step: bad prefill length\n");
                return 1;
            }
            for (int i = 0; i < n; i++) {
                if (scanf("%d", &tokens[i]) != 1) {
                    fprintf(stderr, "llama-step: missing prefill token\n");
                    return 1;
                }
            }
            double start = now();
            if (llama_decode(ctx, llama_batch_get_one(tokens, n)) != 0) {
                fprintf(stderr, "llama-step: prefill failed\n");
                return 1;
            }
            last = argmax(llama_get_logits_ith(ctx, -1), vocab);
            printf("%.9f %d\n", now() - start, last);
        } else if (strcmp(command, "decode") == 0) {
            int steps = 0;
            if (scanf("%d", &steps) != 1 || steps < 1) {
                fprintf(stderr, "llama-step: bad decode count\n");
                return 1;
            }
            double start = now();
            for (int i = 0; i < steps; i++) {
                if (llama_decode(ctx, llama_batch_get_one(&last, 1)) != 0) {
                    fprintf(stderr, "llama-step: decode failed\n");
                    return 1;
                }
                last = argmax(llama_get_logits_ith(ctx, -1), vocab);
            }
            printf("%.9f %d\n", now() - start, last);
        } else {
            fprintf(stderr, "llama-step: unknown command %s\n", command);
            return 1;
        }
        fflush(stdout);
    }

    free(tokens);
    llama_free(ctx);
    ggml_threadpool_free(pool);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
